"""Scheduled sessions: plan, edit and cancel (the creator's side), and the edit form's values."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from sessions_app.models import StudySession, utcnow
from sessions_app.services import ratelimit
from sessions_app.services.errors import ServiceError
from sessions_app.services.scheduled.places import (
    _get,
    _holder_count,
    _lock,
    _promote_waitlisted,
    _require_creator,
)
from sessions_app.services.scheduled.rules import CREATE_RATE_LIMIT, past_floor, zone_or_utc
from sessions_app.services.scheduled.validation import FormValues, SessionForm, check_session_fields


def create_session(
    db: Session,
    *,
    creator_id: int,
    now: datetime | None = None,
    **fields: object,
) -> StudySession:
    """Plan a session; the creator hosts it (and takes none of its places).

    ``fields`` are the eight ``SessionForm`` fields, as sent.

    Raises:
        ServiceError: For any invalid field (``err.field`` names it) or too many sessions planned.
    """
    now = now or utcnow()
    clean = check_session_fields(SessionForm(**fields), now=now)
    ratelimit.hit(CREATE_RATE_LIMIT, f"sessions:create:{creator_id}",
                  message="You planned many sessions in a short time. Try again in {wait}.")
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
    now: datetime | None = None,
    **fields: object,
) -> StudySession:
    """Edit a session (creator only, until it ends). Raising the capacity promotes waitlisted people.

    ``fields`` are the eight ``SessionForm`` fields, as sent.

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
    clean = check_session_fields(SessionForm(**fields), now=now,
                                 earliest_start=min(session.starts_at, current_floor))
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
