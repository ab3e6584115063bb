"""The lobby feed after a timer action or a count change (``live.feeds.refresh_lobby``): it
reads and pushes the cards when a lobby tab may be listening, and skips the read only when
it is certain nobody is (one process, no socket in the lobby channel). What it pushes is
what a fresh load of the lobby shows."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
import socketio

from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.live import channels, feeds
from sessions_app.services import rooms
from sessions_app.state.lobby import LobbyState  # registers the lobby target
from tests.support.factories import make_room, make_user

NS = "/_event"


@pytest.fixture
def manager(monkeypatch):
    mgr = socketio.AsyncManager()
    monkeypatch.setattr(realtime, "_app", SimpleNamespace(sio=SimpleNamespace(manager=mgr),
                                                          event_namespace=SimpleNamespace(namespace=NS)))
    return mgr


def test_nobody_in_a_channel_no_socket_entered(manager):
    assert realtime.nobody_in(channels.lobby())
    manager.basic_enter_room("s1", NS, channels.lobby(), "e1")
    assert not realtime.nobody_in(channels.lobby())
    assert realtime.nobody_in(channels.room(1))  # another channel's sockets do not count
    manager.basic_leave_room("s1", NS, channels.lobby())
    assert realtime.nobody_in(channels.lobby())


def test_with_several_workers_someone_may_always_be_listening(monkeypatch):
    redis_manager = object.__new__(socketio.AsyncRedisManager)  # never connected: only its kind matters
    redis_manager.rooms = {}
    monkeypatch.setattr(realtime, "_app", SimpleNamespace(sio=SimpleNamespace(manager=redis_manager),
                                                          event_namespace=SimpleNamespace(namespace=NS)))
    assert not realtime.nobody_in(channels.lobby())


def test_before_the_app_is_wired_nothing_is_skipped(monkeypatch):
    monkeypatch.setattr(realtime, "_app", None)
    assert not realtime.nobody_in(channels.lobby())


@pytest.fixture
def feed(engine, monkeypatch, manager):
    """``refresh_lobby``'s coalesced push, run at once; what it read and pushed."""
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    monkeypatch.setattr(feeds, "read_scope", lambda: app_db.read_scope(engine))
    reads, pushes, pending = [], [], []
    real_read = feeds._read_cards
    monkeypatch.setattr(feeds, "_read_cards", lambda: reads.append(1) or real_read())

    async def push(channel, state_cls, *, skip_sid=None, **values):
        pushes.append((channel, state_cls, values))

    monkeypatch.setattr(realtime, "push", push)
    monkeypatch.setattr(realtime, "coalesce", lambda key, delay, fn: pending.append(fn))

    def run():
        feeds.refresh_lobby()
        asyncio.run(pending.pop()())

    return SimpleNamespace(run=run, reads=reads, pushes=pushes, engine=engine, manager=manager)


def test_a_timer_change_reaches_a_listening_lobby_as_a_fresh_load_shows_it(feed):
    with app_db.session_scope(feed.engine) as db:
        ada = make_user(db, "Ada").id
        room_id = make_room(db, ada).id
        rooms.control_timer(db, room_id=room_id, user_id=ada, action="start")
    feed.manager.basic_enter_room("s1", NS, channels.lobby(), "e1")
    feed.run()
    with app_db.read_scope(feed.engine) as db:
        fresh = feeds.room_cards(db)
    assert feed.pushes == [(channels.lobby(), LobbyState, {"rooms": fresh})]
    assert fresh[0].phase == "focus" and fresh[0].ends_at_ms > 0


def test_no_lobby_tab_means_no_read_and_no_push(feed):
    feed.run()
    assert feed.reads == [] and feed.pushes == []
