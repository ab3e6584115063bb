"""What rooms look like to the pages: the lobby's cards, and one room's snapshot with its
timer — small public dataclasses, so the states and ``live`` read no ORM rows.

``TimerView`` spells the timer fields once: its field names ARE the browser's var names
(``RoomLive``'s, the lobby card's), and ``dataclasses.asdict`` of it is what a timer broadcast
carries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, select

from sessions_app.models import Room, RoomMember
from sessions_app.services import cosmetics
from sessions_app.services.rooms.membership import Member, enter, members
from sessions_app.services.rooms.timing import timer_of
from sessions_app.services.timer import PHASE_LABELS, Timer


def to_ms(when: datetime | None) -> int:
    """Epoch milliseconds (0 for none): the form anchors travel in to browsers."""
    return round(when.timestamp() * 1000) if when else 0


@dataclass(frozen=True)
class TimerView:
    """A room's timer anchors as browsers get them (they draw the countdown themselves)."""

    phase: str = "idle"
    phase_label: str = "idle"
    phase_seq: int = 0
    ends_at_ms: int = 0  # 0 while paused or idle
    paused_remaining_ms: int = -1  # -1 unless paused
    phase_length_ms: int = 0
    cycles_completed: int = 0


def timer_view(anchors: Timer) -> TimerView:
    """A ``Timer`` (``timer_of(room)``, or what a timer action or phase end returned) as the
    browser's values."""
    paused = anchors.paused_remaining_ms is not None
    return TimerView(anchors.phase, PHASE_LABELS.get(anchors.phase, anchors.phase), anchors.seq,
                     0 if paused else to_ms(anchors.ends_at), anchors.paused_remaining_ms if paused else -1,
                     anchors.length_ms, anchors.cycles_completed)


def running_anchor(anchors: Timer) -> tuple[int, datetime] | None:
    """(phase sequence number, end time) of a running phase: what the server schedules; None
    when nothing is due (idle or paused; a closed room is idle)."""
    if anchors.ends_at is None or anchors.paused_remaining_ms is not None:
        return None
    return anchors.seq, anchors.ends_at


@dataclass(frozen=True)
class RoomSnapshot:
    """Everything a member's page shows of a room, from the database."""

    room_id: int
    name: str
    discipline: str
    is_private: bool
    code: str
    focus_minutes: int
    short_break_minutes: int
    long_break_minutes: int
    blocks_before_long_break: int
    closed: bool
    background: str
    host_id: int
    timer: TimerView
    # The anchor to follow (``running_anchor``): server-side only, never sent.
    running: tuple[int, datetime] | None
    # Present members, earliest first; None when not read (``members=False``).
    members: list[Member] | None = None


def room_snapshot(db: Session, room: Room, *, with_members: bool = True) -> RoomSnapshot:
    """The snapshot of a room row just read or written in this transaction."""
    anchors = timer_of(room)
    return RoomSnapshot(room.id, room.name, room.discipline, room.is_private, room.code or "", room.focus_minutes,
                        room.short_break_minutes, room.long_break_minutes, room.blocks_before_long_break,
                        not room.is_open, cosmetics.room_background(room), room.host_id or 0, timer_view(anchors),
                        running_anchor(anchors) if room.is_open else None,
                        members(db, room.id) if with_members else None)


def snapshot(db: Session, room_id: int, *, with_members: bool = True) -> RoomSnapshot | None:
    """The room's snapshot (None if there is no such room). ``with_members=False`` leaves the
    member list out: a cached store keeps it current through batched updates, so a join storm
    costs one member query per batch, not one per join."""
    room = db.get(Room, room_id)
    return room_snapshot(db, room, with_members=with_members) if room is not None else None


@dataclass(frozen=True)
class Entry:
    """A member's entry into a room: which room, and whether this started a new stint (the
    others then learn of them)."""

    room_id: int
    is_new: bool


def enter_room(db: Session, *, room_id: object, user_id: int, code: object = None) -> Entry:
    """``membership.enter`` (authorized there) as a plain result."""
    room, is_new = enter(db, room_id=room_id, user_id=user_id, code=code)
    return Entry(room.id, is_new)


# --- lobby ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomCard:
    """A public open room as the lobby shows it."""

    id: int
    name: str
    discipline: str
    count: int
    phase: str
    ends_at_ms: int
    paused_remaining_ms: int


@functools.cache
def _lobby_statement(limit: int):
    """The cards' one Core statement, built once (the lobby feed re-reads the cards after
    every count or timer change; the ORM's row loading cost more than the query itself)."""
    count = func.count(RoomMember.id)
    return (
        select(Room.id, Room.name, Room.discipline, count.label("count"), Room.phase, Room.phase_seq,
               Room.phase_length_ms, Room.phase_started_at, Room.phase_ends_at, Room.paused_remaining_ms,
               Room.cycles_completed)
        .join(RoomMember, (RoomMember.room_id == Room.id) & col(RoomMember.left_at).is_(None), isouter=True)
        .where(Room.is_open, Room.is_private == False)  # noqa: E712
        .group_by(Room.id).order_by(count.desc(), Room.id.desc()).limit(limit)
    )


def lobby_rooms(db: Session, *, limit: int = 100) -> list[RoomCard]:
    """Public open rooms with their live counts and timer anchors, busiest first."""
    cards = []
    for r in db.connection().execute(_lobby_statement(limit)):
        anchors = timer_view(timer_of(r))
        cards.append(RoomCard(r.id, r.name, r.discipline, r.count, r.phase, anchors.ends_at_ms,
                              anchors.paused_remaining_ms))
    return cards
