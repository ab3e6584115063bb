"""A live room's store as others see it: the values a room broadcast carries, and the room's
shared instance locked for a server-side change.

``RoomLive`` (``state.room``) is the store: a small shared state linked under
``shared_key(room_id)`` (an HMAC of the id: nobody can connect as it). Its backend copy is the
cache a reload reads; the DB stays the truth, and this module rebuilds the copy from the DB
whenever it is missing. Every value here is plain (broadcasts carry no computed vars).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

from sessions_app import realtime
from sessions_app.db import system_scope
from sessions_app.live import channels, targets
from sessions_app.models import Room
from sessions_app.services import cosmetics, rooms, shared_keys
from sessions_app.services.timer import PHASE_LABELS


@dataclasses.dataclass
class MemberView:
    """A present member as everyone in the room sees them."""

    user_id: int = 0
    name: str = ""
    avatar_url: str = ""
    level: int = 0
    name_color: str = ""  # cosmetics (services.cosmetics keys; "" = none)
    border: str = ""


def shared_key(room_id: int) -> str:
    """The key ``RoomLive`` and ``RoomBoard`` are stored (linked) under: unguessable."""
    return shared_keys.room_key(room_id)


def timer_vars(room: Room) -> dict:
    """The timer anchors as plain values for the browser (the timer fields, spelled once)."""
    return {
        "phase": room.phase,
        "phase_label": PHASE_LABELS.get(room.phase, room.phase),
        "phase_seq": room.phase_seq,
        "ends_at_ms": rooms.to_ms(room.phase_ends_at) if room.paused_remaining_ms is None else 0,
        "paused_remaining_ms": -1 if room.paused_remaining_ms is None else room.paused_remaining_ms,
        "phase_length_ms": room.phase_length_ms,
        "cycles_completed": room.cycles_completed,
    }


def member_vars(db, room: Room) -> dict:
    """The member list and host as plain values."""
    present = rooms.members(db, room.id)
    host = next((m for m in present if m.user_id == room.host_id), None)
    return {
        "members": [MemberView(m.user_id, m.name, m.avatar_url, m.level, m.looks.name_color, m.looks.border)
                    for m in present],
        "host_id": room.host_id or 0,
        "host_name": host.name if host else "",
    }


def snapshot_vars(db, room: Room, *, members: bool = True) -> dict:
    """Every var of the room's store, from the database (``members=False`` leaves the member
    list out: the batched ``presence.refresh_members`` keeps it current, so a join storm costs
    one member query per batch, not one per join)."""
    return {
        "room_id": room.id, "name": room.name, "discipline": room.discipline, "is_private": room.is_private,
        "code": room.code or "", "focus_minutes": room.focus_minutes,
        "short_break_minutes": room.short_break_minutes, "long_break_minutes": room.long_break_minutes,
        "blocks_before_long_break": room.blocks_before_long_break, "closed": not room.is_open,
        "background": cosmetics.room_background(room),
        **timer_vars(room), **(member_vars(db, room) if members else {}),
    }


def load_snapshot(live, db, room: Room, *, members: bool = True) -> None:
    """Set the store's vars from the database."""
    for name, value in snapshot_vars(db, room, members=members).items():
        setattr(live, name, value)


@contextlib.asynccontextmanager
async def locked_room(room_id: int) -> AsyncIterator:
    """The room's shared instance, locked, for a server-side change — rebuilt from the DB
    when it is missing (after a restart with in-memory state, or an expired Redis key).
    Yields None if the room does not exist."""
    async with realtime.modify_shared(targets.of(targets.ROOM), shared_key(room_id)) as live:
        if live.room_id != room_id:
            with system_scope("the room's shared state is rebuilt whole, for all its members") as db:
                room = db.get(Room, room_id)
                if room is not None:
                    load_snapshot(live, db, room)
        yield live if live.room_id == room_id else None


async def push(room_id: int, **values) -> None:
    """One broadcast of store vars to the room's channel (server-side: nobody to skip)."""
    await realtime.push(channels.room(room_id), targets.of(targets.ROOM), **values)
