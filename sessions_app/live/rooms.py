"""A live room's store as others see it: the values a room broadcast carries, and the room's
shared instance locked for a server-side change.

``RoomLive`` (``state.room``) is the store: a small shared state linked under
``shared_key(room_id)`` (an HMAC of the id: nobody can connect as it). Its backend copy is the
cache a reload reads; the DB stays the truth, and this module rebuilds the copy from the DB
whenever it is missing. Every value here is plain (broadcasts carry no computed vars).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

from sessions_app import realtime
from sessions_app.db import read_scope, system_scope
from sessions_app.live import channels, targets
from sessions_app.live.feeds import refresh_lobby
from sessions_app.realtime import ordered_lists
from sessions_app.services import rooms, shared_keys

# The vars a member list sets (``member_vars``): with several workers they go out numbered,
# without the room's lock (``send_members``), every other store var as before.
MEMBER_VARS = ("members", "host_id", "host_name")


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


def timer_vars(anchors: rooms.TimerView) -> dict:
    """The timer anchors as plain values for the browser (the fields are spelled once, in
    ``services.rooms.TimerView``: its names are the store's var names)."""
    return dataclasses.asdict(anchors)


def member_vars(snap: rooms.RoomSnapshot) -> dict:
    """The member list and host of a snapshot read with its members, as plain values."""
    present = snap.members or []
    host = next((m for m in present if m.user_id == snap.host_id), None)
    return {
        "members": [MemberView(m.user_id, m.name, m.avatar_url, m.level, m.looks.name_color, m.looks.border)
                    for m in present],
        "host_id": snap.host_id,
        "host_name": host.name if host else "",
    }


def snapshot_vars(snap: rooms.RoomSnapshot) -> dict:
    """Every var of the room's store from a snapshot (one read ``with_members=False`` leaves
    the member list and host out: the batched ``presence.refresh_members`` keeps them)."""
    return {
        "room_id": snap.room_id, "name": snap.name, "discipline": snap.discipline, "is_private": snap.is_private,
        "code": snap.code, "focus_minutes": snap.focus_minutes, "short_break_minutes": snap.short_break_minutes,
        "long_break_minutes": snap.long_break_minutes, "blocks_before_long_break": snap.blocks_before_long_break,
        "closed": snap.closed, "background": snap.background,
        **timer_vars(snap.timer), **(member_vars(snap) if snap.members is not None else {}),
    }


def load_snapshot(live, snap: rooms.RoomSnapshot) -> None:
    """Set the store's vars from a snapshot."""
    for name, value in snapshot_vars(snap).items():
        setattr(live, name, value)


@contextlib.asynccontextmanager
async def locked_room(room_id: int) -> AsyncIterator:
    """The room's shared instance, locked, for a server-side change — rebuilt from the DB
    when it is missing (after a restart with in-memory state, or an expired Redis key).
    Yields None if the room does not exist."""
    async with realtime.modify_shared(targets.of(targets.ROOM), shared_key(room_id)) as live:
        if live.room_id != room_id:
            with system_scope("the room's shared state is rebuilt whole, for all its members") as db:
                snap = rooms.snapshot(db, room_id)
            if snap is not None:
                load_snapshot(live, snap)
                await _tell_rebuilt(room_id, snap)
        yield live if live.room_id == room_id else None


async def _tell_rebuilt(room_id: int, snap: rooms.RoomSnapshot) -> None:
    """A store rebuilt from the DB lists members nobody was told about (a room opened, a
    stint begun elsewhere, a restart). A page load takes the store's list for what the others
    see and announces only a user it lacks, so the list goes out now — to the room's channel
    and, through the cards, to the lobby. (The sweeper rebuilt a new room's store before its
    host's first load: the load announced nothing and the lobby never showed the room.)"""
    if ordered_lists.available():
        await asyncio.to_thread(send_members, room_id)
    else:
        await push(room_id, **member_vars(snap))
    refresh_lobby()


def members_now(room_id: int) -> dict:
    """The room's member list and host as the DB has them (a read-only transaction: on SQLite
    it does not wait for the write lock behind the joiners' entries); {} for no such room."""
    with read_scope() as db:
        snap = rooms.snapshot(db, room_id)
        return member_vars(snap) if snap is not None else {}


def send_members(room_id: int) -> tuple[int, dict]:
    """With several workers: the room's member list, numbered BEFORE it is read, sent unless
    a newer one went out (``realtime.ordered_lists``) — blocking, run it in a thread; no room
    lock. A departure calls it after its commit. Each list is tagged with the ids it lists
    (``presence.catch_up``). Returns (the number, the values sent or {})."""
    key = channels.room(room_id)
    number = ordered_lists.next_number(key)
    values = members_now(room_id)
    listed = [m.user_id for m in values.get("members", ())]  # tags: a late joiner's check
    if values and not ordered_lists.send_if_newest(key, number, key, targets.of(targets.ROOM), values, listed):
        values = {}  # a newer list went out first: this one is stale
    return number, values


def keep_members(live, number: int, values: dict) -> None:
    """Set a sent list on the room's store (locked by the caller) unless the store holds a
    newer one already (lists are numbered: ``send_members``)."""
    if values and number > live._members_seq:
        for name, value in values.items():
            setattr(live, name, value)
        live._members_seq = number


async def push(room_id: int, **values) -> None:
    """One broadcast of store vars to the room's channel (server-side: nobody to skip)."""
    await realtime.push(channels.room(room_id), targets.of(targets.ROOM), **values)


async def forget_user(room_id: int, user_id: int) -> None:
    """An account was deleted: the room's cached task and goal lists (``RoomBoard``,
    ``RoomGoals``: a page load keeps the cached ones) drop its lines, and every tab in the
    room gets the lists without them."""
    for kind, var in ((targets.ROOM_BOARD, "tasks"), (targets.ROOM_GOALS, "goals")):
        cls = targets.of(kind)
        async with realtime.modify_shared(cls, shared_key(room_id)) as store:
            if store.room_id != room_id:
                continue  # nothing cached: the next load reads the DB
            kept = [item for item in store.get_value(var) if item.user_id != user_id]
            if len(kept) == len(store.get_value(var)):
                continue
            setattr(store, var, kept)
        await realtime.push(channels.room(room_id), cls, **{var: kept})
