"""The database engine, the session helper and who each transaction runs for.

The app owns its SQLModel engine (rather than Reflex's ``rx.session``) so that services and
their unit tests run without Reflex. SQLite gets foreign keys, WAL and a busy timeout so
concurrent writers wait instead of failing.

On PostgreSQL every transaction states whom it runs for, and row-level security policies
(docs/rls.md) decide which rows it may see and write: a second wall behind the services'
own checks. The "actor" is a context variable, so it follows one event handler, one HTTP
request or one background task (asyncio copies the context into each task):

* ``act_as_user(user_id)`` — the handler pattern: the server-side login lookup states the
  user for the rest of that handler (``state.base.Handler._caller_id``); ``become_user`` does
  it inside the lookup's own transaction (a page load's lookup and first service call);
* ``as_system(why)`` — background jobs (phase ends, sweeper, catch-up, purges) and the
  pre-login flows (sign-up, password login, OAuth, email links, login cookies, calendar
  feeds), which must read rows of a user not known yet;
* nothing stated — anonymous: only public rows;
* ``elevated(db, why)`` — inside a user's transaction, a service step that legitimately
  writes other users' rows (crediting every member at a phase end, closing a room, moving the
  waitlist up, deleting an account), then back to the user.

SQLite has no row-level security: there the actor changes nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from sessions_app.settings import get_settings

# SQLite has one writer at a time. This process's writers queue on a lock, each let in the
# moment the previous one has committed, instead of sleeping in SQLite's busy handler (1, 2,
# 5 … 100 ms a try) while the write lock sits free: in a join storm of 200 the entries'
# transactions took ~13 ms each for ~2 ms of work. After ``_WRITER_PATIENCE`` seconds a writer
# goes on to SQLite's own wait (processes sharing the file still take turns there).
_WRITER_PATIENCE = 30.0
_WRITER_TURNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine → its lock (tests look)
_WRITER_HOOKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine → (wait_turn, done)


def _queue_writers(engine: Engine):
    """Wrap ``engine``'s commit and rollback so they hand the write turn on; returns the
    function a write transaction's BEGIN calls to wait for its turn."""
    turn = threading.Lock()
    holders: set[int] = set()  # ids of the DB-API connections holding the turn
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def done(conn, *_args) -> None:
        key = id(getattr(conn, "dbapi_connection", conn))  # a pooled connection or the raw one
        if key in holders:
            holders.discard(key)
            turn.release()

    def do_commit(dbapi_conn) -> None:
        try:
            commit(dbapi_conn)
        finally:
            done(dbapi_conn)

    def do_rollback(dbapi_conn) -> None:  # also a pooled connection's reset: never left holding
        try:
            rollback(dbapi_conn)
        finally:
            done(dbapi_conn)

    dialect.do_commit, dialect.do_rollback = do_commit, do_rollback
    _WRITER_TURNS[engine] = turn
    for closing in ("close", "invalidate", "soft_invalidate"):  # a connection lost mid-transaction
        event.listen(engine, closing, done)

    def wait_turn(dbapi_conn) -> None:
        if id(dbapi_conn) not in holders and turn.acquire(timeout=_WRITER_PATIENCE):
            holders.add(id(dbapi_conn))

    return wait_turn, done


@contextmanager
def sqlite_write_turn(engine: Engine, dbapi_conn) -> Iterator[None]:
    """Around a write transaction run on the driver itself (``services.chat_hot``: BEGIN
    IMMEDIATE … COMMIT on a raw connection, which the engine's begin hook never sees): take
    this process's SQLite write turn as the engine's own transactions do, and hand it on."""
    hooks = _WRITER_HOOKS.get(engine)
    if hooks is None:  # not a SQLite engine of ``make_engine``
        yield
        return
    wait_turn, done = hooks
    wait_turn(dbapi_conn)
    try:
        yield
    finally:
        done(dbapi_conn)


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the pragmas the app relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # WAL's recommended durability: a commit no longer waits for an fsync (the WAL is
            # synced at checkpoints). Still atomic and crash-safe for the app; a power loss may
            # drop the last commits. Measured: the biggest single cost of a chat post.
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            # Let SQLAlchemy, not the sqlite3 driver, open transactions: otherwise the driver
            # sends no BEGIN before a SAVEPOINT and a savepoint's release commits on its own.
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            # IMMEDIATE: take the write lock up front, so concurrent read-then-write
            # transactions wait on busy_timeout instead of failing on the lock upgrade.
            # A ``read_scope`` only reads: a deferred BEGIN (a WAL reader neither waits for the
            # write lock nor holds it; SQLite's busy wait sleeps, up to 100 ms a try).
            if conn.get_execution_options().get(_READ_ONLY):
                conn.exec_driver_sql("BEGIN")
                return
            dbapi_conn = conn.connection.dbapi_connection
            wait_turn(dbapi_conn)
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                turn_done(dbapi_conn)
                raise

        wait_turn, turn_done = _WRITER_HOOKS[engine] = _queue_writers(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "begin", _state_actor)
    return engine


# --- who a transaction runs for (PostgreSQL row-level security) ----------------------------

SYSTEM = "system"
# An int: that user; SYSTEM: the server itself; None: anonymous (public rows only).
_actor: ContextVar[int | str | None] = ContextVar("db_actor")
# The actor where none was stated (a new thread starts with an empty context): anonymous.
_default_actor: int | str | None = None


def current_actor() -> int | str | None:
    """The user id, ``SYSTEM`` or None (anonymous) that new transactions run for."""
    return _actor.get(_default_actor)


def set_default_actor(actor: str | None) -> None:
    """Where no actor is stated: anonymous (None, the app) or ``SYSTEM`` (only the unit suite
    on PostgreSQL, whose tests call services directly, from threads too)."""
    global _default_actor
    _default_actor = actor


def act_as_user(user_id: int | None) -> None:
    """State the caller for the rest of this handler/task (None: nobody is logged in).

    Called once where a handler resolves its user from the login cookie; the value stays in
    this task's context only (each event, request and background task has its own).
    """
    _actor.set(user_id if isinstance(user_id, int) and user_id > 0 else None)


@contextmanager
def as_user(user_id: int | None) -> Iterator[None]:
    """Run the block's transactions for ``user_id`` (None: anonymous), then restore."""
    token = _actor.set(user_id if isinstance(user_id, int) and user_id > 0 else None)
    try:
        yield
    finally:
        _actor.reset(token)


@contextmanager
def as_system(why: str) -> Iterator[None]:
    """Run the block's transactions as the server itself (every row).

    ``why`` names the job or the pre-login flow, so every use reads as a deliberate choice.
    """
    assert why, "say why this runs as the system"
    token = _actor.set(SYSTEM)
    try:
        yield
    finally:
        _actor.reset(token)


def _actor_settings() -> tuple[str, str]:
    actor = current_actor()
    if actor == SYSTEM:
        return "", "on"
    return ("" if actor is None else str(int(actor))), ""


def _state_actor(conn) -> None:
    """Engine ``begin`` hook: the transaction's first statement states its actor (local to
    the transaction: a pooled connection carries nothing over to the next one)."""
    user_id, system = _actor_settings()
    conn.exec_driver_sql("SELECT set_config('app.user_id', %(u)s, true), set_config('app.system', %(s)s, true)",
                         {"u": user_id, "s": system})


def become_user(db: Session, user_id: int) -> None:
    """Inside a SYSTEM transaction that has just found its user (the login-cookie lookup), run
    the rest of it — and of this context — for that user: the caller's lookup and their first
    service call share one transaction. Only ever lowers the transaction's rights; pending
    changes are flushed first, so they are checked as the system that made them."""
    assert isinstance(user_id, int) and user_id > 0, "become a real user"
    _actor.set(user_id)
    if db.get_bind().dialect.name == "postgresql":
        db.flush()
        db.execute(text("SELECT set_config('app.user_id', :u, true), set_config('app.system', '', true)"),
                   {"u": str(user_id)})


@contextmanager
def elevated(db: Session, why: str) -> Iterator[None]:
    """Inside an open transaction, let one service step write other users' rows.

    For steps the product rules allow a user to cause (a host's timer action crediting every
    member present, the last member closing the room, a leaver moving the waitlist up, an
    account deletion removing others' sign-ups to its sessions). Pending changes are flushed
    before the actor is restored, so they are checked as the system, not later as the user.
    """
    assert why, "say why this step may touch other users' rows"
    if db.get_bind().dialect.name != "postgresql":
        yield
        return
    db.flush()  # the user's own pending changes are checked as the user
    db.execute(text("SELECT set_config('app.system', 'on', true)"))
    try:
        yield
        db.flush()
    finally:
        try:
            db.execute(text("SELECT set_config('app.system', :s, true)"), {"s": _actor_settings()[1]})
        except DBAPIError:
            pass  # the transaction failed: it is rolled back, the setting with it


@lru_cache
def get_engine() -> Engine:
    """The process-wide engine for ``DATABASE_URL``."""
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


_READ_ONLY = "sessions_read_only"
# ``Session.info`` key set in a ``read_scope``: services may memoize reads within it (nothing
# changes inside a read-only transaction).
READ_ONLY = "read_only"


@contextmanager
def read_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session for reads only (a page load's read): on SQLite its transaction does not take
    the write lock up front, so it runs beside writers instead of queueing behind them. Never
    write in it (nothing is committed: it is rolled back at the end)."""
    with Session((engine or get_engine()).execution_options(**{_READ_ONLY: True}), expire_on_commit=False,
                 info={READ_ONLY: True}) as session:
        # The identity map holds rows weakly: a row one service read and dropped is read again
        # by the next ``db.get`` (a room page's read fetched the caller's user row 4 times).
        # Every row loaded stays referenced until the read ends: one SELECT per row.
        held: list = []
        event.listen(session, "loaded_as_persistent", lambda _session, row: held.append(row))
        try:
            yield session
        finally:
            session.rollback()
            held.clear()


@contextmanager
def system_scope(why: str, engine: Engine | None = None) -> Iterator[Session]:
    """``session_scope`` run as the system: a pre-login flow (the user is not known yet: a
    login cookie, a password, an OAuth callback, an emailed link, a calendar feed token) or a
    background job. ``why`` names it."""
    with as_system(why), session_scope(engine) as session:
        yield session
