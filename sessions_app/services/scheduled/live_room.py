"""Scheduled sessions: opening a session's live room (exactly one, however many press at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col

from sessions_app.db import elevated
from sessions_app.models import Room, StudySession, utcnow
from sessions_app.services import rooms, timer
from sessions_app.services.errors import ServiceError
from sessions_app.services.scheduled.places import _lock, _membership
from sessions_app.services.scheduled.rules import LIVE_ROOM_DISCIPLINE, live_room_name


@dataclass(frozen=True)
class LiveRoom:
    """The live room a session opened as, whether this call created it, and (when it did) its
    timer's running phase (sequence number, end) for the server to follow."""

    room_id: int
    created: bool
    running: tuple[int, datetime] | None = None


def _first_focus(room: Room, starts_at: datetime, now: datetime, time_scale: float) -> timer.Timer:
    """A new live room's timer: the focus block that began on the session's scheduled minute,
    so everyone sees the same block however late the room was opened; when that block is
    already over (everyone came late), a focus block starting now."""
    cfg = rooms.timer_config(room, time_scale)
    began = starts_at if now < starts_at + timedelta(milliseconds=cfg.focus_ms) else now
    return timer.start(timer.Timer(), cfg, began)


def open_live_room(db: Session, *, session_id: int, user_id: int, now: datetime | None = None,
                   time_scale: float = 1.0) -> LiveRoom:
    """Get or create the session's live room and put the caller in it (creator or participant).

    From the start until the end the session is a private live room named after it, with its
    creator as host. The session row is locked first and the link is a compare-and-set on
    ``StudySession.room_id``, so however many participants press the button at once, exactly
    one room is created, its timer already in the focus block that began on the scheduled
    minute (``_first_focus``). The caller gets a stint in the room (admitted by
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
        # The new room shows only to its members, and the session row is the creator's to
        # change: any participant opening the live room creates and links it as the system.
        with elevated(db, "any participant may open the session's live room"):
            room = Room(name=live_room_name(session.title), discipline=LIVE_ROOM_DISCIPLINE, is_private=True,
                        code=None, host_id=session.creator_id if is_creator else None, created_at=now)
            first = _first_focus(room, session.starts_at, now, time_scale)
            room.phase, room.phase_seq, room.phase_length_ms = first.phase, first.seq, first.length_ms
            room.phase_started_at, room.phase_ends_at = first.started_at, first.ends_at
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
    return LiveRoom(room.id, created, rooms.running_anchor(rooms.timer_of(room)) if created else None)
