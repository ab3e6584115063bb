"""The floor: a bare python-socketio server that only relays the benchmark's messages.

Same transport as Sessions (python-socketio ASGI under granian, websocket only, handlers
inline, the same worker count and, with ``FLOOR_REDIS_URL``, the same Redis client manager),
the same rooms and the same message pattern, with none of the app: no state, no database, no
Reflex. It mirrors the app's batching constants (member lists every 150 ms per room, lobby
counts every 250 ms), so a ratio measures overhead, not a design delay.

Protocol (namespace ``/``, event names):
    connect auth ``{"name": str, "rooms": [channel, ...]}``  enter the channels; a ``room-*``
        channel counts as joining it: a batched member list goes to the room and a batched
        count to ``lobby``
    ``chat``  ``{"room", "body"}``  → ``event`` ``{"chat": body}`` to the room, not the sender
    ``timer`` ``{"room", "k"}``     → ``event`` ``{"timer": k, ...anchors}`` to the room, not the sender
    ``lobby_chat`` ``{"body"}``     → ``event`` ``{"chat": body}`` to ``lobby`` (everyone)

Run: ``python -m bench.floor --port P --workers N`` (``FLOOR_REDIS_URL`` for several workers).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid

import socketio

MEMBER_BATCH_SECONDS = 0.15
LOBBY_BATCH_SECONDS = 0.25
REDIS_URL = os.environ.get("FLOOR_REDIS_URL") or None

sio = socketio.AsyncServer(
    async_mode="asgi", cors_allowed_origins="*", transports=["websocket"], allow_upgrades=False,
    async_handlers=False,
    client_manager=socketio.AsyncRedisManager(REDIS_URL, channel="floor") if REDIS_URL else None,
)


class Members:
    """Room member names: a dict in one process, Redis lists across workers."""

    def __init__(self) -> None:
        self.local: dict[str, list[str]] = {}
        self.redis = None

    async def add(self, room: str, name: str) -> None:
        if REDIS_URL:
            if self.redis is None:
                import redis.asyncio as aioredis

                self.redis = aioredis.Redis.from_url(REDIS_URL)
            await self.redis.rpush(f"floor:members:{room}", name)
        else:
            self.local.setdefault(room, []).append(name)

    async def names(self, room: str) -> list[str]:
        if REDIS_URL:
            return [n.decode() for n in await self.redis.lrange(f"floor:members:{room}", 0, -1)]
        return list(self.local.get(room, []))


members = Members()
_pending: set[str] = set()
_tasks: set[asyncio.Task] = set()


def _coalesce(key: str, delay: float, fn) -> None:
    if key in _pending:
        return
    _pending.add(key)

    async def run() -> None:
        await asyncio.sleep(delay)
        _pending.discard(key)
        await fn()

    task = asyncio.create_task(run())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


@sio.event
async def connect(sid, environ, auth):
    auth = auth or {}
    name = str(auth.get("name", sid))
    for room in auth.get("rooms", []):
        await sio.enter_room(sid, room)
        if room.startswith("room-"):
            await members.add(room, name)

            async def push_members(room=room) -> None:
                await sio.emit("event", {"members": await members.names(room)}, to=room)

            async def push_lobby(room=room) -> None:
                await sio.emit("event", {"lobby": {room: len(await members.names(room))}}, to="lobby")

            _coalesce(f"members:{room}", MEMBER_BATCH_SECONDS, push_members)
            _coalesce("lobby", LOBBY_BATCH_SECONDS, push_lobby)


@sio.on("chat")
async def chat(sid, data):
    await sio.emit("event", {"chat": data["body"]}, to=data["room"], skip_sid=sid)


@sio.on("timer")
async def timer(sid, data):
    now_ms = int(time.time() * 1000)
    await sio.emit("event", {"timer": data["k"], "phase": "focus", "phase_seq": data["k"],
                             "ends_at_ms": now_ms + 1_500_000, "paused_remaining_ms": -1,
                             "phase_length_ms": 1_500_000, "cycles_completed": 0},
                   to=data["room"], skip_sid=sid)


@sio.on("lobby_chat")
async def lobby_chat(sid, data):
    await sio.emit("event", {"chat": data["body"]}, to="lobby")


def _new_host_id() -> None:
    # Forked workers share one host_id and would drop each other's Redis messages.
    if hasattr(sio.manager, "host_id"):
        sio.manager.host_id = uuid.uuid4().hex


app = socketio.ASGIApp(sio, on_startup=_new_host_id)


def main() -> None:
    from granian.constants import Interfaces
    from granian.server import Server as Granian

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    Granian(target="bench.floor:app", address="127.0.0.1", port=args.port, interface=Interfaces.ASGI,
            workers=args.workers, log_enabled=False).serve()


if __name__ == "__main__":
    main()
