"""A room page's entry started with the tab's connect (several workers).

A room page load's first step is the entry (``state.room_entry``: the caller's login and
stint), and the others' member lists need nothing else. With Redis that step waited for the
tab's three Reflex events (the connect's hydrate, ``on_load_internal``, the page load), each
a lock, load and save of the tab's states, run in lockstep for every tab of a worker in a
join storm. Here the entry starts when the connect's hydrate starts, on the handler pool
beside it (``realtime.early_hydrate``); once the hydrate's frame has gone, the socket joins
the room's and the user's channels and a new stint asks for the member list — what the load
does first — and the result waits in the tab's ``RoomPageState`` for its load, which takes
it over instead of entering again (``RoomPageState.load``).

A new stint asks for the member list as soon as it is committed, not once its socket has
joined the room's channel; a socket that joins after that list went out is sent the newest
list that lists its user right after joining (``presence.catch_up``: each worker keeps the
newest list it delivered), so the tabs whose hydrate comes last in a join storm do not wait
for one more list. In a burst of entries the hydrate then holds the tab's page load back
(at most ``entries.READ_DEFER_LONGEST``) until this worker has delivered a list listing the
user: with Redis, every page load (Reflex's ``on_load_internal`` dispatch, then the load) is a
lock, a load and a save of the tab's states, and ~100 of them on a worker competed with the
later tabs' hydrates and with the list everyone waits for. The page loads waited for that
list anyway (``presence.list_sent``), only later, after their dispatch and state load.

Nothing is decided differently: the same entry, authorized by the same held login cookie,
for the room of the tab's own route; the load still makes every other decision (a refusal's
message, the login redirect). The socket joins only after the hydrate's frame, so no list
reaches the tab before the state it applies to. Only with several workers
(``realtime.ordered_lists``: there a tab gets its list from a batch, never from its load),
only on a room page's connect, only when the tab is in no other room.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sessions_app import realtime, routes
from sessions_app.live import entries, presence
from sessions_app.realtime import early_hydrate, ordered_lists
from sessions_app.services import rooms
from sessions_app.state.base import off_loop
from sessions_app.state.room import RoomPageState
from sessions_app.state.room_entry import enter_by_login, pack_early


def _hook(state) -> Any:
    """At a connect's hydrate: a room page's entry starts now (module doc), or None."""
    if not ordered_lists.available():
        return None
    page = state.router._page
    if page.path != routes.ROOM:
        return None
    requested, sid = page.params.get("room_id"), state.router.session.session_id
    job = asyncio.ensure_future(_enter(realtime.held_cookie(sid), requested))  # beside the hydrate
    return _after_frame(state, job, sid, requested)


async def _enter(login: str, requested: object) -> tuple:
    """The entry; a new stint asks for the member list at once (module doc)."""
    async with entries.entering():  # page reads wait while entries run (``live.entries``)
        result = await off_loop(enter_by_login, login, requested)
    entered = result[2]
    if isinstance(entered, rooms.Entry) and entered.is_new:
        presence.entered(entered.room_id)
    return result


async def _after_frame(state, job: asyncio.Future, sid: str, requested: object) -> None:
    """The hydrate's frame has gone: as the load's first step would, join (and get the list
    if it went out already; in a burst, wait for it); leave the result for the load."""
    result = await job
    uid, _values, entered, _err = result
    if isinstance(entered, rooms.Entry):
        # First what the others wait for (the load would do the same for this room), then the
        # tab's own state (with Redis, one more wait for the loop).
        await presence.join_channels(sid, user_id=uid, room_id=entered.room_id)
        await presence.catch_up(sid, entered.room_id, uid)  # a list that went out before the join
        if entered.is_new and await entries.reads_may_start():  # a burst of entries: the page
            await presence.listed(entered.room_id, uid, entries.READ_DEFER_LONGEST)  # load after their list
    page = await state.get_state(RoomPageState)
    if page._room_id and (not isinstance(entered, rooms.Entry) or entered.room_id != page._room_id):
        return  # in another room still: the load leaves it first, then enters (as before)
    page._early = pack_early(sid, requested, result)
    if isinstance(entered, rooms.Entry):
        page._room_id = entered.room_id  # from here on, a tab moving on leaves (``leave_if_away``)


early_hydrate.before_hydrate(_hook)
