"""Presence in live rooms: which tabs are in which room, arriving, departing, batched member
lists, and tabs that are gone (the disconnect hook's grace, account deletion).

A tab's arrival and departure change the room's store (``RoomLive``, locked by the caller or
by ``rooms.locked_room``), its socket's channels and the DB stint (``services.rooms.leave``),
then go out as one broadcast; member lists are batched (``MEMBER_BATCH_SECONDS``, at most
``MEMBER_BATCH_LONGEST`` while joins keep coming) so a join storm of 200 sends a few lists,
not 200, and their read runs off the event loop. With several workers a list goes out
numbered and without the room's lock (``realtime.ordered_lists``): a room page load then
always gets the list that way, never from the store (which may not have taken the newest).
"""

from __future__ import annotations

import asyncio
import contextlib

from sessions_app import realtime
from sessions_app.db import session_scope, system_scope
from sessions_app.live import channels
from sessions_app.live.feeds import refresh_lobby
from sessions_app.live.rooms import (
    MEMBER_VARS,
    keep_members,
    locked_room,
    member_vars,
    members_now,
    push,
    send_members,
    timer_vars,
)
from sessions_app.realtime import ordered_lists
from sessions_app.services import rooms

# A member list goes out once joins pause this long, or this long after the first of a burst
# (each list goes whole to every tab in the room: 200 lists to 200 tabs was 40,000 entries).
# The pause is the wait after a join storm's last entry: with entries ~2 ms apart while a
# storm lasts, 0.05 s still makes two lists of a storm of 200 (measured), 0.05 s sooner.
MEMBER_BATCH_SECONDS = 0.05
MEMBER_BATCH_LONGEST = 1.0
# This worker's tabs in rooms: token → room id (a socket's disconnect reaches its own worker).
_tab_room: dict[str, int] = {}
# Rooms whose member list was asked for and has not gone out yet: set when it has.
_lists_due: dict[int, asyncio.Event] = {}


async def join_channels(sid: str, *, user_id: int, room_id: int) -> None:
    """A tab's entry was just authorized: its socket joins the room's and the user's channels
    — before the page is read, so nothing broadcast in between is missed (``arrive``)."""
    await realtime.join(sid, channels.room(room_id))
    await realtime.join(sid, channels.user(user_id))


async def arrive(live, *, token: str, sid: str, user_id: int, room_id: int, announce: bool,
                 joined: bool = False, batched: bool = False) -> bool:
    """A tab entered the room (its store ``live`` is linked and locked by the caller): note
    the tab, put its socket in the room's and the user's channels (unless ``joined`` already,
    ``join_channels``), and — ``announce``: the others do not list this user yet — batch a
    member update and refresh the lobby. With several workers every arrival gets a batched
    list (the store may not hold the newest: ``realtime.ordered_lists``). Returns whether a
    batched list is on its way to this tab (its own load then leaves the list out)."""
    live._tabs = {**live._tabs, token: user_id}
    live._missing_since = {t: s for t, s in live._missing_since.items() if t != token}
    realtime.detach_fanout(live)
    _tab_room[token] = room_id
    if not joined:
        await join_channels(sid, user_id=user_id, room_id=room_id)
    listed = announce or ordered_lists.available()
    if listed and not batched:  # (``batched``: requested at the entry already, ``entered``)
        refresh_members(room_id)
    if announce:
        refresh_lobby()
    return listed


async def catch_up(sid: str, room_id: int, user_id: int) -> None:
    """Several workers: a socket that just joined the room's channel gets the newest member
    list this worker delivered, if it lists the user — a list that went out before the join
    (the user's own entry asked for it at its commit: ``state.room_early``); later lists
    reach the socket through the channel (``realtime.ordered_lists.newest``)."""
    if ordered_lists.available():
        await ordered_lists.send_newest_to(sid, channels.room(room_id), user_id)


async def listed(room_id: int, user_id: int, timeout: float) -> None:
    """Several workers: wait (at most ``timeout`` seconds) until this worker has delivered a
    member list that lists the user (``state.room_early``: a connect in a join storm holds
    its page load back until then, so the loads do not compete with the list)."""
    if ordered_lists.available():
        await ordered_lists.delivered(channels.room(room_id), user_id, timeout)


def entered(room_id: int) -> None:
    """A new stint was just committed (and the tab's socket is in the room's channel): the
    member batch is requested now, not when the tab's page load ends. The list is read from
    the DB, so it lists everyone who has entered; in a join storm it goes out once the entries
    pause, while the page loads behind them are still running."""
    refresh_members(room_id)


def forget_tab(token: str) -> None:
    """This worker stops tracking the tab (it left through its own handler)."""
    _tab_room.pop(token, None)


async def depart(live, token: str, uid: int, sender_sid: str | None, *, whole_user: bool) -> None:
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
        await realtime.leave(sender_sid, channels.room(room_id))
    if whole_user:
        # The user's right to the room ends: every socket of theirs leaves the channel now
        # (their other tabs too, which only a browser would have moved on by itself).
        await realtime.leave_user_channels(uid, channels.room(room_id))
    if uid in tabs.values():
        realtime.detach_fanout(live)
        return
    # The departing user comes from the room's server-side record, not from the caller (a tab
    # navigating away, presence, deletion): the leave and the read-back run as the system.
    with system_scope("a departure the room's server-side record names") as db:
        result = rooms.leave(db, room_id=room_id, user_id=uid)
        snap = rooms.snapshot(db, room_id)
        values = {**member_vars(snap), "closed": snap.closed, **timer_vars(snap.timer)}
    if result.closed:
        realtime.cancel(channels.room(room_id))
    if ordered_lists.available():
        # The list goes the numbered way (numbered after this commit, read after the number),
        # so no list read before the departure can arrive after it; the rest as before.
        await realtime.publish(live, channels.room(room_id), sender_sid,
                               **{k: v for k, v in values.items() if k not in MEMBER_VARS})
        keep_members(live, *await asyncio.to_thread(send_members, room_id))
    else:
        await realtime.publish(live, channels.room(room_id), sender_sid, **values)
    refresh_lobby()


async def leave_channel(sid: str, room_id: int) -> None:
    """A socket leaves a room's channel (its tab was not counted in the room any more)."""
    await realtime.leave(sid, channels.room(room_id))


async def drop_tab(room_id: int, token: str) -> None:
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


async def on_tab_gone(token: str) -> None:
    """A tab has been disconnected for longer than the grace: it leaves its room."""
    room_id = _tab_room.pop(token, None)
    if room_id is not None:
        await drop_tab(room_id, token)


async def list_sent(room_id: int, timeout: float) -> None:
    """Wait (at most ``timeout`` seconds) until the member list requested for the room has
    gone out. A page load in a join storm waits for it before its read: the list's batch needs
    the room's lock, which the loads behind it would otherwise take first, one by one (with
    Redis, ~200 loads and saves of the room's stores)."""
    if (due := _lists_due.get(room_id)) is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(due.wait(), timeout)


def refresh_members(room_id: int) -> None:
    """Batch member-list changes of a room into one broadcast (a join storm sends a few)."""
    _lists_due.setdefault(room_id, asyncio.Event())

    async def run() -> None:
        sent = _lists_due.pop(room_id, None)  # a request from now on waits for the next list
        if ordered_lists.available():
            await _send_numbered(room_id, sent)
            return
        try:
            async with locked_room(room_id) as live:
                if live is None:
                    return
                # Read under the room's lock (a departure's list, published under it, is never
                # overtaken by an older read) but off the loop: the loop keeps serving the joins.
                values = await asyncio.to_thread(members_now, room_id)
                if not values:
                    return
                for k, v in values.items():
                    setattr(live, k, v)
                await push(room_id, **values)
        finally:
            if sent is not None:
                sent.set()

    realtime.debounce(f"members-{room_id}", MEMBER_BATCH_SECONDS, MEMBER_BATCH_LONGEST, run)


async def _send_numbered(room_id: int, sent: asyncio.Event | None) -> None:
    """With several workers: the list goes out numbered, without the room's lock (with Redis,
    Reflex's lock, taken in turn by every page load of the room on every worker), read and
    sent from a thread (``live.rooms.send_members``); the room's store takes it afterwards,
    under its lock, unless it holds a newer one."""
    try:
        number, values = await asyncio.to_thread(send_members, room_id)
    finally:
        if sent is not None:
            sent.set()
    if values:
        async with locked_room(room_id) as live:
            if live is not None:
                keep_members(live, number, values)
