"""The cost of one chat post (and one timer action) in database round trips.

``Handler._attempt_as_caller`` — the path of a room, lobby or session chat post and of a
host's timer action — finds the caller from the login cookie AND runs the service in ONE
transaction (``caller_then``). Before, the lookup was a transaction of its own: two BEGINs
(each taking SQLite's write lock) and two COMMITs per post. A room post is also down to five
statements: the login with the user's shown columns (``services.callers``), presence-and-quiet-
state (one join), the message, the channel's sequence number and its change-log entry.

What must not change: a revoked login posts nothing, a refusal (not in the room, a quiet
focus block) stores nothing and uses no sequence number, and the caller is the cookie's user.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy import event
from sqlmodel import select

from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.models import ChatMessage, Room
from sessions_app.services import accounts, chat, chat_log, quiet_focus, rooms
from sessions_app.state import base
from sessions_app.state import room as room_state
from sessions_app.state.base import REFUSED, Handler
from tests.support.factories import make_room, room_of_three


class _Tab(Handler):
    """The handler pattern without Reflex: a tab with a socket and an error var."""

    def __init__(self) -> None:
        self.router = SimpleNamespace(session=SimpleNamespace(session_id="sid-1", client_token="tab-1"))
        self.error = ""
        self.noted: list[int | None] = []

    async def _note_caller(self, token, uid, values) -> None:  # AuthState is Reflex's: not here
        self.noted.append(uid)


@pytest.fixture
def counted(monkeypatch, engine):
    """The app's engine is the test's; counts its transactions and (non-BEGIN) statements."""
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    seen = {"begins": 0, "statements": []}

    def on_begin(conn):
        seen["begins"] += 1

    def on_statement(conn, cursor, statement, params, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "SELECT SET_CONFIG")):
            seen["statements"].append(statement)

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    yield seen
    event.remove(engine, "begin", on_begin)
    event.remove(engine, "before_cursor_execute", on_statement)


@pytest.fixture
def world(engine, monkeypatch):
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    with app_db.session_scope(engine) as db:
        three = room_of_three(db)
    cookie = {"value": None}
    monkeypatch.setattr(realtime, "held_cookie", lambda sid: cookie["value"])
    return SimpleNamespace(**vars(three), cookie=cookie)


def _post(tab: _Tab, room_id: int, body: str):
    channel = chat.room_channel(room_id)
    return asyncio.run(tab._attempt_as_caller(
        lambda db, uid: chat.post(db, channel=channel, user_id=uid, body=body)))


def _stored(engine, room_id: int) -> tuple[list[tuple[int, str]], int]:
    with app_db.session_scope(engine) as db:
        rows = db.exec(select(ChatMessage).where(ChatMessage.channel == chat.room_channel(room_id))).all()
        return [(m.user_id, m.body) for m in rows], chat_log.current(db, chat.room_channel(room_id))


def test_a_room_post_is_one_transaction_of_five_statements(engine, counted, world):
    world.cookie["value"] = world.tokens[world.bob]
    counted["begins"], counted["statements"] = 0, []
    tab = _Tab()
    uid, change = _post(tab, world.room_id, "hello")
    assert counted["begins"] == 1  # the login lookup and the post share one transaction
    assert len(counted["statements"]) <= 6, counted["statements"]  # five, and the COMMIT
    assert uid == world.bob and tab.noted == [world.bob]
    assert change.seq == 1 and change.message.body == "hello" and change.message.user_id == world.bob
    assert _stored(engine, world.room_id) == ([(world.bob, "hello")], 1)


def test_a_caller_known_in_this_event_is_not_looked_up_again(engine, counted, world):
    world.cookie["value"] = world.tokens[world.bob]
    tab = _Tab()

    async def event_with_known_caller():
        base._CALLER.set((world.tokens[world.bob], world.bob))
        counted["begins"] = 0
        return await tab._attempt_as_caller(
            lambda db, uid: chat.post(db, channel=chat.room_channel(world.room_id), user_id=uid, body="again"))

    uid, change = asyncio.run(event_with_known_caller())
    assert counted["begins"] == 1 and uid == world.bob and change.seq == 1
    assert tab.noted == []  # already noted by the event's first lookup


def test_a_revoked_login_posts_nothing(engine, counted, world):
    token = world.tokens[world.bob]
    with app_db.session_scope(engine) as db:
        accounts.end_session(db, token=token)
    world.cookie["value"] = token
    tab = _Tab()
    assert _post(tab, world.room_id, "after logout") == (None, None)
    assert tab.noted == [None]
    assert _stored(engine, world.room_id) == ([], 0)


def test_no_cookie_posts_nothing(engine, world):
    tab = _Tab()
    assert _post(tab, world.room_id, "anonymous") == (None, None)
    assert _stored(engine, world.room_id) == ([], 0)


def test_someone_not_in_the_room_is_refused_and_nothing_is_stored(engine, world):
    world.cookie["value"] = world.tokens[world.eve]  # logged in, never entered the room
    tab = _Tab()
    uid, change = _post(tab, world.room_id, "let me in")
    assert (uid, change) == (world.eve, REFUSED)
    assert tab.error == chat.NOT_ALLOWED
    assert _stored(engine, world.room_id) == ([], 0)  # no message, no sequence number used


def test_a_member_who_left_is_refused(engine, world):
    with app_db.session_scope(engine) as db:
        rooms.leave(db, room_id=world.room_id, user_id=world.bob)
    world.cookie["value"] = world.tokens[world.bob]
    tab = _Tab()
    assert _post(tab, world.room_id, "still here?") == (world.bob, REFUSED)
    assert tab.error == chat.NOT_ALLOWED
    assert _stored(engine, world.room_id) == ([], 0)


def test_a_quiet_focus_block_refuses_a_post_and_stores_nothing(engine, world):
    with app_db.session_scope(engine) as db:
        room = db.get(Room, world.room_id)
        room.phase, room.focus_chat_open = "focus", False
        db.add(room)
    world.cookie["value"] = world.tokens[world.bob]
    tab = _Tab()
    assert _post(tab, world.room_id, "psst") == (world.bob, REFUSED)
    assert tab.error == quiet_focus.QUIET
    assert _stored(engine, world.room_id) == ([], 0)


def test_another_rooms_member_cannot_post_here(engine, world):
    with app_db.session_scope(engine) as db:
        other = make_room(db, world.eve).id
        rooms.enter(db, room_id=other, user_id=world.eve)
    world.cookie["value"] = world.tokens[world.eve]
    tab = _Tab()
    assert _post(tab, world.room_id, "wrong room") == (world.eve, REFUSED)
    assert _stored(engine, world.room_id) == ([], 0)


def test_a_timer_action_is_one_transaction_and_only_the_host_may(engine, counted, world):
    world.cookie["value"] = world.tokens[world.host]
    with app_db.session_scope(engine) as db:
        rooms.enter(db, room_id=world.room_id, user_id=world.host)
    counted["begins"] = 0
    tab = _Tab()
    uid, (values, running) = asyncio.run(tab._attempt_as_caller(room_state._control, world.room_id, "start"))
    assert counted["begins"] == 1 and uid == world.host
    assert values["phase"] == "focus" and running is not None
    world.cookie["value"] = world.tokens[world.bob]
    bob_tab = _Tab()
    assert asyncio.run(bob_tab._attempt_as_caller(room_state._control, world.room_id, "pause")) == (world.bob, REFUSED)
    assert bob_tab.error
