"""A room entry on SQLite's road (``state.room_entry``, ``services.rooms.entry_hot``): on the
driver, the login lookup and the entry's checks read beside the writers, then one statement
under the write lock that re-checks the login, the room and the presence. Every case must
end exactly as the regular entry (``caller_then(token, True, enter_as_caller, ...)``) ends:
the same caller, own view, entry or refusal, and the same rows."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import event

from sessions_app import db as app_db
from sessions_app.models import Room, RoomMember, utcnow
from sessions_app.services import accounts, rooms
from sessions_app.services.rooms import entry_hot
from sessions_app.services.tokens import hash_token
from sessions_app.state import room_entry
from sessions_app.state.base import REFUSED, caller_then
from tests.support import entry_roads, postgres
from tests.support.factories import make_user

pytestmark = pytest.mark.skipif(postgres.unit_suite_on_postgres(),
                                reason="the split road is SQLite's; PostgreSQL keeps the regular entry")


@pytest.fixture
def begins(monkeypatch, engine):
    """The app's engine is the test's; the transactions opened through SQLAlchemy."""
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    seen: list[int] = []
    listener = lambda conn: seen.append(1)  # noqa: E731
    event.listen(engine, "begin", listener)
    yield seen
    event.remove(engine, "begin", listener)


def _no_write_turn_held(engine) -> bool:
    turn = app_db._WRITER_TURNS[engine]
    free = turn.acquire(blocking=False)
    if free:
        turn.release()
    return free


def test_a_new_entry_runs_on_the_driver_and_gives_the_regular_result(engine, begins):
    room_id, bob, token = entry_roads.world(engine)
    with app_db.session_scope(engine) as db:  # Carl takes the regular road, for comparison
        carl = make_user(db, "Carl").id
        carl_token = accounts.start_session(db, user_id=carl)
    regular = caller_then(carl_token, True, room_entry.enter_as_caller, str(room_id))
    begins.clear()
    uid, view, entry, err = room_entry.enter_by_login(token, str(room_id))
    assert (uid, entry, err) == (bob, rooms.Entry(room_id, True), None)
    assert view == {**regular[1], "user_id": bob, "display_name": "Bob"}
    assert begins == []  # no SQLAlchemy transaction: reads and write ran on the driver
    assert entry_roads.stints(engine, room_id, bob) == 1
    assert _no_write_turn_held(engine)


def test_a_reload_writes_nothing(engine, begins, monkeypatch):
    room_id, bob, token = entry_roads.world(engine)
    room_entry.enter_by_login(token, room_id)
    monkeypatch.setattr(entry_hot, "sqlite_write_turn", lambda *a: pytest.fail("a present user wrote"))
    assert room_entry.enter_by_login(token, room_id)[2] == rooms.Entry(room_id, False)
    assert entry_roads.stints(engine, room_id, bob) == 1


def test_the_first_one_present_hosts_a_room_without_host(engine, begins):
    room_id, bob, token = entry_roads.world(engine, hosted=False)
    assert room_entry.enter_by_login(token, room_id)[2] == rooms.Entry(room_id, True)
    with app_db.session_scope(engine) as db:
        assert db.get(Room, room_id).host_id == bob


def test_a_hosted_room_keeps_its_host(engine, begins):
    room_id, bob, token = entry_roads.world(engine)
    room_entry.enter_by_login(token, room_id)
    with app_db.session_scope(engine) as db:
        assert db.get(Room, room_id).host_id != bob


@pytest.mark.parametrize("what", entry_roads.REFUSALS)
def test_every_refusal_is_the_regular_entrys(engine, begins, what):
    entry_roads.assert_refused_as_the_regular_entry(engine, what)
    assert _no_write_turn_held(engine)


def test_a_private_room_goes_the_regular_way_and_admits_who_may_enter(engine, begins):
    room_id, bob, token = entry_roads.world(engine, private=True)
    with app_db.session_scope(engine) as db:  # Bob came in by the code once, then left
        db.add(RoomMember(room_id=room_id, user_id=bob, joined_at=utcnow(), left_at=utcnow()))
    assert room_entry.enter_by_login(token, room_id)[2] == rooms.Entry(room_id, True)
    assert entry_roads.stints(engine, room_id, bob) == 1


@pytest.mark.parametrize("change", ["logout", "closed", "entered elsewhere", "made private"])
def test_the_write_rechecks_what_changed_since_the_reads(engine, begins, monkeypatch, change):
    """Between the reads and the write, another transaction changes what the entry depends
    on: the write inserts nothing and the regular entry decides, as if it had run after it."""
    room_id, bob, token = entry_roads.world(engine)
    turn = entry_hot.sqlite_write_turn

    @contextlib.contextmanager
    def change_then_turn(*args):
        with app_db.session_scope(engine) as other:
            room = other.get(Room, room_id)
            if change == "logout":
                accounts.end_session(other, token=token)
            elif change == "closed":
                rooms.close_room(other, room=room)
            elif change == "entered elsewhere":
                rooms.enter_room(other, room_id=room_id, user_id=bob)
            else:
                room.is_private = True
                other.add(room)
        with turn(*args):
            yield

    monkeypatch.setattr(entry_hot, "sqlite_write_turn", change_then_turn)
    uid, _, entry, err = room_entry.enter_by_login(token, room_id)
    if change == "logout":
        assert (uid, entry, err) == (None, None, None)
    elif change == "entered elsewhere":
        assert entry == rooms.Entry(room_id, False)
    else:
        assert entry is REFUSED and err.message
    assert entry_roads.stints(engine, room_id, bob) == (1 if change == "entered elsewhere" else 0)
    assert _no_write_turn_held(engine)


def test_the_insert_needs_the_callers_own_valid_login(engine, begins):
    """The insert's own conditions, run on the driver: another user's login, a forged or an
    expired one open no stint for Bob; his own does, once."""
    room_id, bob, token = entry_roads.world(engine)
    with app_db.session_scope(engine) as db:
        eve_token = accounts.start_session(db, user_id=make_user(db, "Eve").id)
    sql = entry_hot._statements(engine.dialect)["insert"]
    now = utcnow()

    def insert(login: str, at=now) -> int:
        conn = engine.raw_connection()
        try:
            params = {"room_id": room_id, "user_id": bob, "token_hash": hash_token(login), "joined_at": at, "now": at}
            count = conn.cursor().execute(sql.sql, sql.args(params)).rowcount
            conn.commit()
            return count
        finally:
            conn.close()

    assert insert("forged") == 0
    assert insert(eve_token) == 0
    assert insert(token, now + timedelta(days=365)) == 0  # past the login's expiry
    assert entry_roads.stints(engine, room_id, bob) == 0
    assert insert(token) == 1
    assert insert(token) == 0
    assert entry_roads.stints(engine, room_id, bob) == 1
