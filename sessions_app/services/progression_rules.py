"""Progression's pure maths: the level curve, EXP for a block, presence, local days, streaks and
the heatmap's buckets. No database here; ``services.progression`` applies it to the stints
and credits (and re-exports these names, so callers keep using ``progression.level_for``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
