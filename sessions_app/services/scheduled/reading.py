"""Scheduled sessions: reading them (the list, one session as a viewer may see it, standing, chat access).

Privacy: outsiders get the public shape (title, time, description, places left); names, the
meeting link and the chat belong to participants (people holding a place) only.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from sessions_app.models import SessionNote, SessionParticipant, StudySession, User, utcnow
from sessions_app.services import text
from sessions_app.services.errors import ServiceError
from sessions_app.services.scheduled.places import (
    _get,
    _holder_count,
    _holder_counts,
    _membership,
    _places_left,
    _waitlist_position,
)
from sessions_app.services.scheduled.rules import (
    MAX_SEARCH,
    chat_channel,
    chat_open,
    chat_readable,
    status_of,
)
from sessions_app.services.scheduled.shapes import (
    ChatAccess,
    NotePublic,
    ParticipantPublic,
    SessionDetail,
    SessionListing,
    SessionSummary,
)


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
    counts = _holder_counts(db, ids)
    mine: dict[int, bool] = {}
    if ids and viewer_id:
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
