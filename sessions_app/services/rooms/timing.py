"""A live room's timer: the host's controls and the server moving phases on at their end —
all compare-and-set on the room's phase sequence number, so a phase moves on exactly once
however many workers try."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from sessions_app.db import elevated
from sessions_app.models import Room, utcnow
from sessions_app.services import block_goals, progression, timer
from sessions_app.services.errors import ServiceError
from sessions_app.services.rooms.membership import get_open_room, is_member

TIMER_ACTIONS = ("start", "pause", "resume", "reset", "skip")


@dataclass(frozen=True)
class Advance:
    """A phase change made by the server at an anchor's end."""

    timer: timer.Timer
    completed: list[timer.CompletedFocus]
    credits: list


def timer_config(room: Room, time_scale: float = 1.0) -> timer.TimerConfig:
    """The room's phase lengths in milliseconds (a test time scale shortens them)."""
    ms = lambda minutes: round(minutes * 60_000 / time_scale)  # noqa: E731
    return timer.TimerConfig(ms(room.focus_minutes), ms(room.short_break_minutes),
                             ms(room.long_break_minutes), room.blocks_before_long_break)


def timer_of(room: Room) -> timer.Timer:
    """The room's anchors as a ``Timer``."""
    return timer.Timer(phase=room.phase, seq=room.phase_seq, length_ms=room.phase_length_ms,
                       started_at=room.phase_started_at, ends_at=room.phase_ends_at,
                       paused_remaining_ms=room.paused_remaining_ms, cycles_completed=room.cycles_completed)


def _store(db: Session, room: Room, old_seq: int, new: timer.Timer) -> bool:
    """Write new anchors if nobody changed the timer since ``old_seq`` (compare-and-set)."""
    result = db.exec(
        update(Room).where(col(Room.id) == room.id, col(Room.phase_seq) == old_seq, col(Room.is_open))
        .values(phase=new.phase, phase_seq=new.seq, phase_length_ms=new.length_ms,
                phase_started_at=new.started_at, phase_ends_at=new.ends_at,
                paused_remaining_ms=new.paused_remaining_ms, cycles_completed=new.cycles_completed)
    )
    if result.rowcount != 1:
        return False
    db.refresh(room)
    return True


def control_timer(db: Session, *, room_id: object, user_id: int, action: object, time_scale: float = 1.0,
                  now: datetime | None = None) -> timer.Timer:
    """Apply a host's timer action. Only the room's host may; anything else is refused."""
    if action not in TIMER_ACTIONS:
        raise ServiceError("Unknown timer action.")
    room = get_open_room(db, room_id)
    if room.host_id != user_id or not is_member(db, room.id, user_id):
        raise ServiceError("Only the host controls the timer.")
    now = now or utcnow()
    cfg = timer_config(room, time_scale)
    current = timer_of(room)
    # A phase that ended a moment ago is moved on first, so the action applies to the present.
    if current.running and current.ends_at and current.ends_at <= now:
        advanced = advance_due(db, room_id=room.id, expected_seq=current.seq, time_scale=time_scale, now=now)
        current = advanced.timer if advanced else timer_of(room)
    new = {
        "start": lambda t: timer.start(t, cfg, now),
        "pause": lambda t: timer.pause(t, now),
        "resume": lambda t: timer.resume(t, now),
        "reset": timer.reset,
        "skip": lambda t: timer.skip(t, cfg, now),
    }[action](current)
    if new == current:
        return current
    if not _store(db, room, current.seq, new):
        raise ServiceError("The timer just changed. Look again and retry.")
    return new


def advance_due(db: Session, *, room_id: int, expected_seq: int, time_scale: float = 1.0,
                now: datetime | None = None) -> Advance | None:
    """Move a room's timer past every phase that has ended, exactly once.

    Returns None when there is nothing to do or another worker already did it. Focus blocks
    that completed are credited to the members present during them (EXP, minutes).

    Bounded catch-up: after a long outage the timer moves on through at most one full cycle
    (``catch_up_limit`` phases — the blocks right after the last time anyone was seen, the
    only ones that can hold seen presence); if it is still behind after that, it stops (idle,
    blocks done kept) rather than replaying hours of phases nobody sat through.
    """
    now = now or utcnow()
    room = db.get(Room, room_id)
    if room is None or not room.is_open or room.phase_seq != expected_seq:
        return None
    current = timer_of(room)
    new, completed = timer.advance(current, timer_config(room, time_scale), now,
                                   max_steps=catch_up_limit(room))
    if new.running and new.ends_at is not None and new.ends_at <= now:
        new = timer.halt(new)
    if new == current or not _store(db, room, current.seq, new):
        return None
    credits = []
    with elevated(db, "a focus block's end credits every member present and closes their goals"):
        for block in completed:
            block_credits = progression.credit_block(db, room_id=room.id, phase_seq=block.seq,
                                                     block_start=block.started_at, block_end=block.ended_at,
                                                     block_minutes=room.focus_minutes)
            credits += block_credits
            # The members' goals for this block close with it, in the same transaction.
            block_goals.close_for_block(db, room_id=room.id, block_seq=block.seq, ended_at=block.ended_at,
                                        minutes_by_user={c.user_id: c.minutes for c in block_credits})
    return Advance(new, completed, credits)


def catch_up_limit(room: Room) -> int:
    """How many phases one catch-up may move a room on: one full cycle (focus and break for
    each block up to the long break)."""
    return 2 * room.blocks_before_long_break


def due_rooms(db: Session, *, until: datetime) -> list[tuple[int, int, datetime]]:
    """Open rooms whose running phase ends by ``until``: (room id, seq, ends at)."""
    rows = db.exec(select(Room.id, Room.phase_seq, Room.phase_ends_at).where(
        Room.is_open, col(Room.phase_ends_at).is_not(None), col(Room.paused_remaining_ms).is_(None),
        col(Room.phase_ends_at) <= until)).all()
    return [(r[0], r[1], r[2]) for r in rows]
