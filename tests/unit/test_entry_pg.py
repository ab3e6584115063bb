"""A room entry on PostgreSQL's road (``state.room_entry``, ``services.rooms.entry_pg``): the
login lookup (locking the user's row) and the insert, each batch one round trip in psycopg's
pipeline, the insert under row-level security as the user. Every case must end exactly as the
regular entry (``caller_then(token, True, enter_as_caller, ...)``) ends: the same caller, own
view, entry or refusal, and the same rows.

Runs on a throwaway cluster as the app role (no BYPASSRLS), as production does; skipped (with
the reason) only when PostgreSQL's programs are not installed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import SQLModel, select

import sessions_app.models  # noqa: F401  (every table on the metadata)
from sessions_app import db as app_db
from sessions_app.models import Room, RoomMember, utcnow
from sessions_app.services import accounts, rooms
from sessions_app.services.rooms import entry_pg
from sessions_app.state import room_entry
from sessions_app.state.base import caller_then
from tests.support import entry_roads, postgres
from tests.support.factories import make_user

pytestmark = [
    pytest.mark.skipif(bool(postgres.missing_reason()), reason=postgres.missing_reason() or "-"),
    pytest.mark.xdist_group("postgres-entry"),
]


@pytest.fixture(scope="module")
def cluster_engine() -> Iterator[tuple[postgres.Cluster, sa.Engine]]:
    cluster, engine = postgres.migrated_cluster()
    try:
        yield cluster, engine
    finally:
        engine.dispose()
        cluster.stop()


@pytest.fixture
def engine(cluster_engine, monkeypatch) -> sa.Engine:
    """The app role's engine (row-level security on) as the app's engine, tables emptied."""
    cluster, engine = cluster_engine
    postgres.empty_tables(cluster, SQLModel.metadata)
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    return engine


@pytest.fixture
def begins(engine):
    """The transactions opened through SQLAlchemy (the regular road opens one)."""
    seen: list[int] = []
    listener = lambda conn: seen.append(1)  # noqa: E731
    event.listen(engine, "begin", listener)
    yield seen
    event.remove(engine, "begin", listener)


def _login(engine, name: str) -> tuple[int, str]:
    with app_db.system_scope("seeding the test world", engine) as db:
        uid = make_user(db, name).id
        return uid, accounts.start_session(db, user_id=uid)


def test_the_road_is_taken_on_postgresql(engine):
    assert entry_pg.handles(engine)
    assert room_entry._pg_road(engine)


def test_a_new_entry_takes_the_pipeline_and_gives_the_regular_result(engine, begins):
    room_id, bob, token = entry_roads.world(engine)
    carl, carl_token = _login(engine, "Carl")  # Carl takes the regular road, for comparison
    regular = caller_then(carl_token, True, room_entry.enter_as_caller, str(room_id))
    assert regular[2] == rooms.Entry(room_id, True)
    begins.clear()
    uid, view, entry, err = room_entry.enter_by_login(token, str(room_id))
    assert (uid, entry, err) == (bob, rooms.Entry(room_id, True), None)
    assert view == {**regular[1], "user_id": bob, "display_name": "Bob"}
    assert begins == []  # no SQLAlchemy transaction: the driver's pipeline did it all
    assert entry_roads.stints(engine, room_id, bob) == 1


def test_a_reload_writes_nothing(engine, begins, monkeypatch):
    room_id, bob, token = entry_roads.world(engine)
    room_entry.enter_by_login(token, room_id)
    insert = entry_pg._statements(engine.dialect)["insert"]
    monkeypatch.setattr(insert, "sql", "SELECT 1/0")  # any write attempt would fail loudly
    assert room_entry.enter_by_login(token, room_id)[2] == rooms.Entry(room_id, False)
    assert entry_roads.stints(engine, room_id, bob) == 1


def test_a_room_without_host_is_left_to_the_regular_way(engine):
    """Its first member becomes host: an update the pipeline does not make (the regular entry
    does, with the access rules' view of the room). Nothing is written on the way there."""
    room_id, bob, token = entry_roads.world(engine, hosted=False)
    entered = entry_pg.enter(engine, token=token, room_id=room_id)
    assert (entered.user.id, entered.room_id, entered.refused) == (bob, 0, None)
    assert entry_roads.stints(engine, room_id, bob) == 0


def test_a_hosted_room_keeps_its_host(engine, begins):
    room_id, bob, token = entry_roads.world(engine)
    room_entry.enter_by_login(token, room_id)
    with app_db.system_scope("reading back", engine) as db:
        assert db.get(Room, room_id).host_id != bob


@pytest.mark.parametrize("what", entry_roads.REFUSALS)
def test_every_refusal_is_the_regular_entrys(engine, begins, what):
    entry_roads.assert_refused_as_the_regular_entry(engine, what)


def test_a_private_room_goes_the_regular_way_and_admits_who_may_enter(engine, begins):
    room_id, bob, token = entry_roads.world(engine, private=True)
    with app_db.system_scope("Bob came in by the code once, then left", engine) as db:
        db.add(RoomMember(room_id=room_id, user_id=bob, joined_at=utcnow(), left_at=utcnow()))
    assert room_entry.enter_by_login(token, room_id)[2] == rooms.Entry(room_id, True)
    assert entry_roads.stints(engine, room_id, bob) == 1


def test_one_users_tabs_entering_at_once_open_one_stint(engine):
    """The lookup locks the user's row: the second tab's insert sees the first one's stint
    (a statement of its own, after the lock) and inserts nothing; the regular road then says
    "present". Exactly one of the tabs started the stint."""
    room_id, bob, token = entry_roads.world(engine)
    start, results = threading.Barrier(4), []

    def tab() -> None:
        start.wait()
        results.append(room_entry.enter_by_login(token, room_id)[2])

    tabs = [threading.Thread(target=tab) for _ in range(4)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join(30)
    assert sorted(e.is_new for e in results) == [False, False, False, True]
    assert entry_roads.stints(engine, room_id, bob) == 1


def test_the_insert_runs_as_the_user_under_row_level_security(engine, monkeypatch):
    """The second batch states the caller as the transaction's actor: a stint written for
    anyone else (here: the actor is Eve while the row is Bob's) is refused by the database."""
    room_id, bob, token = entry_roads.world(engine)
    eve, _ = _login(engine, "Eve")
    monkeypatch.setattr(entry_pg, "_AS_USER", entry_pg._AS_USER.replace("%(user_id)s", f"'{eve}'"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        entry_pg.enter(engine, token=token, room_id=room_id)
    assert entry_roads.stints(engine, room_id, bob) == 0
    with app_db.system_scope("reading back", engine) as db:  # the pooled connection is clean again
        assert db.exec(select(sa.func.current_setting("app.user_id", True))).one() in ("", None)


def test_a_new_entry_is_two_round_trips_and_a_reload_one(engine, monkeypatch, tmp_path):
    """libpq's protocol trace: each time the client's messages are followed by the server's
    is one round trip. A new stint: the lookup's batch and the insert's with COMMIT;
    a reload: the lookup and the rollback's ROLLBACK. (The pool's ping at checkout comes
    before the trace starts, as before any transaction.) The regular road needs about a dozen."""
    room_id, bob, token = entry_roads.world(engine)
    trace, traced = tmp_path / "trace.txt", []
    checkout = engine.raw_connection

    def raw_connection():
        conn = checkout()
        pgconn = conn.dbapi_connection.pgconn
        pgconn.trace(fd.fileno())
        pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        traced.append(pgconn)
        return conn

    def waits() -> int:
        for pgconn in traced:
            pgconn.untrace()
        traced.clear()
        fd.flush()
        sides = [ln.split("\t", 1)[0] for ln in trace.read_text().splitlines()]
        trace.write_text("")
        fd.seek(0)
        # A round trip: what the client sent, then the server's answer.
        return sum(1 for sent, got in zip(sides, sides[1:], strict=False) if (sent, got) == ("F", "B"))

    monkeypatch.setattr(engine, "raw_connection", raw_connection)
    with trace.open("w") as fd:
        assert entry_pg.enter(engine, token=token, room_id=room_id).is_new
        assert waits() == 2
        assert not entry_pg.enter(engine, token=token, room_id=room_id).is_new
        assert waits() == 2  # the lookup, then ROLLBACK (a reload writes nothing)
        carl, carl_token = _login(engine, "Carl")
        waits()
        assert caller_then(carl_token, True, room_entry.enter_as_caller, room_id)[2].is_new
        regular = waits()
    assert regular >= 10, regular
    monkeypatch.setattr(engine, "raw_connection", checkout)
    assert entry_roads.stints(engine, room_id, bob) == 1
