"""The server's heartbeat and the outages it reveals, so EXP counts only presence that was seen.

While the server runs, presence is tracked for real (disconnects with a grace period, the
sweeper for tabs whose worker died). While it is down, nothing is seen: a tab may have closed
a minute after the crash. ``note_alive`` is called every 15 s by the timer's catch-up loop
and before each server-side phase change; it writes the heartbeat at most every
``HEARTBEAT_EVERY`` (never per second), and when the previous heartbeat is older than
``OUTAGE_AFTER`` it records the gap as a ``ServerOutage``. Crediting subtracts outages from
every stint (``progression.credit_block``): a block that ended while the server was down
credits only the minutes up to the last heartbeat before the crash.

Exactly once across workers: the heartbeat moves forward by compare-and-set on its old value,
so only the worker that moves it past a gap records the outage (and the outage's start is
unique in the database as well).

A gap a running process watched is no outage. The caller says how long ago, by its own
monotonic clock, it last noted it was alive (``watched_for``). When that is short, the
process was up through the gap, and a jump in the wall clock (an NTP step, the tests' clock)
is only a jump: the heartbeat follows the clock, forwards or back, and nothing is recorded.
Recording it would be wrong twice over: the "outage" would run to the jumped time, so once the
clock came back every block credited before the wall clock caught up would lose that time.
Only a process's first note (a start) or a stalled process looks at the wall clock's gap.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from sessions_app.models import ServerHeartbeat, ServerOutage, utcnow

HEARTBEAT_EVERY = timedelta(seconds=30)
# Longer than two missed heartbeats (a busy event loop), short next to a focus block: a crash
# costs at most this much of the time seen just before it.
OUTAGE_AFTER = timedelta(seconds=90)
_ROW = 1


def note_alive(db: Session, *, now: datetime | None = None,
               watched_for: timedelta | None = None) -> tuple[datetime, datetime] | None:
    """Say the server is alive at ``now``; record and return the outage if the last heartbeat
    is older than ``OUTAGE_AFTER`` and the caller did not watch the gap.

    ``watched_for``: the time since the calling process last noted it was alive, by its
    monotonic clock (None on its first note after a start). The caller commits."""
    now = now or utcnow()
    last = db.exec(select(ServerHeartbeat.alive_at).where(ServerHeartbeat.id == _ROW)).first()
    if last is None:  # the very first start: nothing was promised before it
        try:
            with db.begin_nested():
                db.add(ServerHeartbeat(id=_ROW, alive_at=now))
                db.flush()
        except IntegrityError:
            pass  # another worker wrote it first
        return None
    if watched_for is not None and watched_for <= OUTAGE_AFTER:
        # This process was up the whole time: whatever the wall clock did, no outage. A clock
        # stepped back takes the heartbeat with it, so a later real outage is still seen.
        if abs(now - last) >= HEARTBEAT_EVERY:
            _move(db, last, now)
        return None
    if now - last < HEARTBEAT_EVERY:
        return None  # written recently (also when the clock stepped back): no write
    if not _move(db, last, now) or now - last <= OUTAGE_AFTER:
        return None
    try:
        with db.begin_nested():
            db.add(ServerOutage(started_at=last, ended_at=now))
            db.flush()
    except IntegrityError:
        return None
    return last, now


def _move(db: Session, last: datetime, now: datetime) -> bool:
    """Compare-and-set the heartbeat from ``last`` to ``now``; False if another worker moved it."""
    moved = db.exec(update(ServerHeartbeat).where(col(ServerHeartbeat.id) == _ROW,
                                                  col(ServerHeartbeat.alive_at) == last)
                    .values(alive_at=now))
    return moved.rowcount == 1


def outages_between(db: Session, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Recorded outages that overlap ``[start, end]``, as ``(started_at, ended_at)``."""
    rows = db.exec(select(ServerOutage.started_at, ServerOutage.ended_at).where(
        col(ServerOutage.started_at) < end, col(ServerOutage.ended_at) > start)).all()
    return [(s, e) for s, e in rows]
