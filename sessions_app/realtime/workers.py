"""Several workers: the Redis client manager and the socket.io server that uses it.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import TYPE_CHECKING

import socketio
from engineio import packet as eio_packet
from reflex.app import _sio_dumps, _sio_loads
from reflex_base.config import get_config
from reflex_base.environment import environment

from sessions_app.realtime.guards import holds_ended_login

if TYPE_CHECKING:
    from sessions_app.settings import Settings

log = logging.getLogger("sessions.realtime")

# The host id of numbered lists (``realtime.ordered_lists``): no worker has it, so every
# worker's listener (the sender's too) delivers them.
ORDERED_HOST = "sessions-ordered-lists"
# Per channel: (number, update, tags) of the newest numbered list this worker's listener has
# delivered — what a socket joining the channel later gets at once (``ordered_lists.newest``).
# One entry per channel that had a list; a closed channel's goes.
newest_lists: dict[str, tuple[int, dict, frozenset]] = {}
# Per channel: the number of the newest list whose delivery to this worker's sockets is done,
# and an event set (and dropped) at each such delivery (``ordered_lists.delivered``).
delivered_lists: dict[str, int] = {}
list_delivered: dict[str, asyncio.Event] = {}
# Per channel: (number, the engine.io packets) of the newest list as sent to one late joiner:
# encoded once, not once per socket (a list of 200 members is ~24 KB of JSON).
_encoded_lists: dict[str, tuple[int, list]] = {}


def _forget_lists(channel: str | None) -> None:
    newest_lists.pop(channel, None)
    delivered_lists.pop(channel, None)
    _encoded_lists.pop(channel, None)


async def _leave_members_here(manager, namespace: str, members_of: str, channels: list[str] | None,
                              ended: dict | None = None, update: dict | None = None) -> None:
    """This worker's sockets in ``members_of`` leave ``channels`` (None: every channel).
    ``ended``: only the sockets that presented an ended login (``guards.holds_ended_login``),
    and each is then sent ``update`` (an ``event`` frame: the logout script), unless it is
    ``ended["skip"]`` (the caller, which gets its own answer)."""
    for sid, _ in list(manager.get_participants(namespace, members_of)):
        if ended is not None and not holds_ended_login(sid, ended):
            continue
        rooms = [r for r in manager.get_rooms(sid, namespace) if r != sid] if channels is None else channels
        for room in rooms:
            await manager.leave_room(sid, namespace, room)
        if update is not None and ended is not None and sid != ended.get("skip"):
            await manager.server.emit("event", update, to=sid, namespace=namespace)


# --- several workers --------------------------------------------------------------------------


class RedisRoomManager(socketio.AsyncRedisManager):
    """Room broadcasts go through Redis pub/sub (every worker delivers to its own sockets);
    an emit to one socket of this worker — Reflex's own deltas, pongs — stays local
    (``ignore_queue``), so per-tab traffic never touches Redis."""

    async def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None,
                   to=None, **kwargs):
        target, ns = to or room, namespace or "/"
        if target is not None and (self.is_connected(target, ns) or self.is_pre_connected(target, ns)):
            kwargs["ignore_queue"] = True
        return await super().emit(event, data, namespace=namespace, room=target, skip_sid=skip_sid,
                                  callback=callback, **kwargs)

    async def leave_members(self, namespace: str, members_of: str, channels: list[str] | None,
                            ended: dict | None = None, update: dict | None = None) -> None:
        """Ask every worker to take its sockets in ``members_of`` out of ``channels`` (only
        those of an ``ended`` login, each then sent ``update``: ``_leave_members_here``).

        Sent as a ``leave_room`` message with ``sid: None``: python-socketio's listener only
        dispatches the methods it knows, and a worker without this override ignores a
        ``leave_room`` for a socket it does not hold, so the message is safe everywhere."""
        await self._publish({"method": "leave_room", "sid": None, "room": None, "namespace": namespace,
                             "members_of": members_of, "channels": channels, "ended": ended,
                             "update": update, "host_id": self.host_id})

    async def _handle_emit(self, message):
        # A numbered list is noted before it is delivered, in the same step as the delivery
        # picks its recipients: a socket joining the channel is either among them or finds it
        # here (``ordered_lists.newest``). Lists arrive in number order (one Redis channel).
        # A list tagged with nobody (a room everyone left) is forgotten, not kept: the notes
        # stay bounded by the rooms with members.
        room, number = message.get("room"), message.get("number")
        noted = message.get("host_id") == ORDERED_HOST and isinstance(number, int) and room is not None
        if noted and number > newest_lists.get(room, (0,))[0]:
            if tags := frozenset(message.get("tags") or ()):
                newest_lists[room] = (number, message["data"][0], tags)
            else:
                _forget_lists(room)
                noted = False
        await super()._handle_emit(message)
        if noted and room in newest_lists:
            delivered_lists[room] = max(number, delivered_lists.get(room, 0))
            if (event := list_delivered.pop(room, None)) is not None:
                event.set()

    async def send_newest(self, sid: str, namespace: str, channel: str) -> None:
        """Send the newest noted list of ``channel`` to one socket of this worker, as
        python-socketio's ``emit`` would (the same packet, a task per send, so it is queued
        after the frames emitted before it), encoded once per list."""
        number, update, _tags = newest_lists[channel]
        eio_sid = self.eio_sid_from_sid(sid, namespace)
        if eio_sid is None:
            return  # the socket has gone
        cached = _encoded_lists.get(channel)
        if cached is None or cached[0] != number:
            encoded = self.server.packet_class(socketio.packet.EVENT, namespace=namespace,
                                               data=["event", update]).encode()
            packets = [eio_packet.Packet(eio_packet.MESSAGE, p)
                       for p in (encoded if isinstance(encoded, list) else [encoded])]
            cached = _encoded_lists[channel] = (number, packets)
        await asyncio.wait([asyncio.create_task(self.server._send_eio_packet(eio_sid, p)) for p in cached[1]])

    async def _handle_close_room(self, message):
        _forget_lists(message.get("room"))
        await super()._handle_close_room(message)

    async def _handle_leave_room(self, message):
        if message.get("members_of"):
            await _leave_members_here(self, message.get("namespace"), message["members_of"],
                                      message.get("channels"), message.get("ended"), message.get("update"))
        else:
            await super()._handle_leave_room(message)


def make_sio(settings: Settings) -> socketio.AsyncServer | None:
    """The socket.io server for ``rx.App(sio=...)`` when scaled out, else None (Reflex's own).

    With ``REFLEX_REDIS_URL`` set, the server repeats the settings Reflex gives its own
    (reflex/app.py ``_setup_state``, reflex 0.10.1) and adds a Redis client manager, so a
    broadcast to a room reaches members whose sockets live on other workers. Each worker
    gets its own ``host_id`` in ``_install`` (forked workers inherit one and would drop each
    other's messages as their own).
    """
    config = get_config()
    if not config.redis_url:
        return None
    if settings.rate_limit_storage.startswith("memory"):
        log.warning("REFLEX_REDIS_URL is set but RATE_LIMIT_STORAGE is %r: every worker counts "
                    "its own hits. Point RATE_LIMIT_STORAGE at Redis.", settings.rate_limit_storage)
    websocket = config.transport == "websocket"
    origins = config.cors_allowed_origins
    return socketio.AsyncServer(
        async_mode="asgi",
        cors_allowed_origins=("*" if origins == ("*",) else list(origins)) if websocket else [],
        cors_credentials=websocket,
        max_http_buffer_size=environment.REFLEX_SOCKET_MAX_HTTP_BUFFER_SIZE.get(),
        ping_interval=environment.REFLEX_SOCKET_INTERVAL.get().total_seconds(),
        ping_timeout=environment.REFLEX_SOCKET_TIMEOUT.get().total_seconds(),
        json=SimpleNamespace(dumps=staticmethod(_sio_dumps), loads=staticmethod(_sio_loads)),
        allow_upgrades=False,
        transports=[config.transport],
        async_handlers=False,
        client_manager=RedisRoomManager(config.redis_url, channel="sessions-socketio"),
    )
