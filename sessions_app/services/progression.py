"""Progression: EXP for focus blocks, the level curve, lifetime stats, streaks and the heatmap.

The pure maths (level curve, ``block_exp``, ``present_minutes``, ``streaks``) lives in
``progression_rules`` (re-exported here); this module holds the database functions that use it:

* ``credit_block`` is called by the server-side timer when a focus block ends. It reads who
  was in the room from the ``RoomMember`` stints, never from anything a client sent, and
  credits each student at most once per block — the database's unique
  (user, room, phase_seq) constraint is the guarantee, not a check in Python.
* One room at a time: a student's minute earns in at most one room. While they are present
  in several rooms (tabs left open), each instant belongs to the room they entered most
  recently ("where you went last is where you are") — see ``earning_spans``. The rule is a
  function of the stints alone, so the rooms' blocks can be credited in any order, by any
  worker, and their minutes still never overlap; no lock or cross-room bookkeeping needed.
* Only presence that was seen: time inside a recorded server outage (``services.uptime``)
  never counts, so blocks that "ran" while the server was down credit only the minutes
  before it went down.
* ``stats`` and ``heatmap`` read a student's ``FocusCredit`` rows for the profile page.

Days (streaks, heatmap) are the student's own local days: each credit stores the day the block
ended in the student's time zone *at credit time*, computed with ``zoneinfo`` (so DST changes
never move a block to another day and a later time-zone change does not rewrite history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from sessions_app.models import FocusCredit, RoomMember, User, utcnow
from sessions_app.services import streaks as streak_rules
from sessions_app.services import uptime

# The pure maths lives in ``progression_rules``; its names stay importable from here.
from sessions_app.services.progression_rules import HEAT_THRESHOLDS as HEAT_THRESHOLDS
from sessions_app.services.progression_rules import HEATMAP_WEEKS as HEATMAP_WEEKS
from sessions_app.services.progression_rules import MIN_CREDIT_MINUTES as MIN_CREDIT_MINUTES
from sessions_app.services.progression_rules import KeyedStint as KeyedStint
from sessions_app.services.progression_rules import Span as Span
from sessions_app.services.progression_rules import block_exp as block_exp
from sessions_app.services.progression_rules import earning_spans as earning_spans
from sessions_app.services.progression_rules import exp_for_level as exp_for_level
from sessions_app.services.progression_rules import heat_level as heat_level
from sessions_app.services.progression_rules import heat_tooltip as heat_tooltip
from sessions_app.services.progression_rules import heatmap_start as heatmap_start
from sessions_app.services.progression_rules import level_for as level_for
from sessions_app.services.progression_rules import local_day as local_day
from sessions_app.services.progression_rules import month_labels as month_labels
from sessions_app.services.progression_rules import present_minutes as present_minutes
from sessions_app.services.progression_rules import progress_in_level as progress_in_level
from sessions_app.services.progression_rules import streaks as streaks
from sessions_app.services.progression_rules import zone as zone

# --- crediting a block ----------------------------------------------------------------------


@dataclass(frozen=True)
class CreditResult:
    """EXP credited to one student for one focus block."""

    user_id: int
    exp: int
    minutes: float
    new_total: int
    level_up: bool


def credit_block(
    db: Session,
    *,
    room_id: int,
    phase_seq: int,
    block_start: datetime,
    block_end: datetime,
    block_minutes: float,
) -> list[CreditResult]:
    """Credit EXP and focus minutes to everyone who was present during a finished focus block.

    Called only by the server-side timer when a focus phase ends; every input comes from the
    room's row in the database, never from a client. Presence is the overlap of each member's
    ``RoomMember`` stints with ``[block_start, block_end]``, scaled to ``block_minutes`` (see
    ``present_minutes``), so a partial stay earns in proportion and under 5 minutes (a tab that
    joined for the last minute) earns nothing and gets no credit row at all. Minutes in which
    the student was in a room they entered later, or the server was down, do not count here
    (``earning_spans``): a student in three rooms at once earns one block's worth, not three.

    Exactly once per (user, room, phase_seq): each credit is inserted in its own savepoint
    together with its ``exp_total`` increment; the unique constraint makes a second or
    concurrent call for the same block fail that insert, the savepoint rolls both back, and
    that student is skipped. ``exp_total`` is incremented in SQL (``exp_total + n``) so credits
    from two rooms at once cannot lose an update.

    The caller commits and publishes afterwards. Call it *after* the phase change's
    compare-and-set write, in the same transaction: then the credits commit or roll back with
    the phase change. (On SQLite, pysqlite emits no BEGIN before a SAVEPOINT, so if a savepoint
    were the transaction's first write its RELEASE would commit on its own. Exactly-once still
    holds either way: it rests on the unique constraint.)

    Args:
        db: The caller's session.
        room_id: The room whose focus block ended.
        phase_seq: The room's phase sequence number of that focus block.
        block_start: When the block started (timezone-aware).
        block_end: When it ended (timezone-aware).
        block_minutes: The block's configured focus length in minutes.

    Returns:
        One result per student credited by this call (empty if the block was already credited).
    """
    if block_start.tzinfo is None or block_end.tzinfo is None:
        raise ValueError("credit_block needs timezone-aware timestamps")
    if block_end <= block_start or block_minutes <= 0:
        return []
    stints_by_user = _stints_overlapping(db, room_id=room_id, start=block_start, end=block_end)
    elsewhere = _stints_overlapping(db, room_id=room_id, start=block_start, end=block_end,
                                    other_rooms_of=list(stints_by_user))
    outages = uptime.outages_between(db, block_start, block_end)
    already = set(db.exec(
        select(FocusCredit.user_id).where(FocusCredit.room_id == room_id, FocusCredit.phase_seq == phase_seq)
    ).all())
    results = []
    for user_id, stints in sorted(stints_by_user.items()):
        if user_id in already:
            continue  # a fast path only; the unique constraint below is the guarantee
        spans = earning_spans(stints, elsewhere.get(user_id, []), outages, block_start, block_end)
        minutes = present_minutes(spans, block_start, block_end, block_minutes)
        exp = block_exp(block_minutes, minutes)
        if exp <= 0:
            continue
        result = _credit_one(db, user_id=user_id, room_id=room_id, phase_seq=phase_seq,
                             block_end=block_end, minutes=minutes, exp=exp)
        if result is not None:
            results.append(result)
    return results


def _stints_overlapping(
    db: Session, *, room_id: int, start: datetime, end: datetime, other_rooms_of: list[int] | None = None,
) -> dict[int, list[KeyedStint]]:
    """Stints that overlap ``[start, end]``, by user id, keyed by (joined_at, id): those in the
    room, or (``other_rooms_of``) those of these users in every *other* room."""
    query = select(RoomMember.id, RoomMember.user_id, RoomMember.joined_at, RoomMember.left_at).where(
        col(RoomMember.joined_at) < end,
        (col(RoomMember.left_at).is_(None)) | (col(RoomMember.left_at) > start),
    )
    if other_rooms_of is None:
        query = query.where(RoomMember.room_id == room_id)
    elif not other_rooms_of:
        return {}
    else:
        query = query.where(RoomMember.room_id != room_id, col(RoomMember.user_id).in_(other_rooms_of))
    by_user: dict[int, list[KeyedStint]] = {}
    for stint_id, user_id, joined_at, left_at in db.exec(query).all():
        by_user.setdefault(user_id, []).append(((joined_at, stint_id), joined_at, left_at))
    return by_user


def _credit_one(
    db: Session, *, user_id: int, room_id: int, phase_seq: int, block_end: datetime,
    minutes: float, exp: int,
) -> CreditResult | None:
    """Insert one credit and add its EXP, atomically; None if the block was already credited."""
    tz_name = db.exec(select(User.timezone).where(User.id == user_id)).first()
    if tz_name is None:
        return None  # the account was deleted while the block ran
    credit = FocusCredit(
        user_id=user_id, room_id=room_id, phase_seq=phase_seq,
        minutes_present=round(minutes, 2), exp=exp,
        local_day=local_day(block_end, tz_name).isoformat(), credited_at=utcnow(),
        local_minute=streak_rules.local_minute(block_end, tz_name),
    )
    try:
        with db.begin_nested():
            db.add(credit)
            db.flush()  # the unique constraint fires here for a block already credited
            db.exec(update(User).where(col(User.id) == user_id).values(exp_total=User.exp_total + exp))
    except IntegrityError:
        # Only a duplicate credit is expected here; anything else (a missing room) is a bug.
        if not _already_credited(db, user_id=user_id, room_id=room_id, phase_seq=phase_seq):
            raise
        return None
    new_total = db.exec(select(User.exp_total).where(User.id == user_id)).one()
    return CreditResult(user_id=user_id, exp=exp, minutes=round(minutes, 2), new_total=new_total,
                        level_up=level_for(new_total) > level_for(new_total - exp))


def _already_credited(db: Session, *, user_id: int, room_id: int, phase_seq: int) -> bool:
    return db.exec(select(FocusCredit.id).where(
        FocusCredit.user_id == user_id, FocusCredit.room_id == room_id, FocusCredit.phase_seq == phase_seq,
    )).first() is not None


# --- stats and heatmap ----------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """A student's lifetime progression, for their own profile."""

    focus_hours: float
    blocks_completed: int
    current_streak: int
    best_streak: int
    exp_total: int
    level: int
    progress: float


@dataclass(frozen=True)
class HeatDay:
    """One square of the heatmap."""

    date: str  # ISO date, the student's local day
    minutes: int
    level: int  # colour bucket 0–4
    tooltip: str
    frozen: bool = False  # a missed day a streak freeze bridged (services/streaks.py)


def today_for(db: Session, *, user_id: int, now: datetime | None = None) -> date:
    """Today in the student's own time zone, with their start of day (``services.streaks``)."""
    return streak_rules.today_for(db, user_id=user_id, now=now)


def stats(db: Session, *, user_id: int, today: date | None = None) -> Stats:
    """Lifetime stats of one student: focus hours, blocks, streaks, EXP and level.

    Args:
        db: A session.
        user_id: The student (found server-side by the caller, never sent by a client).
        today: Today in the student's zone; computed from ``User.timezone`` if None.
    """
    user = db.get(User, user_id)
    exp_total = user.exp_total if user is not None else 0
    if today is None:
        today = today_for(db, user_id=user_id)
    minutes, blocks = db.exec(
        select(func.coalesce(func.sum(FocusCredit.minutes_present), 0.0), func.count(FocusCredit.id))
        .where(FocusCredit.user_id == user_id, FocusCredit.exp > 0)
    ).one()
    # Days counted with the student's start of day, gaps bridged by the weekly freeze.
    run = streak_rules.streak_run(streak_rules.minutes_by_day(db, user_id=user_id), today)
    current, best = run.current, run.best
    return Stats(
        focus_hours=round(float(minutes) / 60, 1),
        blocks_completed=int(blocks),
        current_streak=current,
        best_streak=best,
        exp_total=exp_total,
        level=level_for(exp_total),
        progress=progress_in_level(exp_total),
    )


def heatmap(db: Session, *, user_id: int, today: date | None = None) -> list[HeatDay]:
    """Focus minutes per local day, from the Sunday 52 weeks back through today.

    The list is in date order and starts on a Sunday, so laid out in columns of seven it is a
    GitHub-style grid (one column per week, the current week partial).

    Args:
        db: A session.
        user_id: The student.
        today: Today in the student's zone; computed from ``User.timezone`` if None.
    """
    if today is None:
        today = today_for(db, user_id=user_id)
    start = heatmap_start(today)
    # Days counted with the student's start of day (a 01:30 block may belong to the day before).
    all_days = streak_rules.minutes_by_day(db, user_id=user_id)
    per_day = {d.isoformat(): m for d, m in all_days.items() if start <= d <= today}
    frozen = set(streak_rules.streak_run(all_days, today).frozen)
    days = []
    for offset in range((today - start).days + 1):
        day = start + timedelta(days=offset)
        minutes = round(per_day.get(day.isoformat(), 0.0))
        tooltip = heat_tooltip(day, minutes) + (", bridged by a streak freeze" if day in frozen else "")
        days.append(HeatDay(date=day.isoformat(), minutes=minutes, level=heat_level(minutes),
                            tooltip=tooltip, frozen=day in frozen))
    return days
