"""A host's timer action answered before Reflex's event queue (``state.timer_actions``):
the room is the socket's server-joined channel, the caller its login cookie, the service
authorizes the host, and the room's store changes under its own lock. Every case it is not
sure of goes to Reflex's ``RoomLive.control``, unchanged."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace

import pytest

from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.live import channels
from sessions_app.live.rooms import shared_key
from sessions_app.models import Room
from sessions_app.realtime import fast_events
from sessions_app.services import rooms
from sessions_app.state import timer_actions  # noqa: F401 - registers the fast timer action
from sessions_app.state.room import RoomLive, RoomPageState
from tests.support.factories import make_room, room_of_three
from tests.unit.test_fast_chat_posts import FakeNamespace

CONTROL = f"{RoomLive.get_full_name()}.control"
LIVE, PAGE = RoomLive.get_full_name(), RoomPageState.get_full_name()


@pytest.fixture
def world(engine, monkeypatch):
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    with app_db.session_scope(engine) as db:
        three = room_of_three(db)
        host, bob, eve, room_id, tokens = three.host, three.bob, three.eve, three.room_id, three.tokens
        eves_room = make_room(db, eve, name="Eve's room").id
        rooms.enter(db, room_id=room_id, user_id=eve)  # eve is also in the host's room
    cookies: dict[str, str] = {}
    monkeypatch.setattr(realtime, "held_cookie", lambda sid: cookies.get(sid, ""))
    to_reflex, broadcasts, locks = [], [], []

    async def reflex_on_event(ns, sid, data):
        to_reflex.append(sid)

    async def push(channel, state_cls, *, skip_sid=None, **values):
        broadcasts.append((channel, state_cls.get_full_name(), skip_sid, values))

    stores = {shared_key(r): SimpleNamespace(room_id=r) for r in (room_id, eves_room)}

    @contextlib.asynccontextmanager
    async def modify_shared(cls, ident):
        assert cls is RoomLive
        locks.append(ident)
        yield stores.setdefault(ident, SimpleNamespace(room_id=0))

    monkeypatch.setattr(fast_events, "_reflex_on_event", reflex_on_event)
    monkeypatch.setattr(realtime, "push", push)
    monkeypatch.setattr(realtime, "modify_shared", modify_shared)
    monkeypatch.setattr("sessions_app.live.phases.after_timer_change", lambda room_id, running: None)
    ns = FakeNamespace()
    yield SimpleNamespace(host=host, bob=bob, eve=eve, room_id=room_id, eves_room=eves_room, tokens=tokens,
                          cookies=cookies, ns=ns, to_reflex=to_reflex, broadcasts=broadcasts, locks=locks,
                          stores=stores, engine=engine)
    fast_events._JOINED.clear()


def _tab(world, sid: str, user: int | None, room_id: int | None) -> str:
    world.ns.connect(sid, f"tab-{sid}")
    if user is not None:
        world.cookies[sid] = world.tokens[user]
    if room_id is not None:
        world.ns.join(sid, channels.room(room_id))
    return sid


def _control(world, sid: str, **payload) -> None:
    asyncio.run(fast_events._on_event(world.ns, sid, {"name": CONTROL, "payload": payload, "router_data": {}}))


def _phase(world, room_id: int) -> str:
    with app_db.session_scope(world.engine) as db:
        return db.get(Room, room_id).phase


def test_the_host_starts_the_timer_with_one_broadcast_and_one_answer(world):
    sid = _tab(world, "host-1", world.host, world.room_id)
    _control(world, sid, action="start")
    assert _phase(world, world.room_id) == "focus"
    assert world.to_reflex == [] and world.locks == [shared_key(world.room_id)]
    ((channel, state, skip, values),) = world.broadcasts
    assert (channel, state, skip) == (channels.room(world.room_id), LIVE, sid)
    assert values["phase"] == "focus" and values["ends_at_ms"] > 0
    assert world.stores[shared_key(world.room_id)].phase == "focus"  # the store, under its lock
    ((to, frame),) = world.ns.sent
    assert to == sid and frame == {"delta": {LIVE: {f"{k}_rx_state_": v for k, v in values.items()},
                                             PAGE: {"error_rx_state_": ""}}}


def test_a_member_who_is_not_the_host_is_refused_and_nothing_changes(world):
    sid = _tab(world, "bob-1", world.bob, world.room_id)
    _control(world, sid, action="start")
    assert world.ns.sent == [(sid, {"delta": {PAGE: {"error_rx_state_": "Only the host controls the timer."}}})]
    assert world.broadcasts == [] and world.to_reflex == []
    assert _phase(world, world.room_id) == "idle" and not hasattr(world.stores[shared_key(world.room_id)], "phase")


def test_the_room_is_the_socket_s_channel_not_the_payload(world):
    # Eve hosts her own room but sits in the host's room's channel; she names her room.
    sid = _tab(world, "eve-1", world.eve, world.room_id)
    _control(world, sid, action="start", room_id=world.eves_room)
    assert world.ns.sent[-1][1]["delta"][PAGE]["error_rx_state_"] == "Only the host controls the timer."
    assert _phase(world, world.eves_room) == "idle" and _phase(world, world.room_id) == "idle"


def test_an_unknown_action_is_the_page_s_message(world):
    sid = _tab(world, "host-2", world.host, world.room_id)
    _control(world, sid, action="explode")
    assert world.ns.sent == [(sid, {"delta": {PAGE: {"error_rx_state_": "Unknown timer action."}}})]
    assert world.broadcasts == []


@pytest.mark.parametrize("case", ["no channel", "no login", "no store"])
def test_what_the_fast_path_is_not_sure_of_goes_to_reflex(world, case):
    sid = _tab(world, "host-3", None if case == "no login" else world.host,
               None if case == "no channel" else world.room_id)
    if case == "no store":
        world.stores[shared_key(world.room_id)].room_id = 0  # after a restart: the load rebuilds it
    _control(world, sid, action="start")
    assert world.to_reflex == [sid]
    assert world.ns.sent == [] and world.broadcasts == []
    assert _phase(world, world.room_id) == "idle"
