"""A public room's entry on SQLite: the checks beside the writers, then the new stint alone
under the write lock.

SQLite has one writer at a time, and a room page load starts with an entry. In a join storm
of 200 tabs the entries (``membership.enter`` in the caller's one transaction: the login
lookup, the user row, the room, the open stint, the insert) held the write lock ~4 ms each on
average — mostly waiting for the GIL that the event loop held, serving the other tabs — and
cost ~1 ms of CPU each in SQLAlchemy's machinery, under the one GIL the loop needs for the
other tabs' page loads.

Here the same rules run on a pooled driver connection (``services.driver_sql``, as
``services.chat_hot``: the SQL compiled once from Core statements). The reads go first, each
its own statement beside the writers: the login (``accounts.user_for_token``'s rule, with the
columns of the caller's own view), the room (open? public?), the user's open stint (present
already — a reload — writes nothing). A new stint is then ``BEGIN IMMEDIATE``, ONE insert
that re-checks in the same statement everything the entry depends on — the login is still
valid, the room still open and public, no open stint — the host if the room has none,
``COMMIT``. What the write finds is what decides, so the outcome is the one transaction's of
``membership.enter``. Where the insert inserts nothing (a logout, a closing or a second tab
in between) or the room is private (its access rules read more rows), the regular entry
decides and says why (``state.room_entry``).

Only SQLite (``handles``); PostgreSQL (row-level security, several workers) keeps the regular
path. ``tests/unit/test_entry_hot.py`` compares both paths.
"""

from __future__ import annotations

import functools
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, and_, bindparam, exists, insert, literal, not_, select, update

from sessions_app.db import sqlite_write_turn
from sessions_app.models import AuthSession, Room, RoomMember, User, utcnow
from sessions_app.services import text
from sessions_app.services.driver_sql import Statement
from sessions_app.services.errors import ServiceError
from sessions_app.services.rooms.membership import CLOSED_ROOM
from sessions_app.services.tokens import hash_token

_STINT, _ROOM, _LOGIN, _USER = RoomMember.__table__, Room.__table__, AuthSession.__table__, User.__table__

# The login's user, with what the own view shows (``accounts.me`` reads these names).
LoginUser = namedtuple("LoginUser", ["id", "display_name", "avatar_url", "email", "timezone", "exp_total"])


def handles(engine: Engine) -> bool:
    """Whether entries on ``engine`` may take this path."""
    return engine.dialect.name == "sqlite"


@dataclass(frozen=True)
class Entered:
    """What the split road settled: the caller, and the room entered (``is_new``: a new
    stint) or the refusal. ``room_id`` 0 and no refusal: the regular entry must decide."""

    user: LoginUser
    room_id: int = 0
    is_new: bool = False
    refused: ServiceError | None = None


# ``accounts.user_for_token``'s rule in one statement (with the columns of the own view).
_BY_LOGIN = (select(_USER.c.id, _USER.c.display_name, _USER.c.avatar_url, _USER.c.email, _USER.c.timezone,
                    _USER.c.exp_total, _LOGIN.c.expires_at)
             .join_from(_LOGIN, _USER, _USER.c.id == _LOGIN.c.user_id)
             .where(_LOGIN.c.token_hash == bindparam("token_hash")))
_ROOM_ROW = select(_ROOM.c.is_open, _ROOM.c.is_private).where(_ROOM.c.id == bindparam("room_id"))
_PRESENT = (select(_STINT.c.id).where(_STINT.c.room_id == bindparam("room_id"),
                                      _STINT.c.user_id == bindparam("user_id"), _STINT.c.left_at.is_(None))
            .limit(1))

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
def _statements(dialect) -> dict[str, Statement]:
    return {"login": Statement(_BY_LOGIN, dialect), "room": Statement(_ROOM_ROW, dialect),
            "present": Statement(_PRESENT, dialect), "insert": Statement(_INSERT, dialect),
            "host": Statement(_HOST, dialect)}


@functools.lru_cache(maxsize=4)
def _expires_reader(dialect):
    return _LOGIN.c.expires_at.type.dialect_impl(dialect).result_processor(dialect, None)


def enter(engine: Engine, *, token: object, room_id: object, now: datetime | None = None) -> Entered | None:
    """The entry of the login ``token``'s holder into ``room_id`` (module doc). None: nobody
    is logged in (``accounts.user_for_token``'s rule). ``Entered.room_id`` 0 without a
    refusal: the regular entry decides (a private room, or a change since the read)."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    sql, now = _statements(engine.dialect), now or utcnow()
    params = {"token_hash": hash_token(token), "room_id": text.parse_id(room_id), "joined_at": now, "now": now}
    conn = engine.raw_connection()  # pooled; the engine's connect-time pragmas apply
    try:
        cur = conn.cursor()
        # The reads: each its own statement beside the writers (the write re-checks them).
        row = cur.execute(sql["login"].sql, sql["login"].args(params)).fetchone()
        if row is None or _expires_reader(engine.dialect)(row[6]) <= now:
            return None
        user = LoginUser(*row[:6])
        params["user_id"] = user.id
        room = cur.execute(sql["room"].sql, sql["room"].args(params)).fetchone() if params["room_id"] else None
        if room is None or not room[0]:
            return Entered(user, refused=ServiceError(CLOSED_ROOM))
        if room[1]:
            return Entered(user)  # private: its access rules read more (the regular entry)
        if cur.execute(sql["present"].sql, sql["present"].args(params)).fetchone() is not None:
            return Entered(user, params["room_id"], is_new=False)  # a reload: nothing to write
        with sqlite_write_turn(engine, conn.dbapi_connection):
            cur.execute("BEGIN IMMEDIATE")
            try:
                opened = cur.execute(sql["insert"].sql, sql["insert"].args(params)).rowcount == 1
                if opened:
                    cur.execute(sql["host"].sql, sql["host"].args(params))
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT" if opened else "ROLLBACK")
        return Entered(user, params["room_id"], is_new=True) if opened else Entered(user)
    finally:
        conn.close()  # back to the pool
