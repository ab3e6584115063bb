"""Calendar export: .ics files (one session, or a user's private feed) and Google Calendar links.

The single-session file and the Google link are built from the viewer's ``SessionDetail``, so
they carry the meeting link only when that viewer may see it. The feed is a secret URL: its
token is shown once and only its SHA-256 is stored (like login tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode, urlsplit

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from sessions_app import routes
from sessions_app.models import CalendarFeed, SessionParticipant, StudySession, utcnow
from sessions_app.services.scheduled import SessionDetail
from sessions_app.services.tokens import hash_token, new_token
from sessions_app.settings import get_settings

GOOGLE_TEMPLATE_URL = "https://calendar.google.com/calendar/render"
FEED_PATH = "/calendar/{token}.ics"
PRODID = "-//Sessions//Scheduled study sessions//EN"
# The feed reaches back this far: enough for "what did I attend", bounded for big histories.
FEED_HISTORY = timedelta(days=180)
FEED_MAX_EVENTS = 500
_GOOGLE_TIME = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class CalendarItem:
    """What one calendar event shows (already filtered for who receives it)."""

    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    meeting_link: str | None
    cancelled: bool
    revision: int


def session_url(session_id: int) -> str:
    """The absolute URL of a session's page in the app."""
    return f"{get_settings().public_url.rstrip('/')}{routes.session(session_id)}"


def feed_url(token: str) -> str:
    """The absolute subscription URL of a calendar feed (served by the backend)."""
    return f"{get_settings().backend_url.rstrip('/')}{FEED_PATH.format(token=token)}"


def item_from_detail(detail: SessionDetail) -> CalendarItem:
    """A calendar item exactly as much as the viewer of ``detail`` may see."""
    return CalendarItem(detail.id, detail.title, detail.description, detail.starts_at, detail.ends_at,
                        detail.meeting_link, detail.status == "cancelled", detail.revision)


def item_from_session(session: StudySession) -> CalendarItem:
    """A calendar item with the private parts (for the participant's own feed)."""
    revision = max(int((session.updated_at - session.created_at).total_seconds()), 0)
    return CalendarItem(session.id, session.title, session.description, session.starts_at, session.ends_at,
                        session.meeting_link, session.cancelled_at is not None, revision)


def _details_text(item: CalendarItem) -> str:
    parts = [item.description] if item.description else []
    if item.meeting_link:
        parts.append(f"Meeting link: {item.meeting_link}")
    parts.append(f"Session page: {session_url(item.id)}")
    return "\n\n".join(parts)


def _uid(session_id: int) -> str:
    host = urlsplit(get_settings().public_url).hostname or "sessions.local"
    return f"study-session-{session_id}@{host}"


def _event(item: CalendarItem, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", _uid(item.id))
    event.add("dtstamp", stamp)
    event.add("dtstart", item.starts_at)
    event.add("dtend", item.ends_at)
    event.add("summary", f"Cancelled: {item.title}" if item.cancelled else item.title)
    event.add("description", _details_text(item))
    event.add("url", session_url(item.id))
    if item.meeting_link:
        event.add("location", item.meeting_link)
    event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
    # Calendars apply an update only when SEQUENCE grows: seconds since creation of the last edit.
    event.add("sequence", item.revision)
    return event


def _calendar(name: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
        cal.add("x-published-ttl", "PT1H")
    return cal


def ics_for_items(items: list[CalendarItem], *, name: str | None = None, now: datetime | None = None) -> bytes:
    """A VCALENDAR with one VEVENT per item, as bytes ready to serve or download."""
    stamp = now or utcnow()
    cal = _calendar(name)
    for item in items:
        cal.add_component(_event(item, stamp))
    return cal.to_ical()


def session_ics(detail: SessionDetail, *, now: datetime | None = None) -> bytes:
    """The .ics file for one session, as its viewer may see it."""
    return ics_for_items([item_from_detail(detail)], now=now)


def ics_filename(title: str) -> str:
    """A safe download name like ``linear-algebra.ics``."""
    slug = "".join(c.lower() if c.isascii() and c.isalnum() else "-" for c in title)
    slug = "-".join(p for p in slug.split("-") if p)[:60]
    return f"{slug or 'session'}.ics"


def google_calendar_link(detail: SessionDetail) -> str:
    """A Google Calendar "add event" link for one session, as its viewer may see it; "" for a
    cancelled session (there is nothing to add: its .ics says CANCELLED instead)."""
    if detail.status == "cancelled":
        return ""
    item = item_from_detail(detail)
    params = {
        "action": "TEMPLATE",
        "text": item.title,
        "dates": f"{item.starts_at.strftime(_GOOGLE_TIME)}/{item.ends_at.strftime(_GOOGLE_TIME)}",
        "details": _details_text(item),
    }
    if item.meeting_link:
        params["location"] = item.meeting_link
    # Keep "/" literal between the two dates, as Google documents the format.
    return f"{GOOGLE_TEMPLATE_URL}?{urlencode(params, quote_via=quote, safe='/')}"


# --- the private feed ---------------------------------------------------------------------------


def feed_items(db: Session, *, user_id: int, now: datetime | None = None) -> list[CalendarItem]:
    """Sessions the user holds a place in (hosting included), recent and upcoming.

    Cancelled sessions stay in the feed (as STATUS:CANCELLED) so subscribed calendars remove
    or strike them instead of keeping a stale event.
    """
    now = now or utcnow()
    joined = select(SessionParticipant.session_id).where(
        SessionParticipant.user_id == user_id, col(SessionParticipant.waitlisted).is_(False))
    sessions = db.exec(
        select(StudySession)
        .where(col(StudySession.id).in_(joined) | (StudySession.creator_id == user_id),
               StudySession.ends_at >= now - FEED_HISTORY)
        .order_by(col(StudySession.starts_at)).limit(FEED_MAX_EVENTS)
    ).all()
    return [item_from_session(s) for s in sessions]


def feed_ics(db: Session, *, user_id: int, now: datetime | None = None) -> bytes:
    """The user's whole feed as .ics bytes."""
    return ics_for_items(feed_items(db, user_id=user_id, now=now), name="Sessions", now=now)


def feed_ics_for_token(db: Session, *, token: object) -> bytes | None:
    """The feed a secret token opens, or None if the token is unknown or revoked."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    row = db.exec(select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token))).first()
    if row is None:
        return None
    return feed_ics(db, user_id=row.user_id)


def create_feed_token(db: Session, *, user_id: int) -> str:
    """Create the user's feed, or regenerate it (the old URL stops working). Show the token once."""
    token = new_token()
    row = db.exec(select(CalendarFeed).where(CalendarFeed.user_id == user_id)).first()
    if row is None:
        row = CalendarFeed(user_id=user_id, token_hash=hash_token(token))
    else:
        row.token_hash, row.created_at = hash_token(token), utcnow()
    db.add(row)
    db.flush()
    return token


regenerate_feed_token = create_feed_token


def revoke_feed(db: Session, *, user_id: int) -> None:
    """Switch the user's feed off: its URL stops working at once."""
    row = db.exec(select(CalendarFeed).where(CalendarFeed.user_id == user_id)).first()
    if row is not None:
        db.delete(row)
        db.flush()


def has_feed(db: Session, *, user_id: int) -> bool:
    """Whether the user has an active feed (its URL is not recoverable, only replaceable)."""
    return db.exec(select(CalendarFeed.id).where(CalendarFeed.user_id == user_id)).first() is not None
