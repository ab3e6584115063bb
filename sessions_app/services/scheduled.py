"""Scheduled learning sessions: plan, edit, cancel, list, join/leave with a waitlist, notes.

Rules the product depends on, all enforced here (the state layer only forwards):

* Times arrive as the creator's local date and clock times and are stored in UTC.
* The creator hosts: they see everything participants see but take none of the places
  (a session with 5 places is the host plus 5 people).
* Capacity is never exceeded: the capacity check and the insert run in one transaction that
  first takes a write lock on the session (``FOR UPDATE`` on PostgreSQL, the database write
  lock on SQLite), and a unique (session, user) pair refuses double sign-ups.
* A full session puts newcomers on a waitlist; a freed place goes to the first in line.
* Privacy: outsiders get the public shape (title, time, description, places left); names, the
  meeting link and the chat belong to participants (people holding a place) only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sessions_app.models import Room, SessionNote, SessionParticipant, StudySession, User, utcnow
from sessions_app.services import ratelimit, rooms, text
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

# ASCII digits only: ``\d`` and ``str.isdigit`` also accept "²" or "٣", which ``int`` then
# refuses or reads unexpectedly.
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIME_RE = re.compile(r"^[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?$")
_DIGITS_RE = re.compile(r"^[0-9]{1,6}$")

NOT_FOUND = "This session does not exist (it may have been deleted). Pick another from the list."


# --- public shapes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanSession:
    """Validated form input, times already in UTC."""

    title: str
    description: str
    meeting_link: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None


@dataclass(frozen=True)
class SessionSummary:
    """A session as listed: public facts plus the viewer's own relation to it."""

    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None
    places_left: int | None
    status: str
    is_creator: bool
    is_participant: bool
    is_waitlisted: bool


@dataclass(frozen=True)
class SessionListing:
    """Upcoming (and running) sessions, and recent past ones, separately."""

    upcoming: tuple[SessionSummary, ...]
    past: tuple[SessionSummary, ...]


@dataclass(frozen=True)
class ParticipantPublic:
    """A participant as other participants see them."""

    user_id: int
    display_name: str
    avatar_url: str
    is_creator: bool


@dataclass(frozen=True)
class NotePublic:
    """A note on a session. ``author_name`` is hidden from people outside the session."""

    id: int
    author_name: str
    body: str
    is_public: bool
    mine: bool
    updated_at: datetime


@dataclass(frozen=True)
class SessionDetail:
    """One session as a given viewer may see it.

    For anyone not holding a place, ``meeting_link`` is None and ``participants`` is empty:
    this shape is what reaches the browser, so it must never carry more than the viewer may see.
    """

    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None
    places_left: int | None
    status: str
    revision: int
    is_creator: bool
    is_participant: bool
    is_waitlisted: bool
    waitlist_position: int
    meeting_link: str | None
    participants: tuple[ParticipantPublic, ...]
    chat_readable: bool
    chat_writable: bool
    can_join: bool
    can_leave: bool
    can_edit: bool
    can_write_note: bool
    my_note: NotePublic | None
    public_notes: tuple[NotePublic, ...]


@dataclass(frozen=True)
class JoinResult:
    """The outcome of joining: a place, or a place in the waitlist (1 = next)."""

    waitlisted: bool
    waitlist_position: int


@dataclass(frozen=True)
class ChatAccess:
    """What a user may do in a session's chat right now (for the chat feature)."""

    channel: str
    can_read: bool
    can_write: bool


@dataclass(frozen=True)
class FormValues:
    """A session as its edit form shows it, in the editor's time zone."""

    title: str
    description: str
    meeting_link: str
    date: str
    start: str
    end: str
    capacity: str
    timezone: str


# --- pure rules --------------------------------------------------------------------------------


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


def _clean_text(value: object, *, field: str, label: str, limit: int, required: bool, multiline: bool) -> str:
    """Every free-text field of a session goes through the one text rule (``text.clean``)."""
    return text.clean(value, label=label, max_len=limit, field=field, required=required, multiline=multiline)


def clean_title(value: object) -> str:
    """A topic title: 1–120 characters on one line."""
    return _clean_text(value, field="title", label="Title", limit=MAX_TITLE, required=True, multiline=False)


def clean_description(value: object) -> str:
    """A description: up to 1000 characters, line breaks kept."""
    return _clean_text(value, field="description", label="Description", limit=MAX_DESCRIPTION,
                       required=False, multiline=True)


def clean_meeting_link(value: object) -> str | None:
    """An optional ``http``/``https`` link (e.g. a Discord or video-call room); empty means none."""
    if value is None:
        return None
    # Multi-line keeps inner whitespace, so a link with a space or line break is refused below.
    link = text.clean(value, label="Meeting link", max_len=MAX_LINK, field="link", required=False,
                      multiline=True)
    if not link:
        return None
    try:
        parts = urlsplit(link)
    except ValueError:
        parts = None
    # Only web links: a javascript: or data: link would run in participants' browsers.
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ServiceError("Meeting link must be a web address starting with https:// (or http://).",
                           field="link")
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in link):
        raise ServiceError("Meeting link must not contain spaces.", field="link")
    return link


def clean_capacity(value: object) -> int | None:
    """Places: a whole number from 1 to 1000, or empty/None for unlimited."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    message = f"Places must be a whole number from 1 to {MAX_CAPACITY}, or empty for unlimited."
    if isinstance(value, bool):
        raise ServiceError(message, field="capacity")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS_RE.match(value.strip()):
        number = int(value.strip())
    else:
        raise ServiceError(message, field="capacity")
    if not 1 <= number <= MAX_CAPACITY:
        raise ServiceError(message, field="capacity")
    return number


def clean_timezone(value: object) -> str:
    """An IANA zone name the creator plans in."""
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ServiceError("Your time zone is unknown. Set it on the settings page and try again.",
                           field="timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(f"Unknown time zone {value[:64]!r}. Set yours on the settings page.",
                           field="timezone") from None
    return value


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or not value.strip():
        raise ServiceError("Choose a date.", field="date")
    text = value.strip()
    try:
        if not _DATE_RE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ServiceError("Enter the date as YYYY-MM-DD, e.g. 2026-03-24.", field="date") from None


def _parse_time(value: object, *, field: str, label: str) -> time:
    if not isinstance(value, str) or not value.strip():
        raise ServiceError(f"Enter {label}, e.g. 12:00.", field=field)
    text = value.strip()
    try:
        if not _TIME_RE.match(text):
            raise ValueError
        hours, minutes, *seconds = (int(p) for p in text.split(":"))
        return time(hours, minutes, seconds[0] if seconds else 0)
    except ValueError:
        raise ServiceError(f"Enter {label} as HH:MM, e.g. 12:00.", field=field) from None


def check_session_fields(
    *,
    title: object,
    description: object,
    meeting_link: object,
    date: object,
    start: object,
    end: object,
    capacity: object,
    timezone: object,
    now: datetime,
    earliest_start: datetime | None = None,
) -> CleanSession:
    """Validate a session form; the first bad field raises ``ServiceError`` naming it.

    Args:
        title: Topic title (1–120 characters).
        description: Optional description (≤ 1000 characters).
        meeting_link: Optional http(s) link.
        date: Local date ``YYYY-MM-DD`` in ``timezone``.
        start: Local start time ``HH:MM``.
        end: Local end time ``HH:MM`` on the same date, after the start.
        capacity: 1–1000, or empty/None for unlimited.
        timezone: The creator's IANA zone.
        now: The current time (aware).
        earliest_start: Starts before this are refused as "in the past"; defaults to the
            current minute. An edit that keeps the original start passes that start here.

    Returns:
        The cleaned values with UTC times.
    """
    clean = {
        "title": clean_title(title),
        "description": clean_description(description),
        "meeting_link": clean_meeting_link(meeting_link),
    }
    tz = clean_timezone(timezone)
    day = _parse_date(date)
    if day > (now + MAX_AHEAD).date():
        raise ServiceError("Sessions can be planned at most two years ahead. Pick an earlier date.", field="date")
    start_clock = _parse_time(start, field="start", label="a start time")
    end_clock = _parse_time(end, field="end", label="an end time")
    starts_at = local_to_utc(day, start_clock, tz, field="start")
    ends_at = local_to_utc(day, end_clock, tz, field="end")
    # Minute precision with a minute of tolerance: the current (or previous) minute is not
    # "in the past".
    floor = earliest_start if earliest_start is not None else past_floor(now)
    if starts_at < floor:
        raise ServiceError("The start time is in the past. Pick a later date or time.", field="start")
    if ends_at <= starts_at:
        raise ServiceError("The end time must be after the start time (on the same day).", field="end")
    if ends_at - starts_at > MAX_LENGTH:
        raise ServiceError("A session can last at most 12 hours. Pick an earlier end time.", field="end")
    capacity_value = clean_capacity(capacity)
    return CleanSession(starts_at=starts_at, ends_at=ends_at, timezone=tz, capacity=capacity_value, **clean)


# --- reading helpers --------------------------------------------------------------------------


def _get(db: Session, session_id: object) -> StudySession:
    if not isinstance(session_id, int) or text.parse_id(session_id) == 0:
        raise ServiceError(NOT_FOUND)
    row = db.get(StudySession, session_id)
    if row is None:
        raise ServiceError(NOT_FOUND)
    return row


def _holder_count(db: Session, session_id: int) -> int:
    return db.exec(
        select(func.count()).select_from(SessionParticipant)
        .where(SessionParticipant.session_id == session_id, col(SessionParticipant.waitlisted).is_(False))
    ).one()


def _places_left(session: StudySession, holders: int) -> int | None:
    return None if session.capacity is None else max(session.capacity - holders, 0)


def _membership(db: Session, session_id: int, user_id: int | None) -> SessionParticipant | None:
    if not user_id:
        return None
    return db.exec(
        select(SessionParticipant)
        .where(SessionParticipant.session_id == session_id, SessionParticipant.user_id == user_id)
    ).first()


def _waitlist_position(db: Session, row: SessionParticipant) -> int:
    ahead = db.exec(
        select(func.count()).select_from(SessionParticipant).where(
            SessionParticipant.session_id == row.session_id,
            col(SessionParticipant.waitlisted).is_(True),
            or_(col(SessionParticipant.joined_at) < row.joined_at,
                (col(SessionParticipant.joined_at) == row.joined_at) & (col(SessionParticipant.id) < row.id)),
        )
    ).one()
    return ahead + 1


def _lock(db: Session, session_id: object) -> StudySession:
    """Take the write lock on one session for the rest of the caller's transaction.

    Call it before reading anything that the decision depends on: on SQLite a transaction that
    read first and writes later cannot wait for the lock, it fails at once.

    On PostgreSQL a row lock (``SELECT … FOR UPDATE``) serialises joins to the same session.
    SQLite has one database-wide write lock; a no-op UPDATE as the transaction's first write
    takes it *before* anything is counted (BEGIN IMMEDIATE semantics), so two joiners can
    never both count the same free place. Other writers wait on the busy timeout.
    """
    if not isinstance(session_id, int) or text.parse_id(session_id) == 0:
        raise ServiceError(NOT_FOUND)
    if db.get_bind().dialect.name == "sqlite":
        db.exec(update(StudySession).where(col(StudySession.id) == session_id)
                .values(updated_at=StudySession.updated_at))
        row = db.get(StudySession, session_id, populate_existing=True)
    else:
        row = db.exec(select(StudySession).where(StudySession.id == session_id)
                      .with_for_update().execution_options(populate_existing=True)).first()
    if row is None:
        raise ServiceError(NOT_FOUND)
    return row


def _promote_waitlisted(db: Session, session: StudySession) -> list[int]:
    """Give free places to the first in the waitlist (call with the session locked)."""
    free = None if session.capacity is None else session.capacity - _holder_count(db, session.id)
    if free is not None and free <= 0:
        return []
    query = (select(SessionParticipant)
             .where(SessionParticipant.session_id == session.id, col(SessionParticipant.waitlisted).is_(True))
             .order_by(col(SessionParticipant.joined_at), col(SessionParticipant.id)))
    if free is not None:
        query = query.limit(free)
    promoted = []
    for row in db.exec(query).all():
        row.waitlisted = False
        db.add(row)
        promoted.append(row.user_id)
    db.flush()
    return promoted


def _require_creator(session: StudySession, user_id: int, action: str) -> None:
    if session.creator_id != user_id:
        raise ServiceError(f"Only the person who planned this session can {action} it.")


# --- create / edit / cancel ---------------------------------------------------------------------


def create_session(
    db: Session,
    *,
    creator_id: int,
    title: object,
    description: object,
    meeting_link: object,
    date: object,
    start: object,
    end: object,
    capacity: object,
    timezone: object,
    now: datetime | None = None,
) -> StudySession:
    """Plan a session; the creator hosts it (and takes none of its places).

    Raises:
        ServiceError: For any invalid field (``err.field`` names it) or too many sessions planned.
    """
    now = now or utcnow()
    clean = check_session_fields(title=title, description=description, meeting_link=meeting_link,
                                 date=date, start=start, end=end, capacity=capacity,
                                 timezone=timezone, now=now)
    ratelimit.hit(CREATE_RATE_LIMIT, f"sessions:create:{creator_id}",
                  message="You planned many sessions in a short time. Wait a while, then try again.")
    session = StudySession(creator_id=creator_id, title=clean.title, description=clean.description,
                           meeting_link=clean.meeting_link, starts_at=clean.starts_at, ends_at=clean.ends_at,
                           timezone=clean.timezone, capacity=clean.capacity, created_at=now, updated_at=now)
    db.add(session)
    db.flush()
    return session


def update_session(
    db: Session,
    *,
    session_id: int,
    user_id: int,
    title: object,
    description: object,
    meeting_link: object,
    date: object,
    start: object,
    end: object,
    capacity: object,
    timezone: object,
    now: datetime | None = None,
) -> StudySession:
    """Edit a session (creator only, until it ends). Raising the capacity promotes waitlisted people.

    Raises:
        ServiceError: Not the creator, the session ended or was cancelled, or a bad field.
    """
    now = now or utcnow()
    session = _lock(db, session_id)
    _require_creator(session, user_id, "edit")
    if session.cancelled_at is not None:
        raise ServiceError("This session was cancelled; plan a new one instead.")
    if now >= session.ends_at:
        raise ServiceError("This session has ended and can no longer be edited.")
    # Keeping the original start is fine even once it has passed (e.g. fixing a typo mid-session).
    current_floor = past_floor(now)
    clean = check_session_fields(title=title, description=description, meeting_link=meeting_link,
                                 date=date, start=start, end=end, capacity=capacity, timezone=timezone,
                                 now=now, earliest_start=min(session.starts_at, current_floor))
    if clean.starts_at != session.starts_at and clean.starts_at < current_floor:
        raise ServiceError("The start time is in the past. Pick a later date or time.", field="start")
    holders = _holder_count(db, session.id)
    if clean.capacity is not None and clean.capacity < holders:
        raise ServiceError(f"{holders} people already hold a place, so places cannot go below {holders}.",
                           field="capacity")
    for name in ("title", "description", "meeting_link", "starts_at", "ends_at", "timezone", "capacity"):
        setattr(session, name, getattr(clean, name))
    session.updated_at = now
    db.add(session)
    db.flush()
    _promote_waitlisted(db, session)
    return session


def cancel_session(db: Session, *, session_id: int, user_id: int, now: datetime | None = None) -> StudySession:
    """Cancel a session (creator only, before it ends). Participants keep seeing it as cancelled."""
    now = now or utcnow()
    session = _get(db, session_id)
    _require_creator(session, user_id, "cancel")
    if session.cancelled_at is not None:
        return session
    if now >= session.ends_at:
        raise ServiceError("This session has already ended; there is nothing to cancel.")
    session.cancelled_at = now
    session.updated_at = now
    db.add(session)
    db.flush()
    return session


def form_values(db: Session, *, session_id: int, user_id: int, tz_name: str) -> FormValues:
    """The edit form's values in the editor's zone (creator only)."""
    session = _get(db, session_id)
    _require_creator(session, user_id, "edit")
    zone = zone_or_utc(tz_name)
    start, end = session.starts_at.astimezone(zone), session.ends_at.astimezone(zone)
    return FormValues(title=session.title, description=session.description,
                      meeting_link=session.meeting_link or "", date=start.date().isoformat(),
                      start=f"{start:%H:%M}", end=f"{end:%H:%M}",
                      capacity="" if session.capacity is None else str(session.capacity), timezone=zone.key)


# --- join / leave -----------------------------------------------------------------------------------


def join_session(db: Session, *, session_id: int, user_id: int, now: datetime | None = None) -> JoinResult:
    """Take a place, or a place in the waitlist when the session is full.

    The lock, the count and the insert run in the caller's single transaction; commit it (the
    ``session_scope`` does) to release the lock. Joining twice returns the current standing.
    """
    now = now or utcnow()
    session = _lock(db, session_id)
    if session.creator_id == user_id:
        raise ServiceError("You are hosting this session, so you are already in.")
    if session.cancelled_at is not None:
        raise ServiceError("This session was cancelled, so it cannot be joined.")
    if now >= session.ends_at:
        raise ServiceError("This session has ended.")
    existing = _membership(db, session.id, user_id)
    if existing is not None:
        return JoinResult(existing.waitlisted, _waitlist_position(db, existing) if existing.waitlisted else 0)
    full = session.capacity is not None and _holder_count(db, session.id) >= session.capacity
    row = SessionParticipant(session_id=session.id, user_id=user_id, joined_at=now, waitlisted=full)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        # Only reachable if a lock was bypassed; the unique pair is the last line of defence.
        db.rollback()
        raise ServiceError("You have already joined this session. Reload the page.") from None
    return JoinResult(full, _waitlist_position(db, row) if full else 0)


def leave_session(db: Session, *, session_id: int, user_id: int, now: datetime | None = None) -> list[int]:
    """Give up a place (or a waitlist spot); the freed place goes to the first waitlisted.

    Returns:
        The ids of users promoted from the waitlist (to notify them).
    """
    now = now or utcnow()
    session = _lock(db, session_id)
    if session.creator_id == user_id:
        raise ServiceError("You are hosting this session. Cancel it instead if you cannot make it.")
    if session.cancelled_at is None and now >= session.ends_at:
        raise ServiceError("This session has already ended.")
    row = _membership(db, session.id, user_id)
    if row is None:
        return []
    held_place = not row.waitlisted
    db.delete(row)
    db.flush()
    if held_place and session.cancelled_at is None:
        return _promote_waitlisted(db, session)
    return []


# --- listing and detail ----------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_sessions(
    db: Session,
    *,
    viewer_id: int | None,
    search: object = "",
    only_mine: bool = False,
    now: datetime | None = None,
    limit: int = 50,
    past_limit: int = 20,
) -> SessionListing:
    """Upcoming and running sessions (soonest first) and recent past ones (latest first).

    Args:
        db: The database session.
        viewer_id: The logged-in viewer (None for nobody): decides "only mine" and whether a
            cancelled session is shown (only to people involved in it).
        search: Text matched case-insensitively in title and description.
        only_mine: Only sessions the viewer hosts or joined (waitlist included).
        now: The current time.
        limit: At most this many upcoming sessions.
        past_limit: At most this many past sessions.
    """
    now = now or utcnow()
    involved = (col(StudySession.creator_id) == (viewer_id or 0)) | col(StudySession.id).in_(
        select(SessionParticipant.session_id).where(SessionParticipant.user_id == (viewer_id or 0))
    )
    query = select(StudySession)
    if only_mine:
        query = query.where(involved)
    else:
        query = query.where(col(StudySession.cancelled_at).is_(None) | involved)
    try:  # a search box is forgiving: text the rule refuses just searches for nothing
        needle = text.clean(search, label="Search", max_len=10 * MAX_SEARCH, required=False)[:MAX_SEARCH]
    except ServiceError:
        needle = ""
    if needle:
        pattern = _like_pattern(needle)
        query = query.where(col(StudySession.title).ilike(pattern, escape="\\")
                            | col(StudySession.description).ilike(pattern, escape="\\"))
    upcoming = db.exec(query.where(StudySession.ends_at > now)
                       .order_by(col(StudySession.starts_at), col(StudySession.id)).limit(limit)).all()
    past = db.exec(query.where(StudySession.ends_at <= now)
                   .order_by(col(StudySession.starts_at).desc(), col(StudySession.id).desc())
                   .limit(past_limit)).all()
    ids = [s.id for s in (*upcoming, *past)]
    counts: dict[int, int] = {}
    mine: dict[int, bool] = {}
    if ids:
        counts = dict(db.exec(
            select(SessionParticipant.session_id, func.count())
            .where(col(SessionParticipant.session_id).in_(ids), col(SessionParticipant.waitlisted).is_(False))
            .group_by(SessionParticipant.session_id)
        ).all())
        if viewer_id:
            mine = dict(db.exec(
                select(SessionParticipant.session_id, SessionParticipant.waitlisted)
                .where(col(SessionParticipant.session_id).in_(ids), SessionParticipant.user_id == viewer_id)
            ).all())

    def summary(s: StudySession) -> SessionSummary:
        return SessionSummary(
            id=s.id, title=s.title, description=s.description, starts_at=s.starts_at, ends_at=s.ends_at,
            timezone=s.timezone, capacity=s.capacity, places_left=_places_left(s, counts.get(s.id, 0)),
            status=status_of(s, now), is_creator=bool(viewer_id) and s.creator_id == viewer_id,
            is_participant=mine.get(s.id) is False, is_waitlisted=mine.get(s.id) is True,
        )

    return SessionListing(tuple(summary(s) for s in upcoming), tuple(summary(s) for s in past))


def session_detail(db: Session, *, session_id: int, viewer_id: int | None, now: datetime | None = None) -> SessionDetail:
    """One session shaped for ``viewer_id``: private parts only for people holding a place.

    Raises:
        ServiceError: The session does not exist.
    """
    now = now or utcnow()
    session = _get(db, session_id)
    membership = _membership(db, session.id, viewer_id)
    is_creator = bool(viewer_id) and session.creator_id == viewer_id
    is_participant = is_creator or (membership is not None and not membership.waitlisted)
    is_waitlisted = membership is not None and membership.waitlisted and not is_creator
    status = status_of(session, now)
    holders = _holder_count(db, session.id)

    participants: tuple[ParticipantPublic, ...] = ()
    if is_participant:
        host = db.get(User, session.creator_id)
        rows = db.exec(
            select(User).join(SessionParticipant, col(User.id) == SessionParticipant.user_id)
            .where(SessionParticipant.session_id == session.id, col(SessionParticipant.waitlisted).is_(False))
            .order_by(col(SessionParticipant.joined_at), col(SessionParticipant.id))
        ).all()
        # Host first, then people in the order they joined.
        people = ([host] if host is not None else []) + [u for u in rows if u.id != session.creator_id]
        participants = tuple(ParticipantPublic(u.id, u.display_name, u.avatar_url, u.id == session.creator_id)
                             for u in people)

    notes = db.exec(
        select(SessionNote, User).join(User, col(User.id) == SessionNote.user_id)
        .where(SessionNote.session_id == session.id,
               col(SessionNote.is_public).is_(True) | (SessionNote.user_id == (viewer_id or 0)))
        .order_by(col(SessionNote.created_at), col(SessionNote.id))
    ).all()

    def note_view(note: SessionNote, author: User) -> NotePublic:
        mine = bool(viewer_id) and note.user_id == viewer_id
        # Outsiders may read public notes but not learn who attended.
        name = author.display_name if (is_participant or mine) else "A participant"
        return NotePublic(note.id, name, note.body, note.is_public, mine, note.updated_at)

    viewed = [note_view(n, u) for n, u in notes]
    ended = status == "ended"
    open_for_joining = status in ("upcoming", "live")
    return SessionDetail(
        id=session.id, title=session.title, description=session.description,
        starts_at=session.starts_at, ends_at=session.ends_at, timezone=session.timezone,
        capacity=session.capacity, places_left=_places_left(session, holders), status=status,
        revision=max(int((session.updated_at - session.created_at).total_seconds()), 0),
        is_creator=is_creator, is_participant=is_participant, is_waitlisted=is_waitlisted,
        waitlist_position=_waitlist_position(db, membership) if is_waitlisted else 0,
        meeting_link=session.meeting_link if is_participant else None,
        participants=participants,
        chat_readable=is_participant and chat_readable(session, now),
        chat_writable=is_participant and chat_open(session, now),
        can_join=bool(viewer_id) and membership is None and not is_creator and open_for_joining,
        can_leave=membership is not None and not is_creator and open_for_joining,
        can_edit=is_creator and open_for_joining,
        can_write_note=is_participant and ended,
        my_note=next((n for n in viewed if n.mine), None),
        public_notes=tuple(n for n in viewed if n.is_public),
    )


def standing(db: Session, *, session_id: int, user_id: int | None) -> str:
    """The user's relation to a session: ``creator``, ``participant``, ``waitlisted`` or ``none``
    (also ``none`` for a session that no longer exists)."""
    if not user_id or not isinstance(session_id, int) or text.parse_id(session_id) == 0:
        return "none"
    session = db.get(StudySession, session_id)
    if session is None:
        return "none"
    if session.creator_id == user_id:
        return "creator"
    membership = _membership(db, session.id, user_id)
    if membership is None:
        return "none"
    return "waitlisted" if membership.waitlisted else "participant"


def chat_access(db: Session, *, session_id: int, user_id: int | None, now: datetime | None = None) -> ChatAccess:
    """The server-side chat rule for a session: participants only, from 15 min before start.

    Read-only after the end; nothing for cancelled sessions or people not holding a place.
    """
    now = now or utcnow()
    session = _get(db, session_id)
    membership = _membership(db, session.id, user_id)
    inside = bool(user_id) and (session.creator_id == user_id
                                or (membership is not None and not membership.waitlisted))
    return ChatAccess(chat_channel(session.id), inside and chat_readable(session, now),
                      inside and chat_open(session, now))


# --- notes -----------------------------------------------------------------------------------------


def save_note(
    db: Session,
    *,
    session_id: int,
    user_id: int,
    body: object,
    is_public: bool,
    now: datetime | None = None,
) -> SessionNote:
    """Write or replace the user's one note on a session, after it ended (participants only)."""
    now = now or utcnow()
    session = _get(db, session_id)
    membership = _membership(db, session.id, user_id)
    if session.creator_id != user_id and (membership is None or membership.waitlisted):
        raise ServiceError("Only people who took part in this session can leave a note on it.")
    if session.cancelled_at is not None:
        raise ServiceError("This session was cancelled, so there is nothing to write a note about.")
    if now < session.ends_at:
        raise ServiceError("Notes open when the session has ended. Come back afterwards.")
    text = _clean_text(body, field="note", label="Note", limit=MAX_NOTE, required=True, multiline=True)
    note = db.exec(select(SessionNote)
                   .where(SessionNote.session_id == session.id, SessionNote.user_id == user_id)).first()
    if note is None:
        note = SessionNote(session_id=session.id, user_id=user_id, body=text, is_public=bool(is_public),
                           created_at=now, updated_at=now)
    else:
        note.body, note.is_public, note.updated_at = text, bool(is_public), now
    db.add(note)
    db.flush()
    return note


def delete_note(db: Session, *, session_id: int, user_id: int) -> None:
    """Remove the user's own note on a session (nothing happens if there is none)."""
    note = db.exec(select(SessionNote)
                   .where(SessionNote.session_id == session_id, SessionNote.user_id == user_id)).first()
    if note is not None:
        db.delete(note)
        db.flush()


# --- public numbers for live updates ---------------------------------------------------------------


def public_places(db: Session, *, now: datetime | None = None, limit: int = 500) -> dict[int, tuple[int | None, str]]:
    """Places left and status of every session that has not ended (cancelled ones included),
    keyed by id: the public numbers the sessions list updates live. Nothing private."""
    now = now or utcnow()
    sessions = db.exec(select(StudySession).where(StudySession.ends_at > now)
                       .order_by(col(StudySession.starts_at), col(StudySession.id)).limit(limit)).all()
    ids = [s.id for s in sessions]
    counts: dict[int, int] = {}
    if ids:
        counts = dict(db.exec(
            select(SessionParticipant.session_id, func.count())
            .where(col(SessionParticipant.session_id).in_(ids), col(SessionParticipant.waitlisted).is_(False))
            .group_by(SessionParticipant.session_id)
        ).all())
    return {s.id: (_places_left(s, counts.get(s.id, 0)), status_of(s, now)) for s in sessions}


# --- the live room ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveRoom:
    """The live room a session opened as, and whether this call created it."""

    room_id: int
    created: bool


def open_live_room(db: Session, *, session_id: int, user_id: int, now: datetime | None = None) -> LiveRoom:
    """Get or create the session's live room and put the caller in it (creator or participant).

    From the start until the end the session is a private live room named after it, with its
    creator as host. The session row is locked first and the link is a compare-and-set on
    ``StudySession.room_id``, so however many participants press the button at once, exactly
    one room is created. The caller gets a stint in the room (admitted by
    ``rooms.has_access`` through the session, no code needed); the creator takes the host role
    whenever they arrive. A closed room (everyone left) is replaced by a new one.

    Raises:
        ServiceError: Not a participant, cancelled, not started yet, or ended.
    """
    now = now or utcnow()
    session = _lock(db, session_id)
    membership = _membership(db, session.id, user_id)
    is_creator = session.creator_id == user_id
    if not is_creator and (membership is None or membership.waitlisted):
        raise ServiceError("Only people who joined this session can enter its live room.")
    if session.cancelled_at is not None:
        raise ServiceError("This session was cancelled, so there is no live room.")
    if now < session.starts_at:
        raise ServiceError("The live room opens at the start time. Come back then.")
    if now >= session.ends_at:
        raise ServiceError("This session has ended.")
    room = db.get(Room, session.room_id) if session.room_id else None
    created = False
    if room is None or not room.is_open:
        # No join code: the session's people get in through the session (``rooms.has_access``)
        # and nobody needs one, so none exists to be shown, shared or leaked.
        room = Room(name=live_room_name(session.title), discipline=LIVE_ROOM_DISCIPLINE, is_private=True,
                    code=None, host_id=session.creator_id if is_creator else None, created_at=now)
        db.add(room)
        db.flush()
        previous = session.room_id
        linked = db.exec(
            update(StudySession)
            .where(col(StudySession.id) == session.id,
                   col(StudySession.room_id).is_(None) if previous is None else col(StudySession.room_id) == previous)
            .values(room_id=room.id)
        )
        if linked.rowcount != 1:  # only reachable if the session lock was bypassed
            raise ServiceError("The live room is opening right now. Try again in a moment.")
        session.room_id = room.id
        created = True
    elif is_creator and room.host_id != user_id:
        # The creator hosts: arriving, they take the role back from whoever held it meanwhile.
        room.host_id = user_id
        db.add(room)
        db.flush()
    rooms.enter(db, room_id=room.id, user_id=user_id, now=now)
    return LiveRoom(room.id, created)


# --- account deletion -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    """What a user's departure (account deletion) changed, for the live updates."""

    cancelled: tuple[int, ...]
    left: tuple[int, ...]


def release_user(db: Session, *, user_id: int, now: datetime | None = None) -> Departure:
    """Before an account is deleted: cancel the upcoming sessions it hosts that have people
    signed up, and give up its places elsewhere (the waitlist moves up).

    The hosted sessions are then deleted with the account (``creator_id`` cascades), so the
    cancellation is what the pages open at that moment are told; keeping a cancelled session
    visible afterwards would need ``creator_id`` to become nullable (a schema change).
    """
    now = now or utcnow()
    hosted = db.exec(select(StudySession).where(StudySession.creator_id == user_id,
                                                col(StudySession.cancelled_at).is_(None),
                                                StudySession.ends_at > now)).all()
    cancelled = []
    for session in hosted:
        people = db.exec(select(SessionParticipant.id)
                         .where(SessionParticipant.session_id == session.id)).first()
        if people is not None:
            session.cancelled_at = session.updated_at = now
            db.add(session)
            cancelled.append(session.id)
    joined = db.exec(select(SessionParticipant.session_id).where(SessionParticipant.user_id == user_id)).all()
    left = []
    for session_id in joined:
        session = db.get(StudySession, session_id)
        if session is None or session.creator_id == user_id:
            continue
        if session.cancelled_at is None and now < session.ends_at:
            leave_session(db, session_id=session_id, user_id=user_id, now=now)
            left.append(session_id)
    db.flush()
    return Departure(tuple(cancelled), tuple(left))
