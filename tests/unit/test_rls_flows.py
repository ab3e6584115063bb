"""The product's flows under PostgreSQL's row-level security, each step as its user.

``test_rls.py`` shows the database refuses what a user may not do; these tests show it still
allows everything the product lets users do, through the real services, each transaction
stated as the acting user (as the handlers do) — including the steps that legitimately
write other users' rows (``db.elevated``): a host's timer action crediting every member
present, the last member closing the room, a leaver moving the waitlist up, a participant
opening a session's live room, joining a private room by its code, deleting an account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlmodel import Session, SQLModel, select

from sessions_app.db import as_user, session_scope
from sessions_app.models import FocusCredit, Room, SessionParticipant, StudySession, Task, User
from sessions_app.services import account_data, chat, rooms, scheduled, tasks
from tests.support import postgres
from tests.support.factories import NOW, session_form

pytestmark = [
    pytest.mark.skipif(bool(postgres.missing_reason()), reason=postgres.missing_reason() or "-"),
    pytest.mark.xdist_group("postgres-rls"),
]


@pytest.fixture(scope="module")
def pg():
    cluster, engine = postgres.migrated_cluster()
    yield cluster, engine
    engine.dispose()
    cluster.stop()


@pytest.fixture
def engine(pg):
    cluster, engine = pg
    postgres.empty_tables(cluster, SQLModel.metadata)
    return engine


@contextmanager
def tx(engine, user_id: int | None) -> Iterator[Session]:
    """One committed transaction for ``user_id`` (what a handler does after its login lookup)."""
    with as_user(user_id), session_scope(engine) as db:
        yield db


def _users(engine, *names: str) -> list[int]:
    """Sign-up is a pre-login flow: the system writes the rows."""
    from sessions_app.db import as_system

    with as_system("sign-up"), session_scope(engine) as db:
        rows = [User(display_name=n, email=f"{n.lower()}@example.com") for n in names]
        db.add_all(rows)
        db.flush()
        return [r.id for r in rows]


def test_a_room_from_creation_to_closing(engine):
    ada, bea = _users(engine, "Ada", "Bea")
    with tx(engine, ada) as db:
        room = rooms.create_room(db, host_id=ada, name="Algebra", discipline="Mathematics", is_private=False, now=NOW)
        rid = room.id
    with tx(engine, bea) as db:
        rooms.enter(db, room_id=rid, user_id=bea, now=NOW)
        chat.post_message(db, channel=chat.room_channel(rid), user_id=bea, body="hi")
        tasks.create_room_task(db, room_id=rid, user_id=bea, text="chapter 5")
    with tx(engine, ada) as db:
        assert [m.body for m in chat.recent(db, chat.room_channel(rid), user_id=ada)] == ["hi"]
        assert [t.text for t in tasks.room_tasks(db, room_id=rid, user_id=ada)] == ["chapter 5"]
        rooms.control_timer(db, room_id=rid, user_id=ada, action="start", now=NOW)
    # The host pauses after the focus block ended: the block is credited to both members,
    # Bea's credit and EXP written in Ada's transaction.
    with tx(engine, ada) as db:
        rooms.control_timer(db, room_id=rid, user_id=ada, action="pause", now=NOW + timedelta(minutes=26))
    with tx(engine, bea) as db:
        assert len(db.exec(select(FocusCredit)).all()) == 1  # her own, and only hers
        assert db.get(User, bea).exp_total > 0
    with tx(engine, bea) as db:
        rooms.leave(db, room_id=rid, user_id=bea, now=NOW + timedelta(minutes=30))
    with tx(engine, ada) as db:
        result = rooms.leave(db, room_id=rid, user_id=ada, now=NOW + timedelta(minutes=31))
        assert result.closed
    with tx(engine, None) as db:
        assert db.get(Room, rid).is_open is False
    with tx(engine, bea) as db:
        assert db.exec(select(Task)).all() == []  # the closing cleared Bea's room task


def test_joining_a_private_room_by_its_code(engine):
    ada, bea = _users(engine, "Ada", "Bea")
    with tx(engine, ada) as db:
        room = rooms.create_room(db, host_id=ada, name="Secret", discipline="Mathematics", is_private=True)
        rid, code = room.id, room.code
    with tx(engine, bea) as db:
        assert db.get(Room, rid) is None  # invisible until she is in
    with tx(engine, bea) as db:
        assert rooms.join_by_code(db, user_id=bea, code=code, client="test", rate_limit="100/minute").id == rid
    with tx(engine, bea) as db:
        assert db.get(Room, rid) is not None
        assert {m.user_id for m in rooms.members(db, rid)} == {ada, bea}


def test_a_session_waitlist_live_room_and_account_deletion(engine):
    ada, bea, cem = _users(engine, "Ada", "Bea", "Cem")
    with tx(engine, ada) as db:
        sid = scheduled.create_session(db, creator_id=ada, now=NOW, **session_form(capacity="1")).id
    with tx(engine, bea) as db:
        assert scheduled.join_session(db, session_id=sid, user_id=bea, now=NOW).waitlisted is False
    with tx(engine, cem) as db:
        assert scheduled.join_session(db, session_id=sid, user_id=cem, now=NOW).waitlisted is True
    with tx(engine, bea) as db:
        assert scheduled.leave_session(db, session_id=sid, user_id=bea, now=NOW) == [cem]  # Cem moves up
    with tx(engine, None) as db:
        row = db.exec(select(SessionParticipant).where(SessionParticipant.user_id == cem)).one()
        assert row.waitlisted is False
        starts = db.get(StudySession, sid).starts_at
    # Cem (not the creator) opens the session's live room at its start.
    with tx(engine, cem) as db:
        live = scheduled.open_live_room(db, session_id=sid, user_id=cem, now=starts + timedelta(minutes=1))
        assert live.created
    with tx(engine, None) as db:
        assert db.get(StudySession, sid).room_id == live.room_id
    with tx(engine, cem) as db:
        assert db.get(Room, live.room_id) is not None  # hers to enter through the session
        rooms.enter(db, room_id=live.room_id, user_id=cem, now=starts + timedelta(minutes=1))
    # Ada deletes her account: her session goes, Cem's sign-up to it with it.
    with tx(engine, ada) as db:
        account_data.delete_account(db, user_id=ada, now=NOW)
    with tx(engine, cem) as db:
        assert db.exec(select(SessionParticipant)).all() == []
        assert db.get(StudySession, sid) is None


def test_the_lobby_shows_public_rooms_to_everyone(engine):
    ada, bea = _users(engine, "Ada", "Bea")
    with tx(engine, ada) as db:
        rooms.create_room(db, host_id=ada, name="Open", discipline="Mathematics", is_private=False)
        rooms.create_room(db, host_id=ada, name="Closed door", discipline="Mathematics", is_private=True)
    with tx(engine, bea) as db:
        cards = rooms.lobby_rooms(db)
    assert [(c.name, c.count) for c in cards] == [("Open", 1)]
