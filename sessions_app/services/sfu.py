"""The calls' SFU: the Janus WebRTC server's VideoRoom plugin, driven from the server.

Janus runs on loopback (``scripts/janus.sh``) with ``token_auth``: every request needs a token
the server added through the Admin API (``admin_secret`` never leaves the server). For a call
the server creates a VideoRoom with a random per-room ``secret`` (kept here: destroy, kick)
and ``pin`` (given to the call's members only), and adds one token per member
(``add_token``), removed again when they leave or are removed — so a browser outside the
call has neither a token Janus accepts nor the room's pin. The browser talks to Janus over
its WebSocket transport with plain JSON (``assets/calls.js``); media never touches the app.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import uuid

import httpx

log = logging.getLogger("sessions.sfu")
PLUGIN = "janus.plugin.videoroom"


@dataclasses.dataclass(frozen=True)
class Janus:
    """Where Janus answers (server side) and its secrets."""

    api_url: str
    admin_url: str
    admin_secret: str
    room_admin_key: str


@dataclasses.dataclass(frozen=True)
class SfuRoom:
    """A call's VideoRoom: its number, the secret that manages it and the pin that enters it."""

    room: int
    secret: str
    pin: str


class SfuError(Exception):
    """Janus refused or could not be reached."""


def _tx() -> str:
    return uuid.uuid4().hex[:12]


async def _post(client: httpx.AsyncClient, url: str, body: dict) -> dict:
    try:
        reply = (await client.post(url, json=body, timeout=5.0)).json()
    except (httpx.HTTPError, ValueError) as err:
        raise SfuError(f"Janus did not answer: {err}") from err
    if reply.get("janus") == "error":
        raise SfuError(reply.get("error", {}).get("reason", "Janus error"))
    return reply


async def add_token(janus: Janus, token: str) -> None:
    """Let ``token`` use the VideoRoom plugin (Admin API)."""
    async with httpx.AsyncClient() as client:
        await _post(client, janus.admin_url, {"janus": "add_token", "token": token, "plugins": [PLUGIN],
                                              "transaction": _tx(), "admin_secret": janus.admin_secret})


async def remove_token(janus: Janus, token: str) -> None:
    """``token`` stops working (its Janus sessions fail from now on)."""
    async with httpx.AsyncClient() as client:
        try:
            await _post(client, janus.admin_url, {"janus": "remove_token", "token": token, "transaction": _tx(),
                                                  "admin_secret": janus.admin_secret})
        except SfuError as err:
            log.info("remove_token: %s", err)


async def _videoroom(janus: Janus, body: dict) -> dict:
    """One VideoRoom request on a short-lived Janus session under a one-off server token."""
    token = "srv-" + secrets.token_urlsafe(18)
    await add_token(janus, token)
    try:
        async with httpx.AsyncClient() as client:
            session = (await _post(client, janus.api_url, {"janus": "create", "transaction": _tx(),
                                                           "token": token}))["data"]["id"]
            base = f"{janus.api_url}/{session}"
            handle = (await _post(client, base, {"janus": "attach", "plugin": PLUGIN, "transaction": _tx(),
                                                 "token": token}))["data"]["id"]
            reply = await _post(client, f"{base}/{handle}", {"janus": "message", "transaction": _tx(),
                                                             "token": token, "body": body})
            await _post(client, base, {"janus": "destroy", "transaction": _tx(), "token": token})
    finally:
        await remove_token(janus, token)
    return reply.get("plugindata", {}).get("data", {})


async def ensure_room(janus: Janus, call_key: str, existing: SfuRoom | None, max_publishers: int) -> SfuRoom:
    """The call's VideoRoom, created (random number, new secret and pin) unless it exists."""
    if existing is not None:
        exists = await _videoroom(janus, {"request": "exists", "room": existing.room})
        if exists.get("exists"):
            return existing
    for _ in range(3):
        room = SfuRoom(secrets.randbelow(2**31 - 2) + 1, secrets.token_urlsafe(18), secrets.token_urlsafe(12))
        data = await _videoroom(janus, {"request": "create", "room": room.room, "admin_key": janus.room_admin_key,
                                        "secret": room.secret, "pin": room.pin, "publishers": max_publishers,
                                        "description": call_key, "permanent": False, "is_private": True})
        if data.get("videoroom") == "created":
            return room
        if data.get("error_code") != 427:  # 427: that number is taken; anything else is final
            break
    raise SfuError(data.get("error", "the SFU room could not be created"))


async def kick(janus: Janus, room: SfuRoom, user_id: int) -> None:
    """Take a member's feed out of the room (they publish under their user id)."""
    await _videoroom(janus, {"request": "kick", "room": room.room, "secret": room.secret, "id": user_id})


async def destroy_room(janus: Janus, room: SfuRoom) -> None:
    """Remove the call's VideoRoom (the call is empty)."""
    try:
        await _videoroom(janus, {"request": "destroy", "room": room.room, "secret": room.secret})
    except SfuError as err:
        log.info("destroy room %s: %s", room.room, err)
