"""When and how a call goes through the SFU (Janus VideoRoom): used by ``state.call``.

A call starts as a peer-to-peer mesh. When the SFU is configured and the call grows past
``CALL_SFU_ABOVE`` people (or at once with 0), the server creates the call's VideoRoom
(``services.sfu``), adds a Janus token for every member and tells each member's call tab,
privately, where to publish: the Janus WebSocket URL, their own token, the room and its pin.
Tabs then drop their mesh connections and publish to / subscribe from Janus. When a member
leaves, their token is removed; when the call empties, the VideoRoom is destroyed.
"""

from __future__ import annotations

import logging
import secrets

from sessions_app import realtime
from sessions_app.services import calls, sfu
from sessions_app.services.calls import CallRef
from sessions_app.settings import Settings, get_settings
from sessions_app.state.base import in_db, off_loop

log = logging.getLogger("sessions.calls")


def janus(settings: Settings) -> sfu.Janus | None:
    """The configured Janus, or None (calls stay peer to peer)."""
    if not settings.sfu_enabled:
        return None
    return sfu.Janus(settings.janus_api_url.rstrip("/"), settings.janus_admin_url.rstrip("/"),
                     settings.janus_admin_secret, settings.janus_room_admin_key)


def _room_and_size(db, ref: CallRef) -> tuple[sfu.SfuRoom | None, int]:
    return calls.sfu_room(db, ref), len(calls.peers(db, ref))


def _store_room(db, ref: CallRef, room: sfu.SfuRoom) -> list[tuple[int, str, str]]:
    """Remember the call's VideoRoom; its members (user id, socket, Janus token)."""
    calls.set_sfu_room(db, ref, room)
    return calls.sfu_members(db, ref)


def _after_leave(db, ref: CallRef) -> tuple[sfu.SfuRoom | None, bool]:
    """The call's VideoRoom and whether the call is empty now (an empty call forgets it)."""
    room, empty = calls.sfu_room(db, ref), not calls.peers(db, ref)
    if empty and room is not None:
        calls.set_sfu_room(db, ref, None)
    return room, empty


def _info(settings: Settings, room: sfu.SfuRoom, token: str) -> dict:
    return {"ws_url": settings.janus_ws_url, "token": token, "room": room.room, "pin": room.pin}


async def on_join(ref: CallRef, joiner: int) -> dict | None:
    """After ``joiner`` entered the call: the SFU details for them, or None for the mesh.
    Moves the whole call to the SFU when it has just grown past the limit."""
    settings = get_settings()
    server = janus(settings)
    if server is None:
        return None
    room, size = await off_loop(in_db, _room_and_size, ref)
    if room is None and not (settings.call_sfu_above == 0 or size > settings.call_sfu_above):
        return None
    try:
        room = await sfu.ensure_room(server, ref.key, room, settings.call_max_participants)
    except sfu.SfuError as err:
        log.warning("SFU unavailable, the call stays peer to peer: %s", err)
        return None
    members = await off_loop(in_db, _store_room, ref, room)
    mine = None
    for user_id, sid, token in members:
        if not token:
            token = "u-" + secrets.token_urlsafe(24)
            await sfu.add_token(server, token)
            await off_loop(in_db, calls.set_sfu_token, ref, user_id, token)
            if user_id != joiner and sid:
                # A member of the mesh until now: their tab moves to the SFU.
                await realtime.call_browser(sid, "sfu", _info(settings, room, token))
        if user_id == joiner:
            mine = _info(settings, room, token)
    return mine


async def on_leave(ref: CallRef, tokens: list[str], kicked: int | None = None) -> None:
    """Members left (their Janus ``tokens``): the tokens stop working; a removed member's
    feed is kicked; an empty call's VideoRoom goes."""
    server = janus(get_settings())
    if server is None:
        return
    room, empty = await off_loop(in_db, _after_leave, ref)
    for token in tokens:
        if token:
            await sfu.remove_token(server, token)
    if room is None:
        return
    try:
        if kicked is not None and not empty:
            await sfu.kick(server, room, kicked)
        if empty:
            await sfu.destroy_room(server, room)
    except sfu.SfuError as err:
        log.info("SFU clean-up: %s", err)
