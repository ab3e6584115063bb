"""``realtime.make_sio``: Reflex's own socket.io server unless scaled out; with Redis, a server
with Reflex's settings whose client manager relays room broadcasts through Redis and keeps
emits to one local socket (Reflex's per-tab deltas) off Redis.

The end-to-end proof that broadcasts cross workers is tests/e2e/test_scaled.py.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest
import socketio
from reflex_base.config import get_config

from sessions_app import realtime
from sessions_app.settings import Settings


@pytest.fixture
def redis_url(monkeypatch):
    """Pretend ``REFLEX_REDIS_URL`` is set (nothing connects: the manager connects lazily)."""
    monkeypatch.setattr(get_config(), "redis_url", "redis://127.0.0.1:9/0")


def test_without_redis_reflex_keeps_its_own_server(monkeypatch):
    monkeypatch.setattr(get_config(), "redis_url", None)
    assert realtime.make_sio(Settings()) is None


def test_with_redis_the_server_repeats_reflex_settings(redis_url):
    sio = realtime.make_sio(Settings(rate_limit_storage="redis://127.0.0.1:9/1"))
    assert isinstance(sio, socketio.AsyncServer)
    assert isinstance(sio.manager, realtime.RedisRoomManager)
    assert sio.async_mode == "asgi"
    assert sio.async_handlers is False
    assert sio.eio.allow_upgrades is False
    assert sio.eio.transports == ["websocket"]
    # Reflex's JSON codec (it serializes Reflex's own types).
    from reflex.app import _sio_dumps

    dumps = sio.packet_class.json.dumps
    assert getattr(dumps, "__func__", dumps) is _sio_dumps


def test_scaled_out_with_memory_rate_limits_warns(redis_url, caplog):
    realtime.make_sio(Settings(rate_limit_storage="memory://"))
    assert "RATE_LIMIT_STORAGE" in caplog.text


def test_room_broadcasts_go_through_redis_and_local_socket_emits_do_not(redis_url):
    sio = realtime.make_sio(Settings(rate_limit_storage="redis://127.0.0.1:9/1"))
    manager: realtime.RedisRoomManager = sio.manager
    published: list[dict] = []
    delivered: list[tuple] = []

    async def publish(message):
        published.append(message)

    async def send(eio_sid, pkt):
        delivered.append((eio_sid, pkt))

    manager._publish = publish
    sio._send_eio_packet = send

    async def scenario() -> None:
        sid = await manager.connect("eio-1", "/_event")
        await manager.enter_room(sid, "/_event", "room-7")
        # Reflex's delta to one tab of this worker: delivered here, nothing on Redis.
        await manager.emit("event", {"delta": {}}, namespace="/_event", to=sid)
        assert published == [] and len(delivered) == 1
        # A room broadcast: delivered here and published for the other workers.
        await manager.emit("event", {"delta": {}}, namespace="/_event", to="room-7")
        assert len(delivered) == 2
        assert [m["room"] for m in published] == ["room-7"]
        assert published[0]["host_id"] == manager.host_id
        # A socket this worker does not hold (it lives on another worker): through Redis.
        await manager.emit("event", {"delta": {}}, namespace="/_event", to="sid-elsewhere")
        assert [m["room"] for m in published] == ["room-7", "sid-elsewhere"]

    # In a thread of its own: after a Playwright (sync) test, this thread has a running loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=30)


def test_joining_a_channel_after_the_socket_closed_is_a_no_op(monkeypatch):
    """A tab that navigates on at once closes its socket while its page load still runs: the
    load's ``join`` finds no socket. With a real socket.io server (python-socketio 5.18 says
    ``ValueError: sid is not connected to requested namespace``) it must not raise."""
    sio = socketio.AsyncServer(async_mode="asgi")

    class App:
        event_namespace = type("Namespace", (), {"namespace": "/_event"})()

    App.sio = sio
    monkeypatch.setattr(realtime, "_app", App)
    asyncio.run(realtime.join("no-such-sid", "room-1"))
    assert not list(sio.manager.get_participants("/_event", "room-1"))
