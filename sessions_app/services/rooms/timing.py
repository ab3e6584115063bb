"""A live room's timer: the host's controls and the server moving phases on at their end —
all compare-and-set on the room's phase sequence number, so a phase moves on exactly once
however many workers try."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, update
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, col, select

from sessions_app.db import elevated
from sessions_app.models import Room, RoomMember, utcnow
from sessions_app.services import block_goals, progression, text, timer
from sessions_app.services.errors import ServiceError
from sessions_app.services.rooms.membership import CLOSED_ROOM

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


_ANCHORS = dict(phase=Room.phase, phase_seq=Room.phase_seq, phase_length_ms=Room.phase_length_ms,
                phase_started_at=Room.phase_started_at, phase_ends_at=Room.phase_ends_at,
                paused_remaining_ms=Room.paused_remaining_ms, cycles_completed=Room.cycles_completed)
# A host's action reads, in ONE Core statement built once: the open room's anchors and phase
# lengths (what ``timer_of`` and ``timer_config`` read by name) and whether the caller is
# present in it now (``membership.is_member``'s rule). The ORM's load, identity map and
# statement building cost more than the statements themselves (measured: ~1 ms of 2).
_CONTROL_READ = select(
    Room.id, Room.host_id, *_ANCHORS.values(), Room.focus_minutes, Room.short_break_minutes,
    Room.long_break_minutes, Room.blocks_before_long_break,
    exists().where(RoomMember.room_id == Room.id, RoomMember.user_id == bindparam("user_id"),
                   col(RoomMember.left_at).is_(None)).label("present"),
).where(col(Room.id) == bindparam("room_id"), col(Room.is_open))
# ``_store``'s compare-and-set as one Core UPDATE built once (no ORM session sync, no refresh:
# the caller already holds the anchors it wrote).
_CONTROL_WRITE = (update(Room).where(col(Room.id) == bindparam("room_id"), col(Room.phase_seq) == bindparam("old_seq"),
                                     col(Room.is_open))
                  .values({column: bindparam(name) for name, column in _ANCHORS.items()}))


def _store_anchors(db: Session, room_id: int, old_seq: int, new: timer.Timer) -> bool:
    """``_store`` for a host's action: the compare-and-set, nothing read back."""
    result = db.connection().execute(_CONTROL_WRITE, dict(
        room_id=room_id, old_seq=old_seq, phase=new.phase, phase_seq=new.seq, phase_length_ms=new.length_ms,
        phase_started_at=new.started_at, phase_ends_at=new.ends_at,
        paused_remaining_ms=new.paused_remaining_ms, cycles_completed=new.cycles_completed))
    if result.rowcount != 1:
        return False
    # A Room this session already loaded (a caller's earlier read) would show the old anchors.
    if (loaded := db.identity_map.get(identity_key(Room, room_id))) is not None:
        db.expire(loaded)
    return True


def control_timer(db: Session, *, room_id: object, user_id: int, action: object, time_scale: float = 1.0,
                  now: datetime | None = None) -> timer.Timer:
    """Apply a host's timer action. Only the room's host may, while present; anything else is
    refused and changes nothing."""
    if action not in TIMER_ACTIONS:
        raise ServiceError("Unknown timer action.")
    rid = text.parse_id(room_id)
    room = db.connection().execute(_CONTROL_READ, {"room_id": rid, "user_id": user_id}).first() if rid else None
    if room is None:  # ``membership.get_open_room``'s refusal
        raise ServiceError(CLOSED_ROOM)
    if room.host_id != user_id or not room.present:
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
    if not _store_anchors(db, room.id, current.seq, new):
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
