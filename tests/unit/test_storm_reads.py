"""What a room page load reads, and how writers take turns, in a join storm.

- A read-only transaction (``db.read_scope``) reads each row once: the identity map holds
  rows weakly, so the caller's user row used to be fetched by every service that looked it
  up (4 times per room page read); it also reads the caller's stint once.
- Where this worker found the room's stores filled (``state.room._WARM_ROOMS``), a load
  reads only the user's own parts: no room row, no room tasks, no reaction counts — and what
  it does read for the user equals a full read.
- SQLite writers of one process take turns on a lock handed over at commit or rollback,
  never left held (a failed transaction, an exception).
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, text

from sessions_app import db as app_db
from sessions_app.services import chat, reactions, rooms, tasks
from sessions_app.state import room as room_state
from sessions_app.state import room_page  # noqa: F401 - registers the page's parts
from tests.support.factories import make_room, make_user


@pytest.fixture
def statements(monkeypatch, engine):
    """The app's engine is the test's; the list collects every SQL statement run on it."""
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    seen: list[str] = []
    listener = lambda conn, cur, stmt, params, ctx, many: seen.append(stmt)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    room_state._WARM_ROOMS.clear()
    yield seen
    event.remove(engine, "before_cursor_execute", listener)
    room_state._WARM_ROOMS.clear()


def _room_with_things(engine) -> tuple[int, int]:
    """A room with a member (Bob), a chat message Bob reacted to, a room task, an own task."""
    with app_db.session_scope(engine) as db:
        host, bob = make_user(db, "Host").id, make_user(db, "Bob").id
        room_id = make_room(db, host).id
        rooms.enter(db, room_id=room_id, user_id=bob)
        msg = chat.post_message(db, channel=chat.room_channel(room_id), user_id=host, body="hello")
        reactions.toggle(db, message_id=msg.id, user_id=bob, key=next(iter(reactions.EMOJI)),
                         channel=chat.room_channel(room_id))
        tasks.create_room_task(db, room_id=room_id, user_id=host, text="chapter 3")
        tasks.create_personal(db, user_id=bob, text="flashcards")
    return room_id, bob


def _count(seen: list[str], table: str) -> int:
    return sum(1 for s in seen if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s.split("WHERE")[0])


def test_a_read_only_transaction_reads_the_users_row_and_stint_once(engine, statements):
    room_id, bob = _room_with_things(engine)
    statements.clear()
    with app_db.as_user(bob):
        room_state._page_reads(room_id, bob)
    assert _count(statements, "users") == 1
    assert _count(statements, "room_members") == 1


def test_a_write_transaction_still_sees_its_own_changes_to_a_stint(engine, statements):
    room_id, bob = _room_with_things(engine)
    with app_db.session_scope(engine) as db:
        assert rooms.is_member(db, room_id, bob)
        rooms.leave(db, room_id=room_id, user_id=bob)
        assert not rooms.is_member(db, room_id, bob)  # no memo outside a read-only transaction


def test_a_warm_room_reads_only_the_users_own_parts_and_they_equal_a_full_read(engine, statements):
    room_id, bob = _room_with_things(engine)
    statements.clear()
    with app_db.as_user(bob):
        snap, full, warm = room_state._page_reads(room_id, bob)
    cold_statements = len(statements)
    assert not warm and snap is not None and snap.room_id == room_id

    room_state._note_warm(room_id, True)
    statements.clear()
    with app_db.as_user(bob):
        snap, own, warm = room_state._page_reads(room_id, bob)
    assert warm and snap is None
    assert _count(statements, "rooms") == 0  # the store has the room
    assert not any("FROM tasks JOIN users" in s for s in statements)  # nor the room's tasks
    assert len(statements) < cold_statements

    board, goals, quiet = own[:3]
    assert board[:2] == full[0][:2] and board[2] is None  # same tail and sequence number
    assert goals == full[1]
    assert quiet[2] == full[2][2] and len(quiet[2]) == 1  # Bob's own reaction
    assert quiet[:2] == (None, None)
    assert own[3:] == full[3:]  # own tasks, mix, level

    # Asked for a cold read (the hint was stale under the lock): everything again.
    with app_db.as_user(bob):
        snap, again, warm = room_state._page_reads(room_id, bob, True)
    assert not warm and snap is not None and again == full


def test_the_warm_hint_is_bounded_and_forgotten_when_a_store_was_found_empty():
    room_state._WARM_ROOMS.clear()
    for room_id in range(room_state._WARM_KEEP + 5):
        room_state._note_warm(room_id, True)
    assert len(room_state._WARM_ROOMS) == room_state._WARM_KEEP and 0 not in room_state._WARM_ROOMS
    room_state._note_warm(10, False)
    assert 10 not in room_state._WARM_ROOMS
    room_state._WARM_ROOMS.clear()


def test_sqlite_writers_take_turns_and_the_turn_is_always_handed_on(tmp_path):
    engine = app_db.make_engine(f"sqlite:///{tmp_path}/turns.db")
    turn = app_db._WRITER_TURNS[engine]
    with app_db.session_scope(engine) as db:
        db.execute(text("CREATE TABLE t (x INTEGER)"))
    assert not turn.locked()

    def writer() -> None:
        for _ in range(25):
            with app_db.session_scope(engine) as db:
                db.execute(text("INSERT INTO t VALUES (1)"))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with pytest.raises(ValueError), app_db.session_scope(engine) as db:
        db.execute(text("INSERT INTO t VALUES (2)"))
        assert turn.locked()  # held while the transaction is open
        raise ValueError("the handler failed")
    assert not turn.locked()
    with app_db.read_scope(engine) as db:
        assert db.execute(text("SELECT count(*) FROM t")).scalar() == 100
        assert not turn.locked()  # a read never takes the turn
    engine.dispose()
