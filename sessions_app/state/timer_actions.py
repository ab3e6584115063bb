"""A host's timer action answered before Reflex's event queue (``realtime.fast_events``).

``RoomLive.control`` needs the room's store and its lock (the lock orders the room's
broadcasts) but nothing else of the tab: Reflex's own path still built the event's router
data, queued it, locked the tab AND the room, patched the store into the tab's tree,
resolved the tree's delta and cleaned it (measured: about 3 ms of the loop's time per action
in a room of 10, besides the transaction). Here the room is the channel the server put the
socket in, the caller is its login cookie, and the store is taken under its own lock
(``realtime.modify_shared``, as a phase ending on the server takes it): the action runs in
ONE transaction off the loop (``_control``: the service authorizes the host), the new
anchors go into the store and out in ONE broadcast to the room's other sockets, and the host
gets ONE frame (the anchors, the page's error cleared). A refusal answers with the page's
error message, as Reflex's handler does. Nobody logged in, no room channel, or a store that
is not this room's (after a restart: the page's load rebuilds it): Reflex's ``control``
answers, unchanged.
"""

from __future__ import annotations

from sessions_app import realtime
from sessions_app.live import channels, phases
from sessions_app.live.rooms import shared_key
from sessions_app.state.base import socket_caller_then
from sessions_app.state.room import RoomLive, RoomPageState, _control


async def _fast_control(event: realtime.FastEvent) -> bool:
    room_id = event.channel(channels.room_id_of)
    if room_id is None:
        return False
    async with realtime.modify_shared(RoomLive, shared_key(room_id)) as live:
        if live.room_id != room_id:
            return False
        uid, result, refused = await socket_caller_then(event.sid, _control, room_id, event.payload.get("action"))
        if uid is None:
            return False
        if refused is not None:
            await event.answer({RoomPageState: {"error": refused.message}})
            return True
        values, running = result
        for name, value in values.items():
            setattr(live, name, value)
        # Under the room's lock, after the commit: one broadcast, in order.
        await realtime.push(channels.room(room_id), RoomLive, skip_sid=event.sid, **values)
        await event.answer({RoomLive: values, RoomPageState: {"error": ""}})
    phases.after_timer_change(room_id, running)
    return True


realtime.fast_event(RoomLive, "control", _fast_control)
