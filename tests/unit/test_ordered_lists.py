"""Member lists sent numbered, without the room's lock, with several workers
(``realtime.ordered_lists``, ``live.rooms.send_members`` / ``keep_members``).

Against a real Redis server (a throwaway one on a free port): the message is the one
python-socketio's Redis manager publishes for a room broadcast (every worker's listener
delivers it); a list numbered before another is never published after it — in particular a
list read before a departure never arrives after the departure's list, so a departed member
never reappears; the room's store keeps the newest list whatever order the stores are
updated in. Skipped (with the reason) only when ``redis-server`` is not installed.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import redis
from reflex_base.config import get_config

import sessions_app.state.room  # noqa: F401  (registers the room's store for broadcasts)
from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.live import channels, presence, targets
from sessions_app.live import rooms as live_rooms
from sessions_app.realtime import ordered_lists
from sessions_app.services import rooms
from sessions_app.settings import Settings
from tests.support.factories import make_room, make_user

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def app(redis_server, monkeypatch):
    """The module wired to a socket.io server relaying through this Redis (as ``make_prod``)."""
    monkeypatch.setattr(get_config(), "redis_url", redis_server)
    redis.Redis.from_url(redis_server).flushall()
    sio = realtime.make_sio(Settings(rate_limit_storage=redis_server))
    fake = SimpleNamespace(sio=sio, event_namespace=SimpleNamespace(namespace="/_event"))
    monkeypatch.setattr(ordered_lists, "_app", fake)
    monkeypatch.setattr(ordered_lists, "_client", None)
    return fake


@pytest.fixture
def published(app, redis_server) -> Iterator[list[dict]]:
    """Every message published on the managers' channel, decoded as a worker decodes it."""
    sub = redis.Redis.from_url(redis_server).pubsub()
    sub.subscribe(app.sio.manager.channel)
    sub.get_message(timeout=2)  # the subscription's confirmation
    got: list[dict] = []

    def drain() -> list[dict]:
        while (m := sub.get_message(timeout=0.2)) is not None:
            if m["type"] == "message":
                got.append(app.sio.manager.json.loads(m["data"]))
        return got

    yield drain
    sub.close()


def test_without_a_redis_manager_lists_keep_the_room_lock(monkeypatch):
    monkeypatch.setattr(ordered_lists, "_app", SimpleNamespace(sio=SimpleNamespace(manager=object())))
    assert not ordered_lists.available()


def test_the_message_is_the_one_socketio_publishes_for_a_room_broadcast(app, published):
    assert ordered_lists.available()
    manager = app.sio.manager
    captured: list[dict] = []

    async def publish(message):
        captured.append(message)

    async def deliver_here(message):  # this worker's own sockets (none here)
        pass

    manager._publish, manager._handle_emit = publish, deliver_here
    update = {"delta": {"s": {"members_rx_state_": [{"user_id": 1}]}}, "events": []}
    asyncio.run(manager.emit("event", update, to="room-7", namespace="/_event"))
    ours = ordered_lists.message("room-7", update, 3, [1])
    # The same message, plus the list's number and tags (the listener reads only its own fields).
    assert {**captured[0], "host_id": ours["host_id"]} == {
        k: v for k, v in ours.items() if k not in ordered_lists.EXTRA_FIELDS}
    assert (ours["number"], ours["tags"]) == (3, [1])
    # A host id no worker has: every worker's listener (the sender's too) delivers it.
    assert ours["host_id"] != manager.host_id


def test_a_list_numbered_earlier_is_never_sent_after_a_later_one(app, published):
    live = targets.of(targets.ROOM)
    first, second, third = (ordered_lists.next_number("room-7") for _ in range(3))
    assert first < second < third
    assert ordered_lists.send_if_newest("room-7", second, "room-7", live, {"host_name": "second"})
    assert not ordered_lists.send_if_newest("room-7", first, "room-7", live, {"host_name": "first"})
    assert ordered_lists.send_if_newest("room-7", third, "room-7", live, {"host_name": "third"})
    assert not ordered_lists.send_if_newest("room-7", third, "room-7", live, {"host_name": "again"})
    names = [m["data"][0]["delta"][live.get_full_name()]["host_name_rx_state_"] for m in published()]
    assert names == ["second", "third"]
    assert all(m["room"] == "room-7" and m["namespace"] == "/_event" for m in published())
    # Another list has numbers of its own.
    assert ordered_lists.next_number("room-8") == 1


def test_a_list_read_before_a_departure_never_arrives_after_it(app, published, engine, monkeypatch):
    """A batch numbers its list, reads it (Bob is there) and is slow to send; Bob leaves:
    the departure's list is numbered after its commit and sent; the slow list is dropped."""
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    with app_db.session_scope(engine) as db:
        host, bob = make_user(db, "Host").id, make_user(db, "Bob").id
        room_id = make_room(db, host).id
        rooms.enter_room(db, room_id=room_id, user_id=bob)
    read, release = threading.Event(), threading.Event()
    members_now = live_rooms.members_now

    def slow_read(rid: int) -> dict:
        values = members_now(rid)
        if threading.current_thread().name == "slow-batch":
            read.set()
            release.wait(10)
        return values

    monkeypatch.setattr(live_rooms, "members_now", slow_read)
    result: list = []
    batch = threading.Thread(target=lambda: result.append(live_rooms.send_members(room_id)), name="slow-batch")
    batch.start()
    assert read.wait(10)
    with app_db.session_scope(engine) as db:
        rooms.leave(db, room_id=room_id, user_id=bob)
    number, values = live_rooms.send_members(room_id)  # the departure's list
    assert [m.user_id for m in values["members"]] == [host]
    release.set()
    batch.join(10)
    assert result[0][1] == {}  # stale: not sent (and not for the store either)
    lists = [m["data"][0]["delta"][targets.of(targets.ROOM).get_full_name()]["members_rx_state_"] for m in published()]
    assert [[m["user_id"] for m in ms] for ms in lists] == [[host]]
    assert all(m["room"] == channels.room(room_id) for m in published())


def test_the_store_keeps_the_newest_list_whatever_order_it_is_updated_in():
    live = SimpleNamespace(_members_seq=0, members=[], host_id=0, host_name="")
    live_rooms.keep_members(live, 2, {"members": ["a", "b"], "host_id": 1, "host_name": "A"})
    live_rooms.keep_members(live, 1, {"members": ["a", "b", "x"], "host_id": 1, "host_name": "A"})
    assert (live.members, live._members_seq) == (["a", "b"], 2)
    live_rooms.keep_members(live, 3, {})  # nothing sent: nothing kept
    assert live._members_seq == 2
    live_rooms.keep_members(live, 3, {"members": ["a"], "host_id": 1, "host_name": "A"})
    assert (live.members, live._members_seq) == (["a"], 3)


@pytest.mark.parametrize(("several", "announce", "batched", "asked", "listed"), [
    (False, False, False, [], False),  # one worker: a reload's load carries the store's list
    (False, True, False, [7, "lobby"], True),
    (True, False, False, [7], True),  # several: the store may lag the newest list, a batch brings it
    (True, True, True, ["lobby"], True),  # a new stint asked for its list at the entry already
])
def test_a_room_arrival_with_several_workers_always_gets_a_batched_list(monkeypatch, several, announce, batched,
                                                                        asked, listed):
    requests: list = []
    monkeypatch.setattr(ordered_lists, "available", lambda: several)
    monkeypatch.setattr(presence, "refresh_members", requests.append)
    monkeypatch.setattr(presence, "refresh_lobby", lambda: requests.append("lobby"))
    live = SimpleNamespace(_tabs={}, _missing_since={}, _linked_from=set())
    got = asyncio.run(presence.arrive(live, token="tab", sid="sid", user_id=3, room_id=7, announce=announce,
                                      joined=True, batched=batched))
    presence.forget_tab("tab")
    assert (got, requests, live._tabs) == (listed, asked, {"tab": 3})
