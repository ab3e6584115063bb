"""Member lists for sockets that join a room's channel late, and the same list not sent twice
(several workers: ``realtime.ordered_lists``, ``realtime.workers.RedisRoomManager``,
``live.presence.catch_up`` / ``listed``, ``state.room_early``).

In a join storm a tab's entry asks for the member list at its commit, and the tab's socket
joins the room's channel only after its hydrate's frame: a list may go out before a socket
joins. Each worker notes the newest list it delivers (in the step that picks its recipients),
so a socket that joins and then looks either was a recipient or finds that list or a newer
one — never an older one after a newer one. The same content is published once (both
workers' batches read the full list once the entries pause). Against a real Redis server (the
fixtures of ``test_ordered_lists``); skipped (with the reason) only without ``redis-server``.
"""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest

from sessions_app.live import channels, presence, targets
from sessions_app.realtime import ordered_lists, workers
from sessions_app.services import rooms
from sessions_app.state import room_early
from tests.unit import test_ordered_lists as _ordered

# The Redis server and the wired socket.io server of ``test_ordered_lists``.
redis_server, app, published = _ordered.redis_server, _ordered.app, _ordered.published
REDIS = _ordered.REDIS

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
LIVE = targets.of(targets.ROOM)
MEMBERS = LIVE.get_full_name()


@pytest.fixture(autouse=True)
def _fresh_notes(monkeypatch):
    monkeypatch.setattr(workers, "newest_lists", {})
    monkeypatch.setattr(workers, "delivered_lists", {})
    monkeypatch.setattr(workers, "list_delivered", {})


def _listing(*ids: int) -> dict:
    return {"members": [{"user_id": i} for i in ids], "host_id": ids[0] if ids else 0, "host_name": ""}


def _ids(update: dict) -> list[int]:
    return [m["user_id"] for m in update["delta"][MEMBERS]["members_rx_state_"]]


def test_a_list_equal_to_the_last_one_still_goes_out(app, published):
    """A member's second tab (or a client-side navigation into the room) loads without the
    member list in its own frame and waits for the list its arrival asks for: that list reads
    the same as the last one, and it must still reach the tab."""
    key = "room-7"
    first, second, third, fourth = (ordered_lists.next_number(key) for _ in range(4))
    assert ordered_lists.send_if_newest(key, first, key, LIVE, _listing(1, 2), [1, 2])
    assert ordered_lists.send_if_newest(key, second, key, LIVE, _listing(1, 2), [1, 2])
    assert ordered_lists.send_if_newest(key, fourth, key, LIVE, _listing(1), [1])  # a departure
    # A list numbered before the departure's never goes out after it.
    assert not ordered_lists.send_if_newest(key, third, key, LIVE, _listing(1, 2), [1, 2])
    sent = published()
    assert [_ids(m["data"][0]) for m in sent] == [[1, 2], [1, 2], [1]]
    assert [(m["number"], m["tags"]) for m in sent] == [(first, [1, 2]), (second, [1, 2]), (fourth, [1])]


def _message(number: int, ids: list[int], room: str = "room-7") -> dict:
    from sessions_app import realtime

    return ordered_lists.message(room, realtime._delta(LIVE, _listing(*ids)), number, ids)


def test_a_worker_notes_the_newest_list_it_delivers_and_forgets_an_empty_or_closed_one(app):
    manager = app.sio.manager
    asyncio.run(manager._handle_emit(_message(3, [1, 2])))
    asyncio.run(manager._handle_emit(_message(2, [1])))  # older: never replaces a newer one
    number, update, tags = ordered_lists.newest("room-7")
    assert (number, _ids(update), tags) == (3, [1, 2], {1, 2})
    assert workers.delivered_lists["room-7"] == 3
    # A room broadcast that is no numbered list is not noted.
    asyncio.run(manager._handle_emit({**_message(9, [5]), "host_id": "some-worker"}))
    assert ordered_lists.newest("room-7")[0] == 3
    asyncio.run(manager._handle_emit(_message(4, [])))  # everyone left: nothing to keep
    assert ordered_lists.newest("room-7") is None and "room-7" not in workers.delivered_lists
    asyncio.run(manager._handle_emit(_message(5, [1])))
    asyncio.run(manager._handle_close_room({"method": "close_room", "room": "room-7", "namespace": "/_event"}))
    assert ordered_lists.newest("room-7") is None


def test_a_socket_joining_after_a_list_gets_it_only_if_it_lists_its_user(app, monkeypatch):
    manager, sent = app.sio.manager, []

    async def send_eio_packet(eio_sid, pkt):
        sent.append((eio_sid, pkt))

    monkeypatch.setattr(app.sio, "_send_eio_packet", send_eio_packet)
    monkeypatch.setattr(ordered_lists, "available", lambda: True)
    channel = channels.room(7)

    async def scenario() -> None:
        sid_a, sid_b, sid_c = [await manager.connect(f"eio-{x}", "/_event") for x in "abc"]
        await presence.catch_up(sid_a, 7, 1)  # no list yet: the next one comes via the channel
        assert sent == []
        await manager._handle_emit(_message(1, [1, 2], room=channel))
        await presence.catch_up(sid_a, 7, 1)
        await presence.catch_up(sid_b, 7, 2)
        await presence.catch_up(sid_c, 7, 3)  # not listed yet: its list is still to come
        assert [eio for eio, _ in sent] == ["eio-a", "eio-b"]
        # What python-socketio's emit sends for the list, encoded once for every late joiner.
        frame = sent[0][1].data
        assert frame.startswith("2/_event,") and _ids(json.loads(frame.split(",", 1)[1])[1]) == [1, 2]
        assert sent[0][1] is sent[1][1]
        await manager._handle_emit(_message(2, [1, 2, 3], room=channel))
        await presence.catch_up(sid_c, 7, 3)
        assert _ids(json.loads(sent[-1][1].data.split(",", 1)[1])[1]) == [1, 2, 3]
        await manager.disconnect(sid_c, "/_event")
        await presence.catch_up(sid_c, 7, 3)  # a socket that has gone gets nothing
        assert len(sent) == 3

    asyncio.run(scenario())


def test_a_socket_in_the_channel_when_a_list_is_delivered_gets_it_from_the_delivery(app):
    """The note is made in the step that picks the recipients: a socket is either among them
    or joins after the note (and finds the list with ``newest``), never in between."""
    manager, channel = app.sio.manager, channels.room(7)
    recipients: list = []

    def participants(namespace, room):
        # Picked by the delivery: the list is noted by then (a late joiner finds it).
        recipients.append(ordered_lists.newest(room)[0])
        return iter(())

    manager.rooms["/_event"] = {}
    manager.get_participants = participants
    asyncio.run(manager._handle_emit(_message(1, [1], room=channel)))
    assert recipients == [1]


def test_a_burst_waits_for_the_delivery_of_a_list_that_lists_the_user(app, monkeypatch):
    manager, channel = app.sio.manager, channels.room(7)
    monkeypatch.setattr(ordered_lists, "available", lambda: True)

    async def scenario() -> tuple[bool, bool, float]:
        loop = asyncio.get_running_loop()
        waiting = asyncio.ensure_future(ordered_lists.delivered(channel, 2, 5.0))
        await asyncio.sleep(0.01)
        await manager._handle_emit(_message(1, [1], room=channel))  # not this user yet
        await asyncio.sleep(0.01)
        early = waiting.done()
        await manager._handle_emit(_message(2, [1, 2], room=channel))
        t0 = loop.time()
        got = await asyncio.wait_for(waiting, 1)
        return early, got, loop.time() - t0

    early, got, _ = asyncio.run(scenario())
    assert (early, got) == (False, True)
    # Nobody lists the user: the wait ends at its bound, it does not hang.
    assert asyncio.run(ordered_lists.delivered(channel, 9, 0.05)) is False


@pytest.mark.parametrize(("is_new", "burst", "calls"), [
    (True, True, ["join", "catch_up", "listed"]),  # a storm: the page load after the list
    (True, False, ["join", "catch_up"]),  # a lone join: its page load at once
    (False, True, ["join", "catch_up"]),  # a reload asked for no list: nothing to wait for
])
def test_the_hydrate_holds_the_page_load_back_only_in_a_burst_of_new_entries(monkeypatch, is_new, burst, calls):
    got: list = []

    async def join(sid, *, user_id, room_id):
        got.append("join")

    async def catch_up(sid, room_id, user_id):
        got.append("catch_up")

    async def listed(room_id, user_id, timeout):
        got.append("listed")

    async def reads_may_start():
        return burst

    monkeypatch.setattr(presence, "join_channels", join)
    monkeypatch.setattr(presence, "catch_up", catch_up)
    monkeypatch.setattr(presence, "listed", listed)
    monkeypatch.setattr(room_early.entries, "reads_may_start", reads_may_start)
    page = SimpleNamespace(_room_id=0, _early=None)

    async def get_state(cls):
        return page

    async def run():
        job = asyncio.get_running_loop().create_future()
        job.set_result((3, {}, rooms.Entry(7, is_new), None))
        await room_early._after_frame(SimpleNamespace(get_state=get_state), job, "sid-1", "7")

    asyncio.run(run())
    assert got == calls
    assert page._room_id == 7 and page._early[:2] == ("sid-1", "7")


def test_a_new_stint_asks_for_its_list_at_the_commit(monkeypatch):
    asked: list = []
    monkeypatch.setattr(presence, "entered", asked.append)

    def enter(login, requested):
        return (3, {}, rooms.Entry(int(requested), requested == "7"), None)

    monkeypatch.setattr(room_early, "enter_by_login", enter)
    asyncio.run(room_early._enter("login", "7"))  # new: the list is asked for now
    asyncio.run(room_early._enter("login", "8"))  # a reload: no list for it
    assert asked == [7]
