"""Scheduled sessions: places and the waitlist (the session lock, counting, join, leave, departure).

Capacity is never exceeded: the lock, the count and the insert run in the caller's one
transaction (see ``_lock``), and a unique (session, user) pair refuses double sign-ups.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sessions_app.db import elevated
from sessions_app.models import SessionParticipant, StudySession, utcnow
from sessions_app.services import text
from sessions_app.services.errors import ServiceError
from sessions_app.services.scheduled.rules import NOT_FOUND, status_of
from sessions_app.services.scheduled.shapes import JoinResult


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


def _holder_counts(db: Session, session_ids: list[int]) -> dict[int, int]:
    """Places taken (not waitlisted) per session, for a list of sessions: one query."""
    if not session_ids:
        return {}
    return dict(db.exec(
        select(SessionParticipant.session_id, func.count())
        .where(col(SessionParticipant.session_id).in_(session_ids), col(SessionParticipant.waitlisted).is_(False))
        .group_by(SessionParticipant.session_id)
    ).all())


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
        # FOR UPDATE needs the row-level UPDATE right, which only the creator has: the lock
        # (for anyone joining or leaving) is taken as the system, the row stays read-only.
        with elevated(db, "a join or leave locks the session row to count its places"):
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
    with elevated(db, "a freed place moves the first waiting person up"):
        for row in db.exec(query).all():
            row.waitlisted = False
            db.add(row)
            promoted.append(row.user_id)
        db.flush()
    return promoted


def _require_creator(session: StudySession, user_id: int, action: str) -> None:
    if session.creator_id != user_id:
        raise ServiceError(f"Only the person who planned this session can {action} it.")


# --- join / leave ---------------------------------------------------------------------------


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


# --- public numbers for live updates -------------------------------------------------------


def public_places(db: Session, *, now: datetime | None = None, limit: int = 500) -> dict[int, tuple[int | None, str]]:
    """Places left and status of every session that has not ended (cancelled ones included),
    keyed by id: the public numbers the sessions list updates live. Nothing private."""
    now = now or utcnow()
    sessions = db.exec(select(StudySession).where(StudySession.ends_at > now)
                       .order_by(col(StudySession.starts_at), col(StudySession.id)).limit(limit)).all()
    counts = _holder_counts(db, [s.id for s in sessions])
    return {s.id: (_places_left(s, counts.get(s.id, 0)), status_of(s, now)) for s in sessions}


# --- account deletion -----------------------------------------------------------------------


@dataclass(frozen=True)
class Departure:
    """What a user's departure (account deletion) changed, for the live updates: sessions
    cancelled and left; and (``account_data.delete_account``) the open rooms that showed the
    user's tasks or goals, and the deletions of their messages that open chats still show
    (``chat.ChatChange``, logged in their channels)."""

    cancelled: tuple[int, ...]
    left: tuple[int, ...]
    rooms: tuple[int, ...] = ()
    chat_changes: tuple = ()


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
