"""Forgiving streaks: a start of day per student, one automatic freeze per ISO week, a weekly
focus goal and personal bests.

* **Start of day.** A night owl's day need not end at midnight: with the day starting at
  04:00, a block that ends at 01:30 counts for the day before. Each credit stores its local
  calendar day and the local wall-clock minute it ended at (in the student's zone *at credit
  time*, so a later move does not rewrite history); the day it counts for is worked out when
  reading, so changing the start of day applies to the whole history at once. Wall-clock
  arithmetic (``local - day start``) makes DST nights behave: 01:30 counts for the day before
  whether that night had 23, 24 or 25 hours.
* **Freezes.** One per ISO week (Monday–Sunday of the counted days). A missed day is bridged
  automatically if its week's freeze is still unused; a gap is bridged only as a whole (each
  missed day in a different week with its freeze unused), otherwise the streak breaks and no
  freeze is spent on it. A bridged day keeps the streak alive but does not add to its length.
  Freezes are derived from the history alone — nothing to store, the same answer on every
  worker and after every reload.
* **Weekly goal** in minutes (0: none), with this week's minutes; **personal bests**: longest
  streak, best ISO week and best day by focus minutes.

Pure rules first, then the database functions. No Reflex here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from sessions_app.models import FocusCredit, User, utcnow
from sessions_app.services.errors import ServiceError
from sessions_app.services.progression_rules import zone

DAY_START_STEP = 15  # minutes
DAY_START_MAX = 6 * 60  # the latest start of day: 06:00
DAY_START_CHOICES = [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, DAY_START_MAX + 1, DAY_START_STEP)]
WEEKLY_GOAL_MIN = 15  # minutes; 0 means "no goal"
WEEKLY_GOAL_MAX = 70 * 60  # 70 hours: ten a day, every day

ERR_DAY_START = "Choose a start of day between 00:00 and 06:00, in steps of 15 minutes."
ERR_WEEKLY_GOAL = (f"Enter your weekly goal as a whole number of minutes from {WEEKLY_GOAL_MIN} to "
                   f"{WEEKLY_GOAL_MAX:,}, or 0 for no goal.")


# --- settings: parsing and validation (pure) ------------------------------------------------


def parse_day_start(value: object) -> int:
    """``"04:00"`` → 240. Only 00:00–06:00 in steps of 15 minutes; anything else is refused."""
    text = value.strip() if isinstance(value, str) else ""
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", text)
    if not match:
        raise ServiceError(ERR_DAY_START, field="day_start")
    hours, minutes = int(match[1]), int(match[2])
    total = hours * 60 + minutes
    if minutes >= 60 or total > DAY_START_MAX or total % DAY_START_STEP:
        raise ServiceError(ERR_DAY_START, field="day_start")
    return total


def format_day_start(minutes: int) -> str:
    """240 → ``"04:00"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_weekly_goal(value: object) -> int:
    """A weekly goal in whole minutes: 0 (none) or 15–4,200. Text like ``" 300 "`` is fine."""
    if isinstance(value, bool):
        raise ServiceError(ERR_WEEKLY_GOAL, field="weekly_goal")
    if isinstance(value, int):
        minutes = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        if not re.fullmatch(r"[0-9]{1,5}", text):
            raise ServiceError(ERR_WEEKLY_GOAL, field="weekly_goal")
        minutes = int(text)
    if minutes != 0 and not WEEKLY_GOAL_MIN <= minutes <= WEEKLY_GOAL_MAX:
        raise ServiceError(ERR_WEEKLY_GOAL, field="weekly_goal")
    return minutes


# --- days and weeks (pure) ------------------------------------------------------------------


def local_minute(moment: datetime, tz_name: str | None) -> int:
    """The wall-clock minute after local midnight of ``moment`` in the zone ``tz_name``."""
    local = moment.astimezone(zone(tz_name))
    return local.hour * 60 + local.minute


def counted_day(calendar_day: date, minute: int | None, day_start: int) -> date:
    """The day a block counts for: its calendar day, or the day before if it ended before the
    student's day started. ``minute`` None (credits from before this was stored): calendar day."""
    if minute is not None and minute < day_start:
        return calendar_day - timedelta(days=1)
    return calendar_day


def today(now: datetime, tz_name: str | None, day_start: int) -> date:
    """The student's current day: the local date of ``now`` minus the start of day (wall clock)."""
    local = now.astimezone(zone(tz_name)).replace(tzinfo=None)
    return (local - timedelta(minutes=day_start)).date()


def iso_week(day: date) -> tuple[int, int]:
    """(ISO year, ISO week number): weeks run Monday to Sunday; 28 Dec is always in the last."""
    year, week, _ = day.isocalendar()
    return year, week


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


# --- streaks with freezes (pure) ------------------------------------------------------------


@dataclass(frozen=True)
class StreakRun:
    """Streaks over a history, with the days that freezes bridged."""

    current: int
    best: int
    frozen: tuple[date, ...]  # every bridged day, oldest first

    def freeze_used_in(self, day: date) -> date | None:
        """The day the freeze of ``day``'s ISO week bridged, if it was used."""
        week = iso_week(day)
        return next((d for d in self.frozen if iso_week(d) == week), None)


def _bridge(gap: list[date], used_weeks: set[tuple[int, int]]) -> bool:
    """Whether freezes can bridge every missed day of ``gap``: each in its own ISO week, with
    that week's freeze unused. Marks the weeks used if so."""
    weeks = [iso_week(day) for day in gap]
    if len(set(weeks)) != len(weeks) or used_weeks.intersection(weeks):
        return False
    used_weeks.update(weeks)
    return True


def streak_run(days: Iterable[date], today_: date) -> StreakRun:
    """Current and best streak with one automatic freeze per ISO week.

    Active days count one each; a gap of missed days is bridged if every missed day has its
    week's freeze (then the run goes on, the bridged days not counted), else the run starts
    over. The current streak is alive while the days between its last active day and today
    are none or bridged (today itself is not over). Days after ``today`` (a move west) extend
    the latest run like any other day.

    Args:
        days: Days with at least one credited block (counted days), any order, duplicates allowed.
        today_: The student's current day.
    """
    active = sorted(set(days))
    if not active:
        return StreakRun(0, 0, ())
    used_weeks: set[tuple[int, int]] = set()
    frozen: list[date] = []
    best = run = 0
    previous: date | None = None
    for day in active:
        if previous is not None:
            gap = [previous + timedelta(days=i) for i in range(1, (day - previous).days)]
            if gap and _bridge(gap, used_weeks):
                frozen += gap
            elif gap:
                run = 0
        run += 1
        best = max(best, run)
        previous = day
    trailing = [previous + timedelta(days=i) for i in range(1, (today_ - previous).days)]
    if not trailing:
        current = run
    elif _bridge(trailing, used_weeks):
        frozen += trailing
        current = run
    else:
        current = 0
    return StreakRun(current, best, tuple(frozen))


# --- weeks and bests (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class Bests:
    """Personal bests by focus minutes (0 and None when there is no history)."""

    best_week_minutes: int
    best_week_start: date | None  # the Monday of that ISO week
    best_day_minutes: int
    best_day: date | None


def bests(minutes_by_day: Mapping[date, float]) -> Bests:
    """The best ISO week and the best day; ties go to the earlier one (it got there first)."""
    by_week: dict[date, float] = defaultdict(float)
    for day, minutes in minutes_by_day.items():
        by_week[week_start(day)] += minutes
    best_day = min(minutes_by_day, key=lambda d: (-round(minutes_by_day[d]), d), default=None)
    best_week = min(by_week, key=lambda w: (-round(by_week[w]), w), default=None)
    return Bests(
        best_week_minutes=round(by_week[best_week]) if best_week else 0,
        best_week_start=best_week,
        best_day_minutes=round(minutes_by_day[best_day]) if best_day else 0,
        best_day=best_day,
    )


def week_minutes(minutes_by_day: Mapping[date, float], today_: date) -> int:
    """Focus minutes in ``today_``'s ISO week, up to and including today."""
    monday = week_start(today_)
    return round(sum(m for day, m in minutes_by_day.items() if monday <= day <= today_))


def minutes_label(minutes: int) -> str:
    """75 → ``"1 h 15 min"``, 120 → ``"2 h"``, 40 → ``"40 min"``."""
    hours, rest = divmod(max(0, int(minutes)), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def day_label(day: date) -> str:
    """``"Tue 3 Nov"``."""
    return f"{day:%a} {day.day} {day:%b}"


# --- the database ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prefs:
    """A student's streak settings and zone."""

    timezone: str
    day_start: int
    weekly_goal: int


def prefs(db: Session, *, user_id: int) -> Prefs:
    """The streak settings of ``user_id`` (defaults if the account is gone)."""
    row = db.exec(select(User.timezone, User.day_start_minutes, User.weekly_goal_minutes)
                  .where(User.id == user_id)).first()
    if row is None:
        return Prefs("UTC", 0, 0)
    return Prefs(row[0] or "UTC", int(row[1] or 0), int(row[2] or 0))


def today_for(db: Session, *, user_id: int, now: datetime | None = None) -> date:
    """The student's current day, in their zone and with their start of day."""
    p = prefs(db, user_id=user_id)
    return today(now or utcnow(), p.timezone, p.day_start)


def minutes_by_day(db: Session, *, user_id: int, day_start: int | None = None,
                   since: date | None = None) -> dict[date, float]:
    """Focus minutes per counted day (start of day applied), from the credits.

    Args:
        db: A session.
        user_id: The student.
        day_start: Their start of day in minutes; read from the account if None.
        since: Only days from this one on (the credit's calendar day may be one later).
    """
    if day_start is None:
        day_start = prefs(db, user_id=user_id).day_start
    early = case((col(FocusCredit.local_minute) < day_start, 1), else_=0)
    query = (select(FocusCredit.local_day, early, func.sum(FocusCredit.minutes_present))
             .where(FocusCredit.user_id == user_id)
             .group_by(FocusCredit.local_day, early))
    if since is not None:
        query = query.where(FocusCredit.local_day >= since.isoformat())  # ISO dates sort as text
    result: dict[date, float] = defaultdict(float)
    for calendar_day, is_early, minutes in db.exec(query).all():
        day = date.fromisoformat(calendar_day) - timedelta(days=1 if is_early else 0)
        if since is None or day >= since:
            result[day] += float(minutes or 0)
    return dict(result)


def set_prefs(db: Session, *, user_id: int, day_start: object, weekly_goal: object) -> Prefs:
    """Save the start of day (``"HH:MM"``) and weekly goal (minutes); both checked first, so a
    bad value changes nothing. The caller commits."""
    minutes_start = parse_day_start(day_start)
    goal = parse_weekly_goal(weekly_goal)
    user = db.get(User, user_id)
    if user is None:
        raise ServiceError("Your account no longer exists.")
    user.day_start_minutes = minutes_start
    user.weekly_goal_minutes = goal
    db.add(user)
    db.flush()
    return Prefs(user.timezone, minutes_start, goal)


@dataclass(frozen=True)
class Overview:
    """Everything the profile shows about streaks, the weekly goal and personal bests."""

    today: str  # ISO, the student's current day
    day_start: str  # "04:00"
    current_streak: int
    best_streak: int
    freeze_available: bool  # this week's freeze is unused
    freeze_used_on: str  # ISO day this week's freeze bridged, or ""
    freezes_in_streak: int  # bridged days inside the current streak
    weekly_goal: int  # minutes, 0: none
    week_minutes: int
    goal_percent: int  # 0–100
    best_week_minutes: int
    best_week_start: str  # ISO Monday, or ""
    best_day_minutes: int
    best_day: str  # ISO, or ""


def overview(db: Session, *, user_id: int, now: datetime | None = None) -> Overview:
    """The streak overview of ``user_id`` (found server-side by the caller) at ``now``."""
    p = prefs(db, user_id=user_id)
    day = today(now or utcnow(), p.timezone, p.day_start)
    per_day = minutes_by_day(db, user_id=user_id, day_start=p.day_start)
    run = streak_run(per_day, day)
    used = run.freeze_used_in(day)
    # The bridged days of the current run: those after its last break (a gap not bridged).
    in_streak = 0
    if run.current:
        cursor = max(max(per_day), day - timedelta(days=1))
        while cursor in per_day or cursor in run.frozen:
            in_streak += cursor in run.frozen
            cursor -= timedelta(days=1)
    best = bests(per_day)
    this_week = week_minutes(per_day, day)
    return Overview(
        today=day.isoformat(),
        day_start=format_day_start(p.day_start),
        current_streak=run.current,
        best_streak=run.best,
        freeze_available=used is None,
        freeze_used_on=used.isoformat() if used else "",
        freezes_in_streak=in_streak,
        weekly_goal=p.weekly_goal,
        week_minutes=this_week,
        goal_percent=min(100, round(100 * this_week / p.weekly_goal)) if p.weekly_goal else 0,
        best_week_minutes=best.best_week_minutes,
        best_week_start=best.best_week_start.isoformat() if best.best_week_start else "",
        best_day_minutes=best.best_day_minutes,
        best_day=best.best_day.isoformat() if best.best_day else "",
    )
