"""What a room entry's driver road (SQLite's ``services.rooms.entry_hot``, PostgreSQL's
``services.rooms.entry_pg``) is held to: the regular entry's answers. The test world and
the refusal cases both roads' unit tests share."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import select

from sessions_app import db as app_db
from sessions_app.models import AuthSession, Room, RoomMember, utcnow
from sessions_app.services import accounts, rooms
from sessions_app.state import room_entry
from sessions_app.state.base import REFUSED, caller_then
from tests.support.factories import make_room, make_user

REFUSALS = ["closed", "unknown", "not a number", "private without access", "not logged in", "expired login"]


def world(engine: Engine, *, private: bool = False, hosted: bool = True) -> tuple[int, int, str]:
    """A room (hosted by its creator, or a bare one without host) and Bob's login."""
    with app_db.system_scope("seeding the test world", engine) as db:
        host, bob = make_user(db, "Host").id, make_user(db, "Bob").id
        room_id = make_room(db, host if hosted else None, private=private).id
        token = accounts.start_session(db, user_id=bob)
    return room_id, bob, token


def stints(engine: Engine, room_id: int, user_id: int) -> int:
    """How many open stints ``user_id`` has in ``room_id``."""
    with app_db.system_scope("reading the test world", engine) as db:
        return len(db.exec(select(RoomMember).where(RoomMember.room_id == room_id, RoomMember.user_id == user_id,
                                                    RoomMember.left_at.is_(None))).all())


def assert_refused_as_the_regular_entry(engine: Engine, what: str) -> None:
    """Case ``what`` of ``REFUSALS``: the road refuses as the regular entry does, and writes
    nothing."""
    room_id, bob, token = world(engine, private=what == "private without access")
    requested: object = room_id
    with app_db.system_scope("changing the test world", engine) as db:
        if what == "closed":
            rooms.close_room(db, room=db.get(Room, room_id))
        elif what == "expired login":
            for login in db.exec(select(AuthSession).where(AuthSession.user_id == bob)).all():
                login.expires_at = utcnow() - timedelta(seconds=1)
                db.add(login)
    if what == "unknown":
        requested = room_id + 1000
    elif what == "not a number":
        requested = "1; DROP TABLE rooms"
    elif what == "not logged in":
        token = "not-a-login"
    expected = caller_then(token, True, room_entry.enter_as_caller, requested)
    got = room_entry.enter_by_login(token, requested)
    assert got[:3] == expected[:3]
    assert (got[3] and got[3].message) == (expected[3] and expected[3].message)
    assert got[2] is REFUSED or got[0] is None
    assert stints(engine, room_id, bob) == 0
