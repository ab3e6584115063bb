"""``verify_action`` for the delivery layer: a browser view that loaded earlier and then
applied every broadcast ``live`` sent since shows exactly what a fresh load shows now — for a
room (timer, members, host, closing), the lobby's room cards and a session's places (its page
and the /sessions list).

The actions run through the real ``live`` paths (presence, phases, feeds, session page) on a
temporary database; ``realtime`` is replaced by a recorder, so each broadcast is seen as the
values a browser receives. The views are plain JSON, as in a browser's state store.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest

from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.live import channels, feeds, phases, presence, session_page, targets
from sessions_app.live.rooms import snapshot_vars
from sessions_app.models import Room
from sessions_app.models import base as clock
from sessions_app.services import rooms, scheduled
from sessions_app.state import room as room_state  # registers the broadcast targets
from sessions_app.state.lobby import LobbyState
from sessions_app.state.scheduled import SessionDetailState, SessionsListState
from tests.support.factories import make_room, make_user, plan_session


def plain(value):
    """A value as a browser holds it (JSON of dataclasses and lists)."""
    def conv(v):
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return dataclasses.asdict(v)
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    return json.loads(json.dumps(conv(value)))


class Recorder:
    """Stands in for ``realtime``: records each broadcast, keeps shared room stores, runs
    coalesced pushes on ``flush`` (as the batch timer would)."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, type, dict]] = []
        self.pending: dict[str, object] = {}
        self.stores: dict[str, SimpleNamespace] = {}

    async def publish(self, shared, channel, sender_sid, **values):
        for k, v in values.items():
            setattr(shared, k, v)
        self.frames.append((channel, type(shared) if not isinstance(shared, SimpleNamespace) else
                            targets.of(targets.ROOM), plain(values)))

    async def push(self, channel, state_cls, *, skip_sid=None, **values):
        self.frames.append((channel, state_cls, plain(values)))

    def coalesce(self, key, delay, fn):
        self.pending.setdefault(key, fn)

    def debounce(self, key, quiet, longest, fn):
        self.pending.setdefault(key, fn)

    async def flush(self):
        while self.pending:
            _, fn = self.pending.popitem()
            await fn()

    @contextlib.asynccontextmanager
    async def modify_shared(self, cls, ident):
        store = self.stores.setdefault(ident, SimpleNamespace(room_id=0, members=[], _tabs={}, _missing_since={}))
        yield store

    async def nothing(self, *args, **kwargs):
        return None


@pytest.fixture
def live(monkeypatch, engine):
    """``live`` wired to the test database, with ``realtime`` recording."""
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    rec = Recorder()
    for name in ("publish", "push", "coalesce", "debounce", "modify_shared"):
        monkeypatch.setattr(realtime, name, getattr(rec, name))
    for name in ("join", "leave", "leave_user_channels", "close_channel"):
        monkeypatch.setattr(realtime, name, rec.nothing)
    monkeypatch.setattr(realtime, "schedule", lambda *a, **k: None)
    monkeypatch.setattr(realtime, "nobody_in", lambda channel: False)  # the recorder hears every channel
    monkeypatch.setattr(realtime, "cancel", lambda *a, **k: None)
    monkeypatch.setattr(realtime, "detach_fanout", lambda *a, **k: None)
    yield rec
    clock.set_clock_offset(timedelta(0))


class View:
    """One browser tab's copy of a state's vars: loaded once, then only broadcasts applied."""

    def __init__(self, channel: str, state_cls: type, loaded: dict):
        self.channel, self.state_cls, self.vars = channel, state_cls, plain(loaded)
        self.applied = 0

    def catch_up(self, rec: Recorder) -> None:
        for channel, cls, values in rec.frames[self.applied:]:
            if channel == self.channel and cls is self.state_cls:
                self.vars.update(values)
        self.applied = len(rec.frames)

    def shows(self, fresh: dict) -> dict:
        return {k: self.vars[k] for k in fresh}


def room_fresh(engine, room_id: int) -> dict:
    """What a tab loading the room now shows (``RoomPageState.load``)."""
    with app_db.session_scope(engine) as db:
        return plain(snapshot_vars(rooms.snapshot(db, room_id)))


def lobby_fresh(engine) -> dict:
    with app_db.session_scope(engine) as db:
        return {"rooms": plain(feeds.room_cards(db))}


def test_room_and_lobby_views_after_broadcasts_equal_a_fresh_load(live, engine):
    with app_db.session_scope(engine) as db:
        host, bob = make_user(db, "Host").id, make_user(db, "Bob").id
        room_id = make_room(db, host, name="Verify room").id
        rooms.enter(db, room_id=room_id, user_id=host)
    store = live.stores.setdefault(room_state.shared_key(room_id), SimpleNamespace(
        _tabs={"host-tab": host}, _missing_since={}, **room_fresh(engine, room_id)))
    store.members = []  # as objects the live code compares by attribute
    room_view = View(channels.room(room_id), room_state.RoomLive, room_fresh(engine, room_id))
    lobby_view = View(channels.lobby(), LobbyState, lobby_fresh(engine))

    def check(step: str) -> None:
        asyncio.run(live.flush())
        for view, fresh in ((room_view, room_fresh(engine, room_id)), (lobby_view, lobby_fresh(engine))):
            view.catch_up(live)
            assert view.shows(fresh) == fresh, step

    async def arrive(token: str, uid: int) -> None:
        with app_db.session_scope(engine) as db:
            _, is_new = rooms.enter(db, room_id=room_id, user_id=uid)
        await presence.arrive(store, token=token, sid=f"sid-{token}", user_id=uid, room_id=room_id, announce=is_new)

    asyncio.run(arrive("bob-tab", bob))
    check("Bob joins: the member list and the lobby count")

    async def control(action: str) -> None:
        with app_db.session_scope(engine) as db:
            values, running = room_state._control(db, host, room_id, action)
        await realtime.publish(store, channels.room(room_id), "host-sid", **values)
        phases.after_timer_change(room_id, running)

    asyncio.run(control("start"))
    check("the host starts the timer")
    asyncio.run(control("pause"))
    check("paused")
    asyncio.run(control("resume"))
    check("resumed")
    # The focus phase's end comes (the clock moves past it): the server moves the phase on.
    with app_db.session_scope(engine) as db:
        room = db.get(Room, room_id)
        seq, ends = room.phase_seq, room.phase_ends_at
    clock.set_clock_offset(ends - clock.utcnow() + timedelta(seconds=1))
    asyncio.run(phases.phase_due(room_id, seq))
    check("the phase ends on the server (a block is done)")
    asyncio.run(presence.depart(store, "host-tab", host, "host-sid", whole_user=True))
    check("the host leaves: Bob is host")
    assert room_view.vars["host_name"] == "Bob"
    asyncio.run(presence.drop_tab(room_id, "bob-tab"))
    check("the last member's tab is gone: the room closes and leaves the lobby")
    assert room_view.vars["closed"] is True and lobby_view.vars["rooms"] == []


def test_session_places_after_broadcasts_equal_a_fresh_load(live, engine):
    with app_db.session_scope(engine) as db:
        creator = make_user(db, "Creator").id
        people = [make_user(db, f"P{i}").id for i in range(3)]
        outsider = make_user(db, "Outsider").id
        day = (clock.utcnow() + timedelta(days=2)).date().isoformat()  # upcoming: open for sign-ups
        session_id = plan_session(db, creator, now=clock.utcnow(), capacity="2", date=day).id

    def page_fresh() -> dict:
        """What an outsider's fresh load of /sessions/<id> shows of the numbers."""
        with app_db.session_scope(engine) as db:
            d = scheduled.session_detail(db, session_id=session_id, viewer_id=outsider)
        return {"places_left": -1 if d.places_left is None else d.places_left,
                "places_text": feeds.places_text(d.places_left, d.status), "status": d.status,
                "joinable": d.status in ("upcoming", "live")}

    def list_fresh() -> dict:
        with app_db.session_scope(engine) as db:
            return {"live_places": feeds.live_places(db)}

    page = View(channels.session(session_id), SessionDetailState, page_fresh())
    listing = View(channels.sessions_list(), SessionsListState, list_fresh())

    def act(fn, kind: str, step: str) -> None:
        with app_db.session_scope(engine) as db:
            fn(db)
        asyncio.run(session_page.announce(session_id, kind))
        asyncio.run(live.flush())
        for view, fresh in ((page, page_fresh()), (listing, list_fresh())):
            view.catch_up(live)
            assert view.shows(fresh) == fresh, step

    for i, uid in enumerate(people):
        act(lambda db, u=uid: scheduled.join_session(db, session_id=session_id, user_id=u), session_page.PLACES,
            f"person {i} joins")
    assert page.vars["places_text"] == "Full · waitlist open"
    act(lambda db: scheduled.leave_session(db, session_id=session_id, user_id=people[0]), session_page.PLACES,
        "a place frees up (the waitlisted person moves in)")
    act(lambda db: scheduled.leave_session(db, session_id=session_id, user_id=people[1]), session_page.PLACES,
        "another leaves")
    assert page.vars["places_text"] == "1 place left"
    act(lambda db: scheduled.cancel_session(db, session_id=session_id, user_id=creator), session_page.CANCEL,
        "the creator cancels")
    assert page.vars["status"] == "cancelled" and listing.vars["live_places"][str(session_id)] == "Cancelled"
