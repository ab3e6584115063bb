"""A room join's database round trips, counted with an SQLAlchemy ``begin`` listener.

``RoomPageState.load`` runs the caller's login lookup and their entry into the room in ONE
transaction (``state.base.caller_then``: looked up as the system, then ``db.become_user``),
and reads the room's snapshot and every other part of the page (board, goals, reactions, own
tasks, mix) in a second, read-only one (``_page_reads``), after joining the room's channels
and before taking the room's lock. Before, the lookup, the entry and the snapshot were three
transactions, and each other part of the page one more (plus a lookup of the caller each).
(On SQLite the load's entry takes the driver road of ``state.room_entry`` and falls back to
this regular one-transaction entry for what it does not settle: ``test_entry_hot.py``.)

On PostgreSQL, ``become_user`` must really drop the transaction to the user: the rest of the
transaction sees only that user's rows (row-level security), also after an ``elevated`` step.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import select

from sessions_app import db as app_db
from sessions_app.models import RoomMember, Task
from sessions_app.services import accounts, rooms
from sessions_app.services.errors import ServiceError
from sessions_app.state import room as room_state
from sessions_app.state import room_page  # noqa: F401 - registers the page's parts
from sessions_app.state.base import REFUSED, caller_then
from tests.support import postgres
from tests.support.factories import make_room, make_user


@pytest.fixture
def counted(monkeypatch, engine):
    """The app's engine is the test's; ``begins`` counts the transactions opened on it."""
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    begins = []
    listener = lambda conn: begins.append(1)  # noqa: E731
    event.listen(engine, "begin", listener)
    yield begins
    event.remove(engine, "begin", listener)


def _world(engine) -> tuple[int, int, str]:
    with app_db.session_scope(engine) as db:
        host, bob = make_user(db, "Host").id, make_user(db, "Bob").id
        room_id = make_room(db, host).id
        token = accounts.start_session(db, user_id=bob)
    return room_id, bob, token


def test_a_join_is_two_transactions_lookup_and_entry_then_the_snapshot(engine, counted):
    room_id, bob, token = _world(engine)
    counted.clear()
    uid, view, entry, err = caller_then(token, True, room_state._enter, str(room_id))
    assert counted == [1]  # the lookup, the own view and the entry: one transaction
    assert (uid, entry, err) == (bob, rooms.Entry(room_id, True), None)
    assert view["display_name"] == "Bob"
    snap, parts, warm = room_state._page_reads(room_id, bob)
    assert not warm and len(counted) == 2  # the snapshot and every part of the page: one more transaction
    assert snap.room_id == room_id and snap.members is None
    assert len(parts) == len(room_state.PAGE_PARTS) >= 6
    with app_db.session_scope(engine) as db:  # the entry was committed
        assert rooms.is_member(db, room_id, bob)


def test_nobody_logged_in_runs_nothing(engine, counted):
    room_id, _, _ = _world(engine)
    counted.clear()
    assert caller_then("not-a-login", True, room_state._enter, str(room_id)) == (None, None, None, None)
    assert counted == [1]


def test_a_refused_entry_rolls_back_and_says_why(engine, counted):
    with app_db.session_scope(engine) as db:
        host, eve = make_user(db, "Host").id, make_user(db, "Eve").id
        private = make_room(db, host, private=True).id
        token = accounts.start_session(db, user_id=eve)
    uid, _, result, err = caller_then(token, False, room_state._enter, private)
    assert uid == eve and result is REFUSED and isinstance(err, ServiceError)
    assert "private" in err.message
    with app_db.session_scope(engine) as db:
        assert db.exec(select(RoomMember).where(RoomMember.user_id == eve)).first() is None


@pytest.mark.skipif(bool(postgres.missing_reason()), reason=postgres.missing_reason() or "-")
@pytest.mark.xdist_group("postgres-become-user")
def test_become_user_drops_the_transaction_to_the_user_on_postgres(monkeypatch):
    cluster, engine = postgres.migrated_cluster()
    try:
        monkeypatch.setattr(app_db, "get_engine", lambda: engine)
        with app_db.system_scope("seeding", engine) as db:
            ada, bob = make_user(db, "Ada").id, make_user(db, "Bob").id
            db.add(Task(user_id=ada, text="Ada's"))
            db.add(Task(user_id=bob, text="Bob's"))
            room_id = make_room(db, ada).id
            token = accounts.start_session(db, user_id=ada)

        def seen(db, uid):
            before = {t.text for t in db.exec(select(Task)).all()}  # unfiltered: RLS decides
            # An elevated step inside (entering looks the room up as the system) comes back
            # to the user, not to the system the transaction began as.
            entry = rooms.enter_room(db, room_id=room_id, user_id=uid)
            after = {t.text for t in db.exec(select(Task)).all()}
            return before, entry, after

        uid, _, (before, entry, after), err = caller_then(token, False, seen)
        assert (uid, err) == (ada, None)
        assert before == after == {"Ada's"}
        assert entry.room_id == room_id
        # The context the job ran in is back to what it was: nothing leaks to the next job.
        assert app_db.current_actor() is None
    finally:
        engine.dispose()
        cluster.stop()
