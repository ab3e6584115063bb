"""``realtime.leave_user_channels`` across workers: with the Redis client manager, the request
travels as a ``leave_room`` message that each worker applies to its own sockets in the user's
channel, and that a worker without the override ignores (no socket has sid ``None``)."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest
import socketio
from reflex_base.config import get_config

from sessions_app import realtime
from sessions_app.settings import Settings

NS = "/_event"


@pytest.fixture
def manager(monkeypatch) -> realtime.RedisRoomManager:
    monkeypatch.setattr(get_config(), "redis_url", "redis://127.0.0.1:9/0")  # never connected
    sio = realtime.make_sio(Settings(rate_limit_storage="redis://127.0.0.1:9/1"))
    return sio.manager


def _run(coro) -> None:
    # In a thread of its own: after a Playwright (sync) test, this thread has a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result(timeout=30)


def test_a_worker_takes_its_sockets_of_the_user_out_of_the_channels(manager):
    published: list[dict] = []

    async def publish(message):
        published.append(message)

    manager._publish = publish

    async def scenario() -> None:
        ada_tab = await manager.connect("eio-1", NS)
        ada_other_tab = await manager.connect("eio-2", NS)
        bea_tab = await manager.connect("eio-3", NS)
        for sid, user in ((ada_tab, "user-1"), (ada_other_tab, "user-1"), (bea_tab, "user-2")):
            await manager.enter_room(sid, NS, user)
            await manager.enter_room(sid, NS, "session-7-chat")
            await manager.enter_room(sid, NS, "lobby")

        # The request as it arrives from another worker.
        await manager.leave_members(NS, "user-1", ["session-7-chat"])
        assert published[-1]["method"] == "leave_room" and published[-1]["sid"] is None
        published[-1]["host_id"] = "another-worker"
        await manager._handle_leave_room(published[-1])
        chat = {sid for sid, _ in manager.get_participants(NS, "session-7-chat")}
        assert chat == {bea_tab}
        assert ada_tab in {sid for sid, _ in manager.get_participants(NS, "lobby")}

        # None: every channel (account deletion).
        await manager.leave_members(NS, "user-1", None)
        await manager._handle_leave_room(published[-1])
        for sid in (ada_tab, ada_other_tab):
            assert [r for r in manager.get_rooms(sid, NS) if r != sid] == []
        assert set(manager.get_rooms(bea_tab, NS)) >= {"user-2", "session-7-chat", "lobby"}

        # A worker without the override ignores the message (python-socketio's own handler).
        before = set(manager.get_rooms(bea_tab, NS))
        await socketio.AsyncRedisManager._handle_leave_room(manager, {**published[-1], "members_of": "user-2"})
        assert set(manager.get_rooms(bea_tab, NS)) == before

    _run(scenario())
