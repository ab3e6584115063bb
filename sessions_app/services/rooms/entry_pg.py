"""A public room's entry on PostgreSQL in two round trips (psycopg's pipeline mode).

The regular entry (``state.base.caller_then`` + ``membership.enter``) is one transaction of
about a dozen statements, each its own round trip: the pool's ping, BEGIN, the actor, the
login, the user row, the actor again, the room (elevated: two more), the user row locked, the
open stint, the insert, COMMIT. In a 2-worker join storm of 200 an entry held a pool thread
~27 ms for ~2 ms of work, four threads per worker: the entries alone took ~1 s, and the
member list waits for the last of them.

Here the same rules run on a pooled driver connection with the statements queued in psycopg's
pipeline, so a batch costs one round trip:

1. as the system (the login lookup's actor, as ``caller_then``): the login's user with the
   columns of the own view, locked ``FOR UPDATE`` (one user's tabs entering at once on two
   workers take turns, as in ``membership.enter``), the room (open? private? hosted?) and
   whether the user is present already;
2. only for a new stint, as the user (row-level security checks the insert): ONE insert that
   re-checks the room is open and public and that no stint is open (a fresh snapshot, after
   the lock), then COMMIT.

A reload writes nothing. Whatever this road does not settle — a private room (its access
rules read more rows), a room without a host (its first member becomes host: the regular
entry's update runs with the access rules' view), an insert that inserted nothing — goes the
regular way, which decides and says why (``state.room_entry``). ``tests/unit/test_entry_pg.py``
compares both roads.
"""

from __future__ import annotations

import functools
from datetime import datetime

import psycopg
from sqlalchemy import Engine, and_, bindparam, exists, insert, literal, not_, select

from sessions_app.models import AuthSession, Room, RoomMember, User, utcnow
from sessions_app.services import text
from sessions_app.services.errors import ServiceError
from sessions_app.services.rooms.entry_hot import Entered, LoginUser
from sessions_app.services.rooms.membership import CLOSED_ROOM
from sessions_app.services.tokens import hash_token

_STINT, _ROOM, _LOGIN, _USER = RoomMember.__table__, Room.__table__, AuthSession.__table__, User.__table__

# The transaction's actor, as ``db._state_actor`` states it (local to the transaction).
_AS_SYSTEM = "SELECT set_config('app.user_id', '', true), set_config('app.system', 'on', true)"
_AS_USER = "SELECT set_config('app.user_id', %(user_id)s, true), set_config('app.system', '', true)"

# The login's user (``accounts.user_for_token``'s rule, the own view's columns), locked; the
# room; whether an open stint exists. The room is an outer join: no room still finds the user.
_LOOKUP = (
    select(_USER.c.id, _USER.c.display_name, _USER.c.avatar_url, _USER.c.email, _USER.c.timezone,
           _USER.c.exp_total, _LOGIN.c.expires_at, _ROOM.c.id.label("room"), _ROOM.c.is_open, _ROOM.c.is_private,
           _ROOM.c.host_id,
           exists().where(_STINT.c.room_id == bindparam("room_id"), _STINT.c.user_id == _USER.c.id,
                          _STINT.c.left_at.is_(None)).label("present"))
    .select_from(_LOGIN.join(_USER, _USER.c.id == _LOGIN.c.user_id)
                 .outerjoin(_ROOM, _ROOM.c.id == bindparam("room_id")))
    .where(_LOGIN.c.token_hash == bindparam("token_hash"))
    .with_for_update(of=_USER)
)
# The stint, only while the room is open and public and the user not present (read again: a
# statement of its own sees what committed while the lookup waited for the user's lock).
_INSERT = insert(_STINT).from_select(
    ["room_id", "user_id", "joined_at"],
    select(bindparam("room_id", type_=_STINT.c.room_id.type), bindparam("user_id", type_=_STINT.c.user_id.type),
           bindparam("joined_at", type_=_STINT.c.joined_at.type)).where(
        exists().where(_ROOM.c.id == bindparam("room_id"), _ROOM.c.is_open == literal(True),
                       _ROOM.c.is_private == literal(False)),
        not_(exists().where(and_(_STINT.c.room_id == bindparam("room_id"), _STINT.c.user_id == bindparam("user_id"),
                                 _STINT.c.left_at.is_(None)))))
).returning(_STINT.c.id)


class _Named:
    """A Core statement compiled once for psycopg (named parameters), with its literal
    values and bind processors (``services.driver_sql.Statement`` for named styles)."""

    def __init__(self, stmt, dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql, self.names = compiled.string, set(compiled.bind_names.values())
        self.literals = {k: v for k, v in compiled.params.items() if v is not None}
        self.processors = dict(compiled._bind_processors)

    def args(self, params: dict) -> dict:
        """The named parameters for ``params``, converted for the driver."""
        values = {**self.literals, **{k: v for k, v in params.items() if k in self.names}}
        return {k: (self.processors[k](v) if k in self.processors else v) for k, v in values.items()}


def handles(engine: Engine) -> bool:
    """Whether entries on ``engine`` may take this road (PostgreSQL through psycopg 3, whose
    pipeline mode the server's libpq supports)."""
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg" and psycopg.Pipeline.is_supported()


@functools.lru_cache(maxsize=4)
def _statements(dialect) -> dict[str, _Named]:
    return {"lookup": _Named(_LOOKUP, dialect), "insert": _Named(_INSERT, dialect)}


@functools.lru_cache(maxsize=4)
def _expires_reader(dialect):
    reader = _LOGIN.c.expires_at.type.dialect_impl(dialect).result_processor(dialect, None)
    return reader or (lambda value: value)


_NOBODY = Entered(None)  # (``_settled``: nobody is logged in)


def _settled(row, now: datetime, dialect) -> Entered | None:
    """What the lookup settles without writing: nobody (``_NOBODY``), a refusal, the regular
    road's turn, a reload; None: a new stint is to be inserted."""
    if row is None or _expires_reader(dialect)(row[6]) <= now:
        return _NOBODY
    user = LoginUser(*row[:6])
    room, is_open, is_private, host_id, present = row[7:]
    if room is None or not is_open:
        return Entered(user, refused=ServiceError(CLOSED_ROOM))
    if is_private or host_id is None:
        return Entered(user)  # the regular entry decides (module doc)
    if present:
        return Entered(user, room, is_new=False)  # a reload: nothing to write
    return None


def enter(engine: Engine, *, token: object, room_id: object, now: datetime | None = None) -> Entered | None:
    """The entry of the login ``token``'s holder into ``room_id`` (module doc). None: nobody
    is logged in. ``Entered.room_id`` 0 without a refusal: the regular entry decides."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    sql, now = _statements(engine.dialect), now or utcnow()
    params = {"token_hash": hash_token(token), "room_id": text.parse_id(room_id), "joined_at": now}
    conn = engine.raw_connection()  # pooled (and pinged, as every checkout)
    pg = conn.dbapi_connection
    # psycopg waits for its own BEGIN before a pipeline goes on (one more round trip): the
    # transaction is ours instead — BEGIN, ROLLBACK and COMMIT queued with the statements.
    pg.autocommit = True
    try:
        with pg.cursor() as cur, pg.cursor() as ins:
            with pg.pipeline():  # the first round trip: BEGIN, the actor, the lookup
                cur.execute("BEGIN")
                cur.execute(_AS_SYSTEM)
                cur.execute(sql["lookup"].sql, sql["lookup"].args(params))
            row = cur.fetchone()
            entered = _settled(row, now, engine.dialect)
            if entered is not None:
                cur.execute("ROLLBACK")  # nothing to write (the user's lock goes with it)
                return entered if entered.user is not None else None
            user = LoginUser(*row[:6])
            params["user_id"] = user.id
            with pg.pipeline():  # the second: the actor, the insert, COMMIT
                cur.execute(_AS_USER, {"user_id": str(user.id)})
                ins.execute(sql["insert"].sql, sql["insert"].args(params))
                cur.execute("COMMIT")
            opened = ins.fetchone() is not None
        return Entered(user, row[7], is_new=True) if opened else Entered(user)
    finally:
        try:
            if pg.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                pg.rollback()  # a statement failed: the transaction is given up
            pg.autocommit = False
        except psycopg.Error:
            conn.invalidate()  # a broken connection never goes back to the pool
        conn.close()  # back to the pool (a transaction left open is rolled back there)
