"""Per-channel chat sequence numbers and catch-up (``models.chat_log``).

``record`` gives a change its channel's next sequence number inside the change's own
transaction: an upsert that bumps ``chat_channels.seq`` (a row lock on PostgreSQL, the write
lock on SQLite) so numbers are dense and in commit order per channel, for the lobby, room and
session chats alike and whichever worker commits. ``changes_after`` returns what a tab that
saw up to ``after`` missed, as the same changes a broadcast carries.

The log is bounded: ``prune`` (a periodic system job) keeps each channel's last
``MAX_CATCH_UP`` changes of the last ``KEEP_FOR``, which is all a catch-up can use; a tab
further behind — or one whose missed changes are pruned — reloads its tail instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete
from sqlalchemy import insert as insert_row
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from sessions_app.models import ChatChangeLog, ChatChannel, ChatMessage, utcnow

# A tab further behind than this reloads its tail instead of replaying the log.
MAX_CATCH_UP = 200
# Log entries older than this go even within the last MAX_CATCH_UP (a quiet room's log).
KEEP_FOR = timedelta(days=1)


def _bump(insert):
    table = ChatChannel.__table__
    return (insert(table).values(channel=bindparam("channel"), seq=1)
            .on_conflict_do_update(index_elements=["channel"], set_={"seq": table.c.seq + 1})
            .returning(table.c.seq))


# Built once (bound parameters): every chat post and delete runs them.
_BUMP = {True: _bump(pg_insert), False: _bump(sqlite_insert)}  # (is it PostgreSQL?)
_LOG = insert_row(ChatChangeLog.__table__)


def record(db: Session, *, channel: str, message_id: int, deleted: bool) -> int:
    """Log one change of ``channel`` and return its sequence number (call before the commit)."""
    if db.new or db.dirty or db.deleted:
        db.flush()  # (what ``db.execute`` would do; the statements below go to the connection)
    conn = db.connection()  # Core statements on the transaction's connection: no ORM step
    seq = int(conn.execute(_BUMP[conn.dialect.name == "postgresql"], {"channel": channel}).scalar_one())
    # A plain INSERT (no ORM unit of work: nothing reads the entry back in this transaction).
    conn.execute(_LOG, {"channel": channel, "seq": seq, "message_id": int(message_id), "deleted": deleted,
                      "created_at": utcnow()})
    return seq


def current(db: Session, channel: str) -> int:
    """The channel's last sequence number (0 before its first change)."""
    row = db.get(ChatChannel, channel)
    return row.seq if row is not None else 0


def log_after(db: Session, channel: str, after: int) -> list[ChatChangeLog] | None:
    """The logged changes with ``seq > after``, in order; None when the tab is too far behind
    (or names a future it cannot have seen): it should reload."""
    last = current(db, channel)
    if after < 0 or after > last or last - after > MAX_CATCH_UP:
        return None
    log = list(db.exec(select(ChatChangeLog).where(ChatChangeLog.channel == channel, col(ChatChangeLog.seq) > after)
                       .order_by(col(ChatChangeLog.seq))).all())
    # Numbers are dense: fewer entries than numbers means some were pruned (``prune``).
    return log if len(log) == last - after else None


def prune(db: Session, *, now: datetime | None = None) -> int:
    """Drop the log entries no catch-up can use: all but each channel's last ``MAX_CATCH_UP``,
    and any older than ``KEEP_FOR``. One statement; returns how many went. Run as the system
    (row-level security leaves deleting log entries to it)."""
    last = select(ChatChannel.seq).where(ChatChannel.channel == ChatChangeLog.channel).scalar_subquery()
    cutoff = (now or utcnow()) - KEEP_FOR
    stmt = delete(ChatChangeLog).where((col(ChatChangeLog.seq) <= last - MAX_CATCH_UP)
                                       | (col(ChatChangeLog.created_at) < cutoff))
    return int(db.execute(stmt).rowcount or 0)


def existing(db: Session, ids: list[int]) -> set[int]:
    """Which of ``ids`` are still stored."""
    if not ids:
        return set()
    return set(db.exec(select(ChatMessage.id).where(col(ChatMessage.id).in_(ids))).all())
