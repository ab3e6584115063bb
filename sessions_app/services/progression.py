"""Progression: EXP for focus blocks, the level curve, lifetime stats, streaks and the heatmap.

The pure maths (level curve, ``block_exp``, ``present_minutes``, ``streaks``) sits next to the
few database functions that use it:

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from sessions_app.models import FocusCredit, RoomMember, User, utcnow
from sessions_app.services import uptime

MIN_CREDIT_MINUTES = 5.0

# Heatmap buckets: a day with at least HEAT_THRESHOLDS[i] minutes gets level i + 1.
# Fixed minutes (not quartiles of the student's own maximum) so a colour means the same
# thing every week: a little, about one block (25 min), about two, two hours or more.
HEAT_THRESHOLDS = (1, 25, 50, 120)
HEATMAP_WEEKS = 53  # the last 52 full weeks + the current one, like GitHub


# --- level curve and EXP (pure) -------------------------------------------------------------


def exp_for_level(level: int) -> int:
    """Total EXP needed to reach ``level``: 125·2ⁿ − 150 (level 1: 100, 5: 3,850, 10: 127,850)."""
    if level <= 0:
        return 0
    return 125 * 2**level - 150


def level_for(exp_total: int) -> int:
    """The level a student with ``exp_total`` EXP has reached (no cap)."""
    exp_total = max(0, int(exp_total))
    level = 0
    while exp_for_level(level + 1) <= exp_total:
        level += 1
    return level


def progress_in_level(exp_total: int) -> float:
    """How far (0.0–1.0) the student is from their level to the next one."""
    lvl = level_for(exp_total)
    lo, hi = exp_for_level(lvl), exp_for_level(lvl + 1)
    return (max(0, exp_total) - lo) / (hi - lo)


def block_exp(block_minutes: float, present_minutes: float) -> int:
    """EXP for a focus block of ``block_minutes`` with ``present_minutes`` spent in it.

    A full block earns 100 + 4·m; part of it earns in proportion; under 5 minutes earns 0.
    """
    if block_minutes <= 0:
        return 0
    present = max(0.0, min(present_minutes, block_minutes))
    if present < MIN_CREDIT_MINUTES:
        return 0
    return round((100 + 4 * block_minutes) * present / block_minutes)


# --- presence (pure) ------------------------------------------------------------------------


def present_minutes(
    stints: Sequence[tuple[datetime, datetime | None]],
    block_start: datetime,
    block_end: datetime,
    block_minutes: float | None = None,
) -> float:
    """How many minutes of a block a member was present, from their stints in the room.

    Overlapping stints (two tabs, a reload that rejoined before the old stint closed) are
    merged first, so time is never counted twice. A stint with ``left_at`` None is still
    present and counts up to ``block_end``.

    Args:
        stints: ``(joined_at, left_at)`` pairs of one member, timezone-aware, any order.
        block_start: When the focus block started (real time).
        block_end: When it ended (real time).
        block_minutes: The block's *configured* length. If given, the result is scaled to it:
            ``overlap_seconds / block_seconds * block_minutes``. This keeps EXP right when the
            block's real duration differs from its nominal minutes (tests run a time scale in
            which a "minute" lasts a second). If None, real minutes are returned.

    Returns:
        Present minutes, between 0 and the block's length (real or configured).
    """
    block_seconds = (block_end - block_start).total_seconds()
    if block_seconds <= 0:
        return 0.0
    clipped = sorted(
        (max(joined, block_start), min(left or block_end, block_end))
        for joined, left in stints
    )
    overlap = 0.0
    run_start: datetime | None = None
    run_end: datetime | None = None
    for start, end in clipped:
        if end <= start:
            continue  # outside the block
        if run_end is None or start > run_end:
            if run_end is not None:
                overlap += (run_end - run_start).total_seconds()
            run_start, run_end = start, end
        else:
            run_end = max(run_end, end)
    if run_end is not None:
        overlap += (run_end - run_start).total_seconds()
    overlap = min(overlap, block_seconds)
    if block_minutes is None:
        return overlap / 60
    return overlap / block_seconds * block_minutes


Span = tuple[datetime, datetime]
# A stint with the key that orders it among the user's stints: (joined_at, stint id).
KeyedStint = tuple[tuple[datetime, int], datetime, datetime | None]


def _subtract(spans: list[Span], holes: Iterable[Span]) -> list[Span]:
    """``spans`` minus every hole (all half-open ``[start, end)``)."""
    for hole_start, hole_end in holes:
        if hole_end <= hole_start:
            continue
        kept: list[Span] = []
        for start, end in spans:
            if hole_end <= start or end <= hole_start:
                kept.append((start, end))
                continue
            if start < hole_start:
                kept.append((start, hole_start))
            if hole_end < end:
                kept.append((hole_end, end))
        spans = kept
    return spans


def earning_spans(
    own: Sequence[KeyedStint],
    elsewhere: Sequence[KeyedStint],
    outages: Sequence[Span],
    block_start: datetime,
    block_end: datetime,
) -> list[Span]:
    """The parts of a block in which a student earns in this room.

    The rule: at any instant a student earns in one room at most — the room of the latest
    stint (by join time, then id) that covers that instant. So a stint in this room earns
    where no *later* stint in another room covers it, and nothing earns inside a server
    outage (no presence was seen there). Because every instant has exactly one latest
    stint, the spans credited in different rooms never overlap, whatever order their blocks
    are credited in.

    Args:
        own: The student's stints in this room, ``(key, joined_at, left_at)``.
        elsewhere: Their stints in other rooms that overlap the block, same shape.
        outages: Recorded server outages ``(start, end)``.
        block_start: When the block started.
        block_end: When it ended.

    Returns:
        Spans within the block (possibly overlapping each other; ``present_minutes`` merges).
    """
    spans: list[Span] = []
    for key, joined, left in own:
        start, end = max(joined, block_start), min(left or block_end, block_end)
        if end <= start:
            continue
        later = [(other_joined, other_left or block_end)
                 for other_key, other_joined, other_left in elsewhere if other_key > key]
        spans += _subtract([(start, end)], [*later, *outages])
    return spans


# --- time zones and days (pure) -------------------------------------------------------------


def zone(name: str | None) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name; UTC if the name is empty or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(moment: datetime, tz_name: str | None) -> date:
    """The calendar day of ``moment`` (timezone-aware) in the zone ``tz_name``."""
    return moment.astimezone(zone(tz_name)).date()


def streaks(days: Iterable[date], today: date) -> tuple[int, int]:
    """Current and best streak of consecutive days from the days with at least one block.

    The current streak is the latest run of consecutive days, and it only counts while it is
    alive: its last day is today or yesterday (a student who has not studied yet today keeps
    their streak until the day is over). Days after ``today`` can exist after a student moves
    to a zone further west; they simply extend the latest run.

    Args:
        days: Local days with a credit, any order, duplicates allowed.
        today: Today in the student's zone.

    Returns:
        ``(current, best)``.
    """
    ordered = sorted(set(days))
    best = run = 0
    previous: date | None = None
    for day in ordered:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    current = run if previous is not None and previous >= today - timedelta(days=1) else 0
    return current, best


def heat_level(minutes: float) -> int:
    """The heatmap colour bucket 0–4 for a day's focus minutes."""
    return sum(1 for threshold in HEAT_THRESHOLDS if minutes >= threshold)


def heat_tooltip(day: date, minutes: int) -> str:
    """The tooltip of one heatmap day, e.g. ``"45 min on Tue 3 Nov 2026"``."""
    when = f"{day:%a} {day.day} {day:%b %Y}"
    return f"{minutes} min on {when}" if minutes else f"No focus on {when}"


def heatmap_start(today: date) -> date:
    """The Sunday that starts the heatmap's first column (52 full weeks before this one)."""
    this_sunday = today - timedelta(days=(today.weekday() + 1) % 7)  # Monday is 0, Sunday 6
    return this_sunday - timedelta(weeks=HEATMAP_WEEKS - 1)


def month_labels(today: date) -> list[str]:
    """One label per heatmap column: the month's short name where a month starts, else ""."""
    start = heatmap_start(today)
    labels = []
    for week in range(HEATMAP_WEEKS):
        first = start + timedelta(weeks=week)
        days = [first + timedelta(days=i) for i in range(7)]
        starts_month = next((d for d in days if d.day == 1), None)
        labels.append(f"{starts_month:%b}" if starts_month else "")
    return labels


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


def today_for(db: Session, *, user_id: int, now: datetime | None = None) -> date:
    """Today in the student's own time zone."""
    tz_name = db.exec(select(User.timezone).where(User.id == user_id)).first()
    return local_day(now or utcnow(), tz_name)


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
    days = db.exec(select(FocusCredit.local_day).where(FocusCredit.user_id == user_id).distinct()).all()
    current, best = streaks((date.fromisoformat(d) for d in days), today)
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
    # ISO dates compare correctly as strings.
    rows = db.exec(
        select(FocusCredit.local_day, func.sum(FocusCredit.minutes_present))
        .where(FocusCredit.user_id == user_id, FocusCredit.local_day >= start.isoformat(),
               FocusCredit.local_day <= today.isoformat())
        .group_by(FocusCredit.local_day)
    ).all()
    per_day = {d: float(m or 0) for d, m in rows}
    days = []
    for offset in range((today - start).days + 1):
        day = start + timedelta(days=offset)
        minutes = round(per_day.get(day.isoformat(), 0.0))
        days.append(HeatDay(date=day.isoformat(), minutes=minutes, level=heat_level(minutes),
                            tooltip=heat_tooltip(day, minutes)))
    return days
