"""The phase scheduler and catch-up: a room's phase moves on at its anchor's end, on the
server, exactly once even with several workers (a compare-and-set on the phase sequence
number in the DB), and due or overdue phases are caught up from the DB after a restart."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sessions_app import realtime
from sessions_app.db import session_scope
from sessions_app.live import channels
from sessions_app.live.feeds import refresh_lobby
from sessions_app.live.presence import refresh_members
from sessions_app.live.rooms import locked_room, push, timer_vars
from sessions_app.live.users import own_view_vars, push_own_view
from sessions_app.models import User, utcnow
from sessions_app.services import rooms, uptime
from sessions_app.settings import get_settings

# Features that follow the server's phase changes (block goals): called after the broadcast.
phase_hooks: list[Callable[[int, rooms.Advance], Awaitable[None]]] = []


class _Heartbeat:
    """When this process last noted it was alive, by its monotonic clock (None: not yet)."""

    noted_at: float | None = None


def note_alive() -> None:
    """The server's heartbeat (``uptime.note_alive``), telling it how long ago this process
    last noted it was alive: a gap it watched is a jump of the wall clock, not an outage."""
    now = time.monotonic()
    last = _Heartbeat.noted_at
    with session_scope() as db:
        uptime.note_alive(db, watched_for=None if last is None else timedelta(seconds=now - last))
    _Heartbeat.noted_at = now


def follow(room_id: int, running: tuple[int, datetime] | None) -> None:
    """Schedule the phase end of an anchor just read (``services.rooms.running_anchor``)
    without reading it again."""
    if running is not None:
        seq, when = running
        realtime.schedule(channels.room(room_id), when, lambda: phase_due(room_id, seq))


def after_timer_change(room_id: int, running: tuple[int, datetime] | None) -> None:
    """A timer action was committed and broadcast: follow its new anchor, update the lobby."""
    follow(room_id, running)
    refresh_lobby()


def schedule_phase_end(room_id: int) -> None:
    """Arrange for the server to move the room's phase on at its anchor's end."""
    with session_scope() as db:
        snap = rooms.snapshot(db, room_id, with_members=False)
    follow(room_id, snap.running if snap is not None else None)


async def phase_due(room_id: int, seq: int) -> None:
    """A phase's end time has come: move on exactly once (compare-and-set), credit EXP for a
    completed focus block, and broadcast the new anchors."""
    scale = get_settings().time_scale
    note_alive()  # a gap before this (a restart) is an outage: no EXP for it
    with session_scope() as db:
        advanced = rooms.advance_due(db, room_id=room_id, expected_seq=seq, time_scale=scale)
    if advanced is None:
        schedule_phase_end(room_id)  # another worker moved it, or it changed: follow the new anchor
        return
    with session_scope() as db:
        # Read again, not ``advanced.timer``: a host's action on another worker may be newer.
        values = timer_vars(rooms.snapshot(db, room_id, with_members=False).timer)
        credited = (db.get(User, credit.user_id) for credit in advanced.credits)
        exp_updates = {user.id: own_view_vars(user) for user in credited if user is not None}
    async with locked_room(room_id) as live:
        for k, v in values.items():
            setattr(live, k, v)
        await push(room_id, **values)
    for uid, vals in exp_updates.items():
        await push_own_view(uid, vals)
    if exp_updates:
        # EXP can raise a level, which the member list shows: without this the room showed
        # the old level until someone joined or left (a fresh load showed the new one).
        refresh_members(room_id)
    for hook in phase_hooks:
        await hook(room_id, advanced)
    schedule_phase_end(room_id)
    refresh_lobby()


async def catch_up() -> None:
    """Safety net and restart catch-up: schedule every phase that ends soon or already has.
    Also the server's heartbeat (``uptime.note_alive``, written every ~30 s): on the first run
    after a restart it records the downtime as an outage, before any overdue block is
    credited, so nobody earns for time the server could not see."""
    note_alive()
    with session_scope() as db:
        due = rooms.due_rooms(db, until=utcnow() + timedelta(seconds=20))
    for room_id, seq, when in due:
        realtime.schedule(channels.room(room_id), when, lambda r=room_id, s=seq: phase_due(r, s))
