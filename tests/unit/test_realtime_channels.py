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
from sessions_app.realtime import guards
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


def test_ended_logins_leave_every_channel_and_are_sent_the_logout_on_every_worker(manager, monkeypatch):
    """``realtime.end_logins``: only the sockets that presented an ended login cookie leave
    (all but ``keep``, or ``only`` one), each is sent the logout frame (not ``skip``), and the
    cookies cross Redis as digests only."""
    published: list[dict] = []
    sent: list[tuple[str, dict]] = []

    async def publish(message):
        published.append(message)

    async def emit(event, data, to=None, namespace=None, **_):
        sent.append((to, data))

    manager._publish = publish
    monkeypatch.setattr(manager.server, "emit", emit)
    frame = {"delta": {}, "events": [{"name": "_call_script", "payload": {"javascript_code": "logout()"}}]}

    async def scenario() -> None:
        tabs = {}
        for eio, cookie in (("eio-1", "kept"), ("eio-2", "stolen"), ("eio-3", "stolen"), ("eio-4", "other")):
            sid = await manager.connect(eio, NS)
            monkeypatch.setitem(guards._held_cookies, sid, cookie)
            for channel in ("user-1", "room-5", "lobby"):
                await manager.enter_room(sid, NS, channel)
            tabs[eio] = sid
        bea = await manager.connect("eio-9", NS)
        monkeypatch.setitem(guards._held_cookies, bea, "stolen")  # not in the user's channel
        await manager.enter_room(bea, NS, "room-5")

        def channels_of(sid: str) -> set[str]:
            return {r for r in manager.get_rooms(sid, NS) if r != sid}

        # A password change: every login but the kept one, as another worker asks for it.
        ended = {"keep": guards.cookie_digest("kept"), "only": "", "skip": ""}
        await manager.leave_members(NS, "user-1", None, ended, frame)
        message = published[-1]
        assert "kept" not in str(message) and "stolen" not in str(message)
        await manager._handle_leave_room({**message, "host_id": "another-worker"})
        assert channels_of(tabs["eio-1"]) == {"user-1", "room-5", "lobby"}
        for eio in ("eio-2", "eio-3", "eio-4"):
            assert channels_of(tabs[eio]) == set()
        assert sorted(to for to, _ in sent) == sorted(tabs[e] for e in ("eio-2", "eio-3", "eio-4"))
        assert all(data == frame for _, data in sent)
        assert channels_of(bea) == {"room-5"}

        # A logout: only that login's tabs; the caller's own tab is not sent the frame.
        sent.clear()
        for eio in ("eio-2", "eio-3", "eio-4"):
            await manager.enter_room(tabs[eio], NS, "user-1")
            await manager.enter_room(tabs[eio], NS, "room-5")
        only = {"keep": "", "only": guards.cookie_digest("stolen"), "skip": tabs["eio-2"]}
        await manager._handle_leave_room({**message, "ended": only, "host_id": "another-worker"})
        assert channels_of(tabs["eio-2"]) == channels_of(tabs["eio-3"]) == set()
        assert channels_of(tabs["eio-4"]) == {"user-1", "room-5"}
        assert [to for to, _ in sent] == [tabs["eio-3"]]

    _run(scenario())


def test_a_socket_without_a_login_cookie_never_matches_one_login():
    assert guards.cookie_digest("") == ""
    assert guards.holds_ended_login("no-such-socket", {"only": guards.cookie_digest("x")}) is False
    assert guards.holds_ended_login("no-such-socket", {"keep": guards.cookie_digest("x")}) is True
    assert guards.holds_ended_login("no-such-socket", {}) is True
