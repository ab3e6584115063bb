"""A public room's entry on SQLite: the checks beside the writers, then the new stint alone
under the write lock.

SQLite has one writer at a time, and a room page load starts with an entry. In a join storm
of 200 tabs the entries (``membership.enter`` in the caller's one transaction: the login
lookup, the user row, the room, the open stint, the insert) held the write lock ~4 ms each on
average — mostly waiting for the GIL that the event loop held, serving the other tabs — and
the last tab's entry, and with it the member list everyone waits for, came ~0.3 s after the
last tab's load had started.

Here the same rules run in two steps. ``check`` reads in the page load's read-only
transaction (no write lock): the room is open, public, and whether the user is present
already (a reload: nothing to write at all). ``open_stint`` then writes, on a pooled driver
connection (``services.driver_sql``, as ``services.chat_hot``): ``BEGIN IMMEDIATE``, ONE
insert that re-checks in the same statement everything the entry depends on — the login is
still valid, the room is still open and public, the user has no open stint — then the
host if the room has none, ``COMMIT``: three statements under the lock. What the write finds
is what decides, so the outcome is the one transaction's of ``membership.enter``; where the
insert inserts nothing (a logout, a closing or a second tab in between) or the room is
private (its access rules read more rows), the caller runs the regular entry, which decides
and says why (``state.room_entry``).

Only SQLite (``handles``); PostgreSQL (row-level security, several workers) keeps the regular
path. ``tests/unit/test_entry_hot.py`` compares both paths.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, bindparam, exists, insert, literal, not_, select, update
from sqlmodel import Session

from sessions_app.db import sqlite_write_turn
from sessions_app.models import AuthSession, Room, RoomMember, utcnow
from sessions_app.services.driver_sql import Statement
from sessions_app.services.rooms.membership import get_open_room, open_stint
from sessions_app.services.tokens import hash_token

_STINT, _ROOM, _LOGIN = RoomMember.__table__, Room.__table__, AuthSession.__table__


def handles(engine: Engine) -> bool:
    """Whether entries on ``engine`` may take this path."""
    return engine.dialect.name == "sqlite"


@dataclass(frozen=True)
class Checked:
    """What the read found: the room, and whether the user is present in it already."""

    room_id: int
    present: bool


def check(db: Session, *, room_id: object, user_id: int) -> Checked | None:
    """``membership.enter``'s checks for a public room, read only: refuses a closed or unknown
    room as it does (``ServiceError``). None for a private room (the regular entry decides)."""
    room = get_open_room(db, room_id)
    if room.is_private:
        return None
    return Checked(room.id, open_stint(db, room.id, user_id) is not None)


# One statement: the stint, only while the login is valid, the room open and public, and the
# user not present (the conditions ``membership.enter`` checks for a public room).
_INSERT = insert(_STINT).from_select(
    ["room_id", "user_id", "joined_at"],
    select(bindparam("room_id", type_=_STINT.c.room_id.type), bindparam("user_id", type_=_STINT.c.user_id.type),
           bindparam("joined_at", type_=_STINT.c.joined_at.type)).where(
        exists().where(_LOGIN.c.token_hash == bindparam("token_hash"),
                       _LOGIN.c.user_id == bindparam("user_id"),
                       _LOGIN.c.expires_at > bindparam("now", type_=_LOGIN.c.expires_at.type)),
        exists().where(_ROOM.c.id == bindparam("room_id"), _ROOM.c.is_open == literal(True),
                       _ROOM.c.is_private == literal(False)),
        not_(exists().where(and_(_STINT.c.room_id == bindparam("room_id"), _STINT.c.user_id == bindparam("user_id"),
                                 _STINT.c.left_at.is_(None))))))
# The first one present hosts a room that has no host (as ``membership.enter``).
_HOST = (update(_ROOM).where(_ROOM.c.id == bindparam("room_id"), _ROOM.c.host_id.is_(None))
         .values(host_id=bindparam("user_id")))


@functools.lru_cache(maxsize=4)
def _statements(dialect) -> tuple[Statement, Statement]:
    return Statement(_INSERT, dialect), Statement(_HOST, dialect)


def open_new_stint(engine: Engine, *, token: str, room_id: int, user_id: int, now: datetime | None = None) -> bool:
    """Write the entry ``check`` allowed: whether the stint was opened (False: nothing was
    written — the login, the room or the user's presence changed since the read)."""
    insert_stint, host = _statements(engine.dialect)
    now = now or utcnow()
    params = {"room_id": room_id, "user_id": user_id, "token_hash": hash_token(token), "joined_at": now, "now": now}
    conn = engine.raw_connection()  # pooled; the engine's connect-time pragmas apply
    try:
        cur = conn.cursor()
        with sqlite_write_turn(engine, conn.dbapi_connection):
            cur.execute("BEGIN IMMEDIATE")
            try:
                opened = cur.execute(insert_stint.sql, insert_stint.args(params)).rowcount == 1
                if opened:
                    cur.execute(host.sql, host.args(params))
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT" if opened else "ROLLBACK")
        return opened
    finally:
        conn.close()  # back to the pool
