"""Scheduled sessions: validating the plan / edit form (one input model, ``SessionForm``).

The first bad field raises ``ServiceError`` naming it (``err.field``), so the form can point at it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sessions_app.services import text
from sessions_app.services.errors import ServiceError
from sessions_app.services.scheduled.rules import (
    MAX_AHEAD,
    MAX_CAPACITY,
    MAX_DESCRIPTION,
    MAX_LENGTH,
    MAX_LINK,
    MAX_TITLE,
    local_to_utc,
    past_floor,
)
from sessions_app.services.scheduled.shapes import CleanSession

# ASCII digits only: ``\d`` and ``str.isdigit`` also accept "²" or "٣", which ``int`` then
# refuses or reads unexpectedly.
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIME_RE = re.compile(r"^[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?$")
_DIGITS_RE = re.compile(r"^[0-9]{1,6}$")


@dataclass(frozen=True)
class SessionForm:
    """The eight fields of the plan / edit form: the one input model of a session.

    It arrives as the browser sent it (any value; ``check_session_fields`` cleans it) and goes
    back out the same way: ``editing.form_values`` fills the edit form with this shape, in the
    editor's time zone.
    """

    title: object
    description: object
    meeting_link: object
    date: object
    start: object
    end: object
    capacity: object
    timezone: object


# The form as the edit page shows it: the same eight fields, as strings.
FormValues = SessionForm


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
    form: SessionForm,
    *,
    now: datetime,
    earliest_start: datetime | None = None,
) -> CleanSession:
    """Validate a session form; the first bad field raises ``ServiceError`` naming it.

    Args:
        form: The eight fields as sent. ``title`` 1–120 characters; ``description`` optional,
            ≤ 1000 characters; ``meeting_link`` an optional http(s) link; ``date`` the local
            date ``YYYY-MM-DD`` in ``timezone``; ``start`` / ``end`` local ``HH:MM`` on that
            date, the end after the start; ``capacity`` 1–1000, or empty/None for unlimited;
            ``timezone`` the creator's IANA zone.
        now: The current time (aware).
        earliest_start: Starts before this are refused as "in the past"; defaults to the
            current minute. An edit that keeps the original start passes that start here.

    Returns:
        The cleaned values with UTC times.
    """
    clean = {
        "title": clean_title(form.title),
        "description": clean_description(form.description),
        "meeting_link": clean_meeting_link(form.meeting_link),
    }
    tz = clean_timezone(form.timezone)
    day = _parse_date(form.date)
    if day > (now + MAX_AHEAD).date():
        raise ServiceError("Sessions can be planned at most two years ahead. Pick an earlier date.", field="date")
    start_clock = _parse_time(form.start, field="start", label="a start time")
    end_clock = _parse_time(form.end, field="end", label="an end time")
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
    capacity_value = clean_capacity(form.capacity)
    return CleanSession(starts_at=starts_at, ends_at=ends_at, timezone=tz, capacity=capacity_value, **clean)
