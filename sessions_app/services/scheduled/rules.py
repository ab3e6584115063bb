"""Scheduled sessions: limits and the pure rules (time zones, status, chat window, live room name).

No database here: everything is a function of a session's fields and the current time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessions_app.models import StudySession
from sessions_app.services.errors import ServiceError

MAX_TITLE = 120
MAX_DESCRIPTION = 1000
MAX_LINK = 500
MAX_NOTE = 2000
MAX_CAPACITY = 1000
MAX_LENGTH = timedelta(hours=12)
MAX_AHEAD = timedelta(days=2 * 366)  # how far ahead a session can be planned
CHAT_OPENS_BEFORE = timedelta(minutes=15)
# "Not in the past" allows the minute before the current one: a form filled in at 12:34:50
# for 12:34 and sent at 12:35:05 is still accepted.
PAST_TOLERANCE = timedelta(minutes=1)
# The live room a session turns into: private, in the "Other" discipline, named after it.
LIVE_ROOM_DISCIPLINE = "Other"
LIVE_ROOM_NAME_MAX = 60
MAX_SEARCH = 100
# Planning is cheap to abuse (every session is listed publicly), so it is rate-limited.
CREATE_RATE_LIMIT = "20/hour"

NOT_FOUND = "This session does not exist (it may have been deleted). Pick another from the list."


def zone_or_utc(tz_name: object) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name, or UTC when the name is unknown."""
    if isinstance(tz_name, str) and tz_name and len(tz_name) <= 64:
        try:
            return ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo("UTC")


def chat_channel(session_id: int) -> str:
    """The chat channel name of a session (see ``ChatMessage.channel``)."""
    return f"session:{session_id}"


def chat_open(session: StudySession, now: datetime) -> bool:
    """Whether the session's chat accepts messages: from 15 minutes before start until the end."""
    if session.cancelled_at is not None:
        return False
    return session.starts_at - CHAT_OPENS_BEFORE <= now < session.ends_at


def chat_readable(session: StudySession, now: datetime) -> bool:
    """Whether the chat can be read: once it has opened, and read-only after the end."""
    if session.cancelled_at is not None:
        return False
    return now >= session.starts_at - CHAT_OPENS_BEFORE


def past_floor(now: datetime) -> datetime:
    """The earliest start a new (or moved) session may have: the previous whole minute."""
    return (now - PAST_TOLERANCE).replace(second=0, microsecond=0)


def next_change(starts_at: datetime, ends_at: datetime, *, cancelled: bool, now: datetime) -> datetime | None:
    """The next moment the session changes by itself (chat opens, it starts, it ends)."""
    if cancelled:
        return None
    for moment in (starts_at - CHAT_OPENS_BEFORE, starts_at, ends_at):
        if moment > now:
            return moment
    return None


def live_room_name(title: str) -> str:
    """The live room's name: the session title, shortened to what a room name allows."""
    if len(title) <= LIVE_ROOM_NAME_MAX:
        return title
    return title[: LIVE_ROOM_NAME_MAX - 1].rstrip() + "…"


def status_of(session: StudySession, now: datetime) -> str:
    """``cancelled``, ``upcoming``, ``live`` (between start and end) or ``ended``."""
    if session.cancelled_at is not None:
        return "cancelled"
    if now < session.starts_at:
        return "upcoming"
    if now < session.ends_at:
        return "live"
    return "ended"


def local_to_utc(day: date, clock: time, tz_name: str, *, field: str) -> datetime:
    """Turn a wall-clock date and time in ``tz_name`` into an aware UTC datetime.

    A time skipped by a daylight-saving change (e.g. 02:30 when clocks jump from 02:00 to
    03:00) does not exist; it is refused rather than silently moved. A repeated time (clocks
    going back) means its first occurrence.
    """
    zone = ZoneInfo(tz_name)
    naive = datetime.combine(day, clock)
    local = naive.replace(tzinfo=zone)
    try:
        as_utc = local.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 or 9999 shifted past the calendar's ends
        raise ServiceError("Pick a date within the next two years.", field="date") from None
    # Round-tripping exposes a non-existent local time: it comes back shifted by the gap.
    if as_utc.astimezone(zone).replace(tzinfo=None) != naive:
        raise ServiceError(
            f"{clock:%H:%M} does not exist on {day:%d %b %Y} in {tz_name}: the clocks change that "
            "night. Pick a time an hour later or earlier.",
            field=field,
        )
    return as_utc


def format_time_range(starts_at: datetime, ends_at: datetime, tz_name: str) -> str:
    """A human time range in a viewer's zone, e.g. ``Tue 24 Nov 2026 · 12:00–12:47 · Europe/Berlin (CET)``."""
    zone = zone_or_utc(tz_name)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    day = f"{start:%a} {start.day} {start:%b %Y}"
    if start.date() == end.date():
        span = f"{day} · {start:%H:%M}–{end:%H:%M}"
    else:
        span = f"{day} {start:%H:%M} – {end:%a} {end.day} {end:%b} {end:%H:%M}"
    abbreviation = start.tzname() or ""
    label = zone.key if abbreviation in ("", zone.key) else f"{zone.key} ({abbreviation})"
    return f"{span} · {label}"
