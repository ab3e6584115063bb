"""A room or lobby chat post by a login token, straight on SQLite's driver: the app's
hottest write, in its embedded (one-worker) setup.

Measured (docs/architecture.md "Real time"): posts come seconds apart, so each runs with
cold CPU caches, and then SQLAlchemy's machinery around the five statements (ORM session,
connection and transaction events, parameter and result processing) cost about 1.3 ms of
CPU a post against 0.5 ms for the same statements on the driver. Here the same work runs on
a pooled DBAPI connection of the app's engine (its connect-time pragmas applied), with the
SQL compiled ONCE from the Core statements the regular path executes (``callers``,
``chat``, ``chat_log``: one definition of every statement) and the same rule steps
(``chat.check_room_post``, ``chat.accept_body``, ``chat.posted``): one write transaction
(``BEGIN IMMEDIATE``, as the engine's own), the login rule of ``callers.for_token``, the
post, its sequence number and change-log entry, then ``COMMIT``.

Only SQLite, and only room and lobby posts (a session chat's rules read the session through
the ORM): ``handles`` says when. PostgreSQL (several workers, row-level security stating the
actor in each transaction) always takes the regular path. ``tests/unit/test_chat_hot.py``
runs both paths on the same data and compares.
"""

from __future__ import annotations

import collections
import functools
from datetime import datetime

from sqlalchemy import Engine, and_, bindparam, select

from sessions_app.db import sqlite_write_turn
from sessions_app.models import AuthSession, Room, RoomMember, User, utcnow
from sessions_app.services import callers, chat, chat_log
from sessions_app.services.driver_sql import Statement as _Statement
from sessions_app.services.errors import ServiceError
from sessions_app.services.tokens import hash_token

# ``chat._POSTER_ROOM``'s row, read by name as the rule reads a Core row.
_PosterRoom = collections.namedtuple("_PosterRoom", ["is_open", "phase", "focus_chat_open"])

_LOGIN, _USER, _ROOM, _MEMBER = callers._LOGIN, callers._USER, chat._ROOM, chat._MEMBER
# ``callers._BY_TOKEN``'s login rule (the token's user, an unexpired login: ``callers.for_token``
# compares ``expires_at`` with the time in Python, here SQLite compares the stored text with
# the time written the same way), and for a room post ``chat._POSTER_ROOM``'s row — the room
# of the poster's open stint, NULLs when there is none — in the same statement: one trip to
# the driver instead of two, and no date parsed per post. ``test_chat_hot`` compares both
# paths, expired and revoked logins and absent members included.
_LOGIN_ONLY = (select(*callers._COLUMNS)
               .join_from(AuthSession.__table__, User.__table__, _USER.id == _LOGIN.user_id)
               .where(_LOGIN.token_hash == bindparam("token_hash"), _LOGIN.expires_at > bindparam("now")))
_LOGIN_IN_ROOM = (select(*callers._COLUMNS, _ROOM.id, _ROOM.is_open, _ROOM.phase, _ROOM.focus_chat_open)
                  .join_from(AuthSession.__table__, User.__table__, _USER.id == _LOGIN.user_id)
                  .outerjoin(RoomMember.__table__, and_(_MEMBER.user_id == _USER.id,
                                                        _MEMBER.room_id == bindparam("room_id"),
                                                        _MEMBER.left_at.is_(None)))
                  .outerjoin(Room.__table__, _ROOM.id == _MEMBER.room_id)
                  .where(_LOGIN.token_hash == bindparam("token_hash"), _LOGIN.expires_at > bindparam("now"))
                  .limit(1))


@functools.lru_cache(maxsize=1024)
def _token_hash(token: str) -> str:
    """``hash_token``, remembered: a tab posts with the same login cookie every time, and
    hashing it again cost more of a (cold) post than its lookup. Only the hash is looked up:
    a login revoked or expired since is refused by the login statement, as before."""
    return hash_token(token)


def handles(engine: Engine, channel: str) -> bool:
    """Whether ``post`` may serve a post to ``channel`` on ``engine``."""
    return engine.dialect.name == "sqlite" and (channel == chat.LOBBY or chat._room_id_of(channel) is not None)


@functools.lru_cache(maxsize=4)
def _statements(dialect) -> dict[str, _Statement]:
    return {
        "login": _Statement(_LOGIN_ONLY, dialect),
        "login in room": _Statement(_LOGIN_IN_ROOM, dialect),
        "message": _Statement(chat._INSERT_MESSAGE, dialect, ["channel", "user_id", "body", "created_at"]),
        "bump": _Statement(chat_log._BUMP[False], dialect),
        "log": _Statement(chat_log._LOG, dialect, ["channel", "seq", "message_id", "deleted", "created_at"]),
    }


def post(engine: Engine, *, token: object, channel: str, body: object, now: datetime | None = None,
         conn=None) -> tuple[int | None, chat.ChatChange | None, ServiceError | None]:
    """``chat.post`` for the holder of the login ``token``, in one transaction. Returns
    (user id, the change, None); (user id, None, the refusal) — nothing stored; or
    (None, None, None) when the token is no login (``callers.for_token``'s rule).

    ``conn``: a pooled DB-API connection of ``engine`` the caller holds between posts (the
    chat lane's, ``state.lane.HeldConnection``), left open; none: one is checked out of the
    pool for this post and given back."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None, None, None
    if conn is not None:
        return _transaction(engine, conn, token, channel, body, now)
    conn = engine.raw_connection()  # pooled; the engine's connect-time pragmas apply
    try:
        return _transaction(engine, conn, token, channel, body, now)
    finally:
        conn.close()  # back to the pool


def _transaction(engine: Engine, conn, token: str, channel: str, body: object,
                 now: datetime | None) -> tuple[int | None, chat.ChatChange | None, ServiceError | None]:
    """The post's one write transaction on ``conn`` (BEGIN IMMEDIATE … COMMIT or ROLLBACK)."""
    cur = conn.cursor()
    # This process's writers take turns (``db.sqlite_write_turn``), not SQLite's sleeping
    # busy wait; then the write lock up front, as the engine's begin hook takes it.
    with sqlite_write_turn(engine, conn.dbapi_connection):
        cur.execute("BEGIN IMMEDIATE")
        try:
            uid, change, refused = _post(cur, engine.dialect, token, channel, body, now)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT" if change is not None else "ROLLBACK")
    return uid, change, refused


def _post(cur, dialect, token: str, channel: str, body: object,
          now: datetime | None) -> tuple[int | None, chat.ChatChange | None, ServiceError | None]:
    sql = _statements(dialect)
    current = utcnow()
    params = {"token_hash": _token_hash(token), "now": current}
    if (room_id := chat._room_id_of(channel)) is not None:
        params["room_id"] = room_id
    login = sql["login" if room_id is None else "login in room"]
    row = cur.execute(login.sql, login.args(params)).fetchone()
    if row is None:
        return None, None, None
    author = callers.Caller(*row[:6])
    try:
        if room_id is not None:
            chat.check_room_post(_PosterRoom(*row[7:10]) if row[6] is not None else None)
        text = chat.accept_body(author.id, body)
    except ServiceError as err:
        return author.id, None, err
    created_at = now or current
    message = sql["message"]
    message_id = cur.execute(message.sql, message.args({"channel": channel, "user_id": author.id, "body": text,
                                                        "created_at": created_at})).fetchone()[0]
    bump, log = sql["bump"], sql["log"]
    seq = int(cur.execute(bump.sql, bump.args({"channel": channel})).fetchone()[0])
    cur.execute(log.sql, log.args({"channel": channel, "seq": seq, "message_id": message_id, "deleted": False,
                                   "created_at": created_at}))
    change = chat.ChatChange(seq=seq, channel=channel, message=chat.posted(message_id, channel, author, text, created_at))
    return author.id, change, None
