"""Scheduled sessions: participants' notes (one per person, public or private)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from sessions_app.models import SessionNote, utcnow
from sessions_app.services.errors import ServiceError
from sessions_app.services.scheduled.places import _get, _membership
from sessions_app.services.scheduled.rules import MAX_NOTE
from sessions_app.services.scheduled.validation import _clean_text


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
