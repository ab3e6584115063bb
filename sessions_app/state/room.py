"""A live room: the shared ``RoomLive`` store, presence, host controls and server pushes.

``RoomLive`` is linked per room under ``shared_key(room_id)`` (an HMAC of the id: nobody can
connect as it); its backend copy is the cache that a reload reads, and the DB stays the truth (the snapshot is rebuilt from it on every entry).
Every change goes out as ONE broadcast to the room's channel via ``realtime``; nothing
here relies on Reflex's per-member fan-out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import reflex as rx
from sqlmodel import select

from sessions_app import realtime, routes
from sessions_app.db import session_scope, system_scope
from sessions_app.live import channels
from sessions_app.models import Room, User, utcnow
from sessions_app.services import cosmetics, rooms, shared_keys, uptime
from sessions_app.services.errors import ServiceError
from sessions_app.services.timer import PHASE_LABELS
from sessions_app.settings import get_settings
from sessions_app.state.auth import AuthState, own_view_vars
from sessions_app.state.clock import ClockState
from sessions_app.state.lobby import refresh_lobby

log = logging.getLogger("sessions.room")
MEMBER_BATCH_SECONDS = 0.15
# This worker's tabs in rooms: token → room id (a socket's disconnect reaches its own worker).
_tab_room: dict[str, int] = {}
# Features that follow the server's phase changes (block goals): called after the broadcast.
phase_hooks: list[Callable[[int, rooms.Advance], Awaitable[None]]] = []


@dataclasses.dataclass
class MemberView:
    """A present member as everyone in the room sees them."""

    user_id: int = 0
    name: str = ""
    avatar_url: str = ""
    level: int = 0
    name_color: str = ""  # cosmetics (services.cosmetics keys; "" = none)
    border: str = ""


# A room's socket channel (spelled in ``live.channels``); the old name stays for callers.
channel = channels.room


def shared_key(room_id: int) -> str:
    """The key ``RoomLive`` and ``RoomBoard`` are stored (linked) under: unguessable."""
    return shared_keys.room_key(room_id)


# The channel every tab of one user joins along with a room or a session chat: their own EXP
# updates, and the handle that takes all their sockets out of a channel when a right ends.
user_channel = channels.user


def timer_vars(room: Room) -> dict:
    """The timer anchors as plain values for the browser."""
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


@realtime.broadcast_only
class RoomLive(rx.SharedState):
    """What every member of a room sees. Only plain vars (broadcasts carry no computed vars)."""

    room_id: int = 0
    name: str = ""
    discipline: str = ""
    is_private: bool = False
    code: str = ""
    focus_minutes: int = 25
    short_break_minutes: int = 5
    long_break_minutes: int = 15
    blocks_before_long_break: int = 4
    host_id: int = 0
    host_name: str = ""
    members: list[MemberView] = []
    phase: str = "idle"
    phase_label: str = "idle"
    phase_seq: int = 0
    ends_at_ms: int = 0
    paused_remaining_ms: int = -1
    phase_length_ms: int = 0
    cycles_completed: int = 0
    closed: bool = False
    background: str = ""  # the host's choice (services.cosmetics)
    # Tabs present: client token → user id (server-only; tokens are never sent to anyone).
    _tabs: dict[str, int] = {}
    _missing_since: dict[str, float] = {}

    def _load_snapshot(self, db, room: Room, *, members: bool = True) -> None:
        """Set every var from the database (``members=False`` keeps the cached member list,
        which the batched ``refresh_members`` keeps current: a join storm then costs one
        member query per batch, not one per join)."""
        values = {
            "room_id": room.id, "name": room.name, "discipline": room.discipline, "is_private": room.is_private,
            "code": room.code or "", "focus_minutes": room.focus_minutes,
            "short_break_minutes": room.short_break_minutes, "long_break_minutes": room.long_break_minutes,
            "blocks_before_long_break": room.blocks_before_long_break, "closed": not room.is_open,
            "background": cosmetics.room_background(room),
            **timer_vars(room), **(member_vars(db, room) if members else {}),
        }
        for k, v in values.items():
            setattr(self, k, v)

    async def _caller(self) -> int | None:
        auth = await self.get_state(AuthState)
        return auth.current_user_id()

    @rx.event
    async def control(self, action: str):
        """A host's timer action (start, pause, resume, reset, skip). Refused for anyone else."""
        page = await self.get_state(RoomPageState)
        page.error = ""
        uid = await self._caller()
        if uid is None or self.room_id == 0:
            page.error = "Join the room first."
            return
        try:
            with session_scope() as db:
                rooms.control_timer(db, room_id=self.room_id, user_id=uid, action=action,
                                    time_scale=get_settings().time_scale)
                room = db.get(Room, self.room_id)
                values = timer_vars(room)
        except ServiceError as err:
            page.error = err.message
            return
        await realtime.publish(self, channel(self.room_id), self.router.session.session_id, **values)
        schedule_phase_end(self.room_id)
        refresh_lobby()

    @rx.event
    async def leave_room(self):
        """Leave the room for good (this tab) and go back to the lobby."""
        uid = await self._caller()
        if uid is not None and self.room_id:
            await depart(self, self.router.session.client_token, uid, self.router.session.session_id,
                         whole_user=True)
        page = await self.get_state(RoomPageState)
        page._room_id = 0
        await realtime.unlink_all(self)
        return rx.redirect(routes.LOBBY)


async def depart(live: RoomLive, token: str, uid: int, sender_sid: str | None, *, whole_user: bool) -> None:
    """Remove a tab (or all of a user's tabs) from a locked room instance; end the user's stint
    when none of their tabs is left, and tell the others with one broadcast."""
    room_id = live.room_id
    _tab_room.pop(token, None)
    tabs = dict(live._tabs)
    tabs.pop(token, None)
    if whole_user:
        tabs = {t: u for t, u in tabs.items() if u != uid}
    live._tabs = tabs
    if sender_sid:
        await realtime.leave(sender_sid, channel(room_id))
    if whole_user:
        # The user's right to the room ends: every socket of theirs leaves the channel now
        # (their other tabs too, which only a browser would have moved on by itself).
        await realtime.leave_user_channels(uid, channel(room_id))
    if uid in tabs.values():
        realtime.detach_fanout(live)
        return
    # The departing user comes from the room's server-side record, not from the caller (a tab
    # navigating away, presence, deletion): the leave and the read-back run as the system.
    with system_scope("a departure the room's server-side record names") as db:
        result = rooms.leave(db, room_id=room_id, user_id=uid)
        room = db.get(Room, room_id)
        values = {**member_vars(db, room), "closed": not room.is_open, **timer_vars(room)}
    if result.closed:
        realtime.cancel(channel(room_id))
    await realtime.publish(live, channel(room_id), sender_sid, **values)
    refresh_lobby()


class RoomPageState(rx.State):
    """This tab's view of the room page: which room it is in (server-side) and messages."""

    error: str = ""
    sound_on: bool = False
    _room_id: int = 0

    @rx.event
    async def load(self):
        """on_load of /rooms/[room_id]: authorize, enter, link the shared room, join its channel."""
        self.error = ""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.login_then(self.router.url.path))
        requested = self.router.page.params.get("room_id")
        if self._room_id and str(self._room_id) != str(requested):
            await self._leave_current()  # went straight from one room to another
        try:
            with session_scope() as db:
                room, is_new = rooms.enter(db, room_id=requested, user_id=uid)
                db.commit()
                room_id = room.id
                live = await (await self.get_state(RoomLive))._link_to(shared_key(room_id))
                # What the others see may not list this user yet (new stint, or a stint
                # started by a join-by-code elsewhere): then they get a member update.
                cached = live.room_id == room_id
                others_know = cached and any(m.user_id == uid for m in live.members)
                live._load_snapshot(db, room, members=not cached)
        except ServiceError as err:
            self.error = err.message
            self._room_id = 0
            return
        token, sid = self.router.session.client_token, self.router.session.session_id
        live._tabs = {**live._tabs, token: uid}
        live._missing_since = {t: s for t, s in live._missing_since.items() if t != token}
        realtime.detach_fanout(live)
        _tab_room[token] = room_id
        self._room_id = room_id
        await realtime.join(sid, channel(room_id))
        await realtime.join(sid, user_channel(uid))
        if is_new or not others_know:
            refresh_members(room_id)
            refresh_lobby()
        schedule_phase_end(room_id)
        return ClockState.begin

    @rx.event
    async def leave_if_away(self):
        """on_load of every other page: a tab that navigated away from its room leaves it."""
        if self._room_id:
            await self._leave_current()

    async def _leave_current(self) -> None:
        """This tab leaves the room it is in, through its own linked (already locked) room
        instance — taking the room lock again from here would wait on ourselves — then
        unlinks so later events of this tab no longer touch the room."""
        room_id, self._room_id = self._room_id, 0
        token, sid = self.router.session.client_token, self.router.session.session_id
        _tab_room.pop(token, None)
        live = await self.get_state(RoomLive)
        uid = live._tabs.get(token)
        if live.room_id == room_id and uid is not None:
            await depart(live, token, uid, sid, whole_user=False)
        else:
            await realtime.leave(sid, channel(room_id))
        await realtime.unlink_all(self)

    @rx.event
    def set_sound(self, on: bool):
        """Remember the sound/notification preference shown on the toggle."""
        self.sound_on = bool(on)


@contextlib.asynccontextmanager
async def locked_room(room_id: int) -> AsyncIterator[RoomLive | None]:
    """The room's shared instance, locked, for a server-side change — rebuilt from the DB
    when it is missing (after a restart with in-memory state, or an expired Redis key).
    Yields None if the room does not exist."""
    async with realtime.modify_shared(RoomLive, shared_key(room_id)) as live:
        if live.room_id != room_id:
            with system_scope("the room's shared state is rebuilt whole, for all its members") as db:
                room = db.get(Room, room_id)
                if room is not None:
                    live._load_snapshot(db, room)
        yield live if live.room_id == room_id else None


async def _drop_tab(room_id: int, token: str) -> None:
    """Server-side departure of one tab (navigated away, closed, or swept)."""
    async with locked_room(room_id) as live:
        if live is not None and (uid := live._tabs.get(token)) is not None:
            await depart(live, token, uid, None, whole_user=False)


async def leave_all_rooms(uid: int) -> None:
    """Take a user out of every room they are in (account deletion), with the usual
    host hand-over, room closing and broadcasts."""
    with session_scope() as db:
        room_ids = rooms.rooms_of_user(db, uid)
    for room_id in room_ids:
        async with locked_room(room_id) as live:
            if live is not None:
                await depart(live, "", uid, None, whole_user=True)


async def _on_tab_gone(token: str) -> None:
    room_id = _tab_room.pop(token, None)
    if room_id is not None:
        await _drop_tab(room_id, token)


# --- server-side pushes -----------------------------------------------------------------------


def refresh_members(room_id: int) -> None:
    """Batch member-list changes of a room into one broadcast (a join storm sends a few)."""

    async def push() -> None:
        async with locked_room(room_id) as live:
            if live is None:
                return
            with session_scope() as db:
                values = member_vars(db, db.get(Room, room_id))
            for k, v in values.items():
                setattr(live, k, v)
            await realtime.push(channel(room_id), RoomLive, **values)

    realtime.coalesce(f"members-{room_id}", MEMBER_BATCH_SECONDS, push)


def schedule_phase_end(room_id: int) -> None:
    """Arrange for the server to move the room's phase on at its anchor's end."""
    with session_scope() as db:
        room = db.get(Room, room_id)
        if room is None or not room.is_open or room.phase_ends_at is None or room.paused_remaining_ms is not None:
            return
        seq, when = room.phase_seq, room.phase_ends_at
    realtime.schedule(channel(room_id), when, lambda: phase_due(room_id, seq))


async def phase_due(room_id: int, seq: int) -> None:
    """A phase's end time has come: move on exactly once (compare-and-set), credit EXP for a
    completed focus block, and broadcast the new anchors."""
    scale = get_settings().time_scale
    with session_scope() as db:
        uptime.note_alive(db)  # a gap before this (a restart) is an outage: no EXP for it
    with session_scope() as db:
        advanced = rooms.advance_due(db, room_id=room_id, expected_seq=seq, time_scale=scale)
    if advanced is None:
        schedule_phase_end(room_id)  # another worker moved it, or it changed: follow the new anchor
        return
    with session_scope() as db:
        room = db.get(Room, room_id)
        values = timer_vars(room)
        credited = (db.get(User, credit.user_id) for credit in advanced.credits)
        exp_updates = {user.id: own_view_vars(user) for user in credited if user is not None}
    async with locked_room(room_id) as live:
        for k, v in values.items():
            setattr(live, k, v)
        await realtime.push(channel(room_id), RoomLive, **values)
    for uid, vals in exp_updates.items():
        await realtime.push(user_channel(uid), AuthState, **vals)
    for hook in phase_hooks:
        await hook(room_id, advanced)
    schedule_phase_end(room_id)
    refresh_lobby()


async def catch_up() -> None:
    """Safety net and restart catch-up: schedule every phase that ends soon or already has.
    Also the server's heartbeat (``uptime.note_alive``, written every ~30 s): on the first run
    after a restart it records the downtime as an outage, before any overdue block is
    credited, so nobody earns for time the server could not see."""
    with session_scope() as db:
        uptime.note_alive(db)
    with session_scope() as db:
        due = rooms.due_rooms(db, until=utcnow() + timedelta(seconds=20))
    for room_id, seq, when in due:
        realtime.schedule(channel(room_id), when, lambda r=room_id, s=seq: phase_due(r, s))


async def sweep() -> None:
    """Clear members whose tabs are gone without a disconnect we saw (a crashed worker, a
    restart): a tab missing on two sweeps a grace apart leaves."""
    grace = get_settings().presence_grace_seconds
    with session_scope() as db:
        open_ids = [r.id for r in db.exec(select(Room).where(Room.is_open)).all()]
    for room_id in open_ids:
        gone: list[str] = []
        async with locked_room(room_id) as live:
            if live is None:
                continue
            now = time.monotonic()
            missing = dict(live._missing_since)
            for token in list(live._tabs):
                if await realtime.is_connected(token):
                    missing.pop(token, None)
                elif now - missing.setdefault(token, now) >= grace:
                    gone.append(token)
            # Members with no tab anywhere (e.g. after a restart with in-memory state) leave
            # too, once they have had the same grace to come back.
            tab_users = set(live._tabs.values())
            for m in live.members:
                key = f"user:{m.user_id}"
                if m.user_id in tab_users:
                    missing.pop(key, None)
                elif now - missing.setdefault(key, now) >= grace:
                    gone.append(key)
            live._missing_since = missing
        for token in gone:
            if token.startswith("user:"):
                async with locked_room(room_id) as live:
                    uid = int(token.removeprefix("user:"))
                    if live is not None and uid not in live._tabs.values():
                        live._missing_since = {k: v for k, v in live._missing_since.items() if k != token}
                        await depart(live, "", uid, None, whole_user=True)
            else:
                await _drop_tab(room_id, token)


def install() -> None:
    """Register presence and timer background work with ``realtime``."""
    realtime.on_gone(_on_tab_gone)
    realtime.every(15, catch_up, first_delay=0.5)
    realtime.every(max(5.0, get_settings().presence_grace_seconds), sweep, first_delay=5)


