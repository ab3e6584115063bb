"""A live room: the shared ``RoomLive`` store, this tab's room page, and the host's controls.

``RoomLive`` is linked per room under ``shared_key(room_id)`` (an HMAC of the id: nobody can
connect as it); its backend copy is the cache a reload reads, and the DB stays the truth (the
snapshot is rebuilt from it on every entry). Handlers here find the caller, call a service
(off the event loop), call ``live`` and set their own vars; everything that reaches other
browsers — presence, the member batches, the phase scheduler, the sweeper, the lobby feed —
lives in ``sessions_app.live``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import reflex as rx

from sessions_app import realtime, routes
from sessions_app.db import read_scope
from sessions_app.live import channels, entries, phases, presence, targets
from sessions_app.live.feeds import refresh_lobby  # noqa: F401 - kept for callers of state.room
from sessions_app.live.rooms import (  # noqa: F401 - names kept for callers of state.room
    MemberView,
    load_snapshot,
    locked_room,
    member_vars,
    shared_key,
    snapshot_vars,
    timer_vars,
)
from sessions_app.live.sweeper import install  # noqa: F401 - the app installs it from here
from sessions_app.services import rooms
from sessions_app.settings import get_settings
from sessions_app.state.base import REFUSED, Handler, off_loop
from sessions_app.state.clock import ClockState
from sessions_app.state.room_entry import enter_as_caller as _enter  # noqa: F401 - the regular entry
from sessions_app.state.room_entry import enter_by_login, unpack_early

# Kept for callers of the old names: channels are spelled in ``live.channels``.
channel = channels.room
user_channel = channels.user
depart = presence.depart
leave_all_rooms = presence.leave_all_rooms
refresh_members = presence.refresh_members
schedule_phase_end = phases.schedule_phase_end
NOT_IN_ROOM = "Join the room first."


def _control(db, uid: int, room_id: int, action: object) -> tuple[dict, tuple | None]:
    """A timer action (in the caller's transaction): the new anchors (what the service
    returned) and what to schedule."""
    anchors = rooms.control_timer(db, room_id=room_id, user_id=uid, action=action,
                                  time_scale=get_settings().time_scale)
    return timer_vars(rooms.timer_view(anchors)), rooms.running_anchor(anchors)


@dataclasses.dataclass(frozen=True)
class PagePart:
    """Something else the room page shows (the board, goals, reactions, the student's own
    tasks and mix...), loaded by ``RoomPageState.load`` in its one event and its one read
    transaction. Registered by ``state.room_page`` (the parts' modules import this one)."""

    # (db, room_id, user_id) -> value: runs in the load's read transaction, as the caller.
    read: Callable[[Any, int, int], Any]
    # async (page, room_id, user_id, value): fill the part's states (``page.get_state``).
    fill: Callable[[Any, int, int, Any], Awaitable[None]]
    # async (page): the tab is not in a room (refused, logged out): unlink / clear.
    away: Callable[[Any], Awaitable[None]] | None = None
    # A part kept in a shared store of the room: ``warm_read`` (db, room_id, user_id) reads
    # only what is this user's own (the room-wide values come from the store, which every
    # change keeps current under the room's lock), and ``holds`` (async (page, room_id))
    # links the store and says whether it holds the room.
    warm_read: Callable[[Any, int, int], Any] | None = None
    holds: Callable[[Any, int], Awaitable[bool]] | None = None


PAGE_PARTS: list[PagePart] = []
# Rooms whose stores this worker last found all filled (a hint, checked under the room's lock):
# a load there reads only the user's own parts. In a join storm of 200, the room row, its
# tasks and reaction counts were read 200 times and thrown away 199 times.
_WARM_ROOMS: dict[int, None] = {}
_WARM_KEEP = 1000


def live_running(live) -> tuple[int, datetime] | None:
    """The running phase's (sequence number, end) from the room's store, as
    ``rooms.running_anchor`` gives it from the DB (None while idle, paused or closed)."""
    if live.closed or live.phase == "idle" or live.paused_remaining_ms >= 0 or not live.ends_at_ms:
        return None
    return live.phase_seq, datetime.fromtimestamp(live.ends_at_ms / 1000, tz=UTC)


def _page_reads(room_id: int, uid: int, cold: bool = False) -> tuple[rooms.RoomSnapshot | None, list, bool]:
    """The room's snapshot (without members: the batched member list keeps them) and every
    part's values: ONE read-only transaction (on SQLite it does not queue for the write lock
    behind the other joiners' entries). Where this worker found the room's stores filled
    (``_WARM_ROOMS``, looked up when the read runs, not when it was queued) and not ``cold``:
    no snapshot and only the parts' own values (``PagePart.warm_read``). Returns (snapshot,
    values, warm)."""
    warm = not cold and room_id in _WARM_ROOMS
    with read_scope() as db:
        if warm:
            return None, [(part.warm_read or part.read)(db, room_id, uid) for part in PAGE_PARTS], True
        snap = rooms.snapshot(db, room_id, with_members=False)
        if snap is None:
            return None, [], False
        return snap, [part.read(db, room_id, uid) for part in PAGE_PARTS], False


def _note_warm(room_id: int, warm: bool) -> None:
    _WARM_ROOMS.pop(room_id, None)
    if warm:
        _WARM_ROOMS[room_id] = None
        while len(_WARM_ROOMS) > _WARM_KEEP:
            del _WARM_ROOMS[next(iter(_WARM_ROOMS))]


@targets.register(targets.ROOM)
@realtime.broadcast_only
class RoomLive(Handler, rx.SharedState):
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
    # The number of the member list the store holds (several workers: ``live.rooms.keep_members``).
    _members_seq: int = 0

    def _load_snapshot(self, snap: rooms.RoomSnapshot) -> None:
        """Set every var from a snapshot (``live.rooms.load_snapshot``)."""
        load_snapshot(self, snap)

    @rx.event
    async def control(self, action: str):
        """A host's timer action (start, pause, resume, reset, skip). Refused for anyone else."""
        page = await self.get_state(RoomPageState)
        page.error = ""
        room_id = self.room_id
        if room_id == 0:
            page.error = NOT_IN_ROOM
            return
        # The caller and the action in one trip off the loop (the service authorizes the host).
        uid, result = await self._attempt_as_caller(_control, room_id, action,
                                                    errors=(page, "error"))
        if uid is None:
            page.error = NOT_IN_ROOM
            return
        if result is REFUSED:
            return
        values, running = result
        # Under the room lock, after the commit: one broadcast, in order.
        await realtime.publish(self, channels.room(room_id), self.router.session.session_id, **values)
        phases.after_timer_change(room_id, running)

    @rx.event
    async def leave_room(self):
        """Leave the room for good (this tab) and go back to the lobby."""
        uid = await self._caller_id()
        if uid is not None and self.room_id:
            await presence.depart(self, self.router.session.client_token, uid, self.router.session.session_id,
                                  whole_user=True)
        page = await self.get_state(RoomPageState)
        page._room_id = 0
        await realtime.unlink_all(self)
        return rx.redirect(routes.LOBBY)


# A timer action needs the room's store (and its lock, which orders the broadcasts) but none
# of the room's other shared states (``realtime.links``).
realtime.own_link_only(RoomLive, "control")


class RoomPageState(Handler, rx.State):
    """This tab's view of the room page: which room it is in (server-side) and messages."""

    error: str = ""
    sound_on: bool = False
    _room_id: int = 0
    # (socket id, requested room, the entry's result) of an entry made with the connect
    # (``state.room_early``), for this load to take over; never the login itself.
    _early: tuple | None = None

    @rx.event
    async def load(self):
        """on_load of /rooms/[room_id]: authorize and enter, join the room's channels, read the
        page, link the shared room and fill every part of the page (``PAGE_PARTS``) — one
        event, two transactions (SQLite: the entry's read and its one-statement write, then the
        page's read), and nothing but memory work under the room's lock."""
        self.error = ""
        requested = realtime.route_param(self, "room_id")
        if self._room_id and str(self._room_id) != str(requested):
            await self._leave_current()  # went straight from one room to another
        # Who is calling and their entry (authorized by the service), in one trip to the pool:
        # one transaction, or on SQLite a read and a one-statement write (``state.room_entry``).
        login, sid = realtime.held_cookie(self.router.session.session_id), self.router.session.session_id
        early, self._early = unpack_early(self._early, sid, requested), None
        if early is not None:  # entered with the connect (``state.room_early``)
            uid, values, entered, err = early
        else:
            async with entries.entering():  # page reads wait while entries run (``live.entries``)
                uid, values, entered, err = await off_loop(enter_by_login, login, requested)
        await self._note_caller(login, uid, values)
        if err is not None:
            self._refused(err, None)
        if uid is None:
            await self._parts_away()
            return rx.redirect(routes.login_then(self.router.url.path))
        if entered is REFUSED:
            self._room_id = 0
            await self._parts_away()
            return
        room_id, is_new = entered.room_id, entered.is_new
        token = self.router.session.client_token
        # In the channels first, then read: whatever is broadcast after the join reaches this
        # tab, and whatever came before is in the read (the chat feed merges the chat changes
        # it saw into the tail; the store's cached values are always the newest).
        if early is None:  # (an entry with the connect joined and asked for the list then)
            await presence.join_channels(sid, user_id=uid, room_id=room_id)
            if is_new:
                presence.entered(room_id)  # the others' lists need no more than the entry
        self._room_id = room_id  # from here on, a tab moving on (``leave_if_away``) leaves again
        # The page's read runs before the room's lock is taken: a join storm's 200 reads do
        # not queue one by one behind the lock (each waiting for a pool thread and the loop).
        if await entries.reads_may_start():  # in a join storm: after the others' entries,
            await presence.list_sent(room_id, entries.READ_DEFER_LONGEST)  # and their list
        loaded = await self._attempt(_page_reads, room_id, uid)
        if loaded is REFUSED or (loaded[0] is None and not loaded[2]):
            await self._not_loaded(sid, room_id)
            return
        snap, values, warm = loaded
        live = await (await self.get_state(RoomLive))._link_to(shared_key(room_id))  # the room's lock
        # The cached store (kept current under this lock by every change) wins over the read;
        # without one (first entry, restart) it is rebuilt from the read; its member list
        # comes with the batch this entry announces.
        cached = live.room_id == room_id
        filled = cached and all([await part.holds(self, room_id) for part in PAGE_PARTS if part.holds])
        if warm and not filled:
            # The hint was stale (a restart, a store gone): read the room too, now (rare).
            loaded = await self._attempt(_page_reads, room_id, uid, True)
            if loaded is REFUSED or loaded[0] is None:
                _note_warm(room_id, False)
                await realtime.unlink_all(self)
                await self._not_loaded(sid, room_id)
                return
            snap, values, warm = loaded
        _note_warm(room_id, filled)
        if cached:
            running = live_running(live)
        else:
            live._load_snapshot(snap)
            live.host_id = snap.host_id
            running = snap.running
        # What the others see may not list this user yet (new stint, or a stint started by a
        # join-by-code elsewhere): then they get a member update.
        # (The plain list: iterating the proxied var wrapped each of 200 members in a proxy.)
        others_know = cached and any(m.user_id == uid for m in live.get_value("members"))
        for part, value in zip(PAGE_PARTS, values, strict=True):
            await part.fill(self, room_id, uid, value)
        announce = is_new or not others_know
        if await presence.arrive(live, token=token, sid=sid, user_id=uid, room_id=room_id, announce=announce,
                                 joined=True, batched=is_new):
            # The member batch this entry announces brings the list (and the host's name) to
            # every tab in the room, this one too: its own load does not carry it as well (in a
            # join storm of 200 that was ~20,000 members serialized under the room's lock).
            realtime.leave_out_of_delta(live, "members", "host_name")
        phases.follow(room_id, running)
        return ClockState.begin

    async def _not_loaded(self, sid: str, room_id: int) -> None:
        """The page could not be read (the room is gone): out of its channel, nothing shown."""
        self._room_id = 0
        await presence.leave_channel(sid, room_id)
        await self._parts_away()

    async def _parts_away(self) -> None:
        """The tab is not in a room: every part that links or shows room data lets go."""
        for part in PAGE_PARTS:
            if part.away is not None:
                await part.away(self)

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
        presence.forget_tab(token)
        live = await self.get_state(RoomLive)
        uid = live._tabs.get(token)
        if live.room_id == room_id and uid is not None:
            await presence.depart(live, token, uid, sid, whole_user=False)
        else:
            await presence.leave_channel(sid, room_id)
        await realtime.unlink_all(self)

    @rx.event
    def set_sound(self, on: bool):
        """Remember the sound/notification preference shown on the toggle."""
        self.sound_on = bool(on)
