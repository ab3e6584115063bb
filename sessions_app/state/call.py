"""A tab's part in a room's or a session's call, and the relay of its signalling.

The browser's call script (``assets/calls.js``) talks to the server through ONE handler,
``CallState.message``, fed by the invisible ``components.call.CallBridge``. Every message
is authorized here from the server-side user (``services.calls``): join, leave, a signal
for one other member, the host's mute / remove, the camera flags. What goes back to pages
goes through ``realtime.call_browser``: roster changes to the call's channel (the sockets of
the tabs in the call), a signal to the one socket of its addressee. Outsiders' sockets are
never in a call channel and are never addressed, so nothing about a call reaches them.
"""

from __future__ import annotations

import logging

import reflex as rx

from sessions_app import realtime
from sessions_app.live import channels
from sessions_app.services import calls
from sessions_app.services.calls import CallRef
from sessions_app.services.errors import ServiceError
from sessions_app.settings import get_settings
from sessions_app.state import call_sfu
from sessions_app.state.base import Handler, in_db, off_loop

log = logging.getLogger("sessions.calls")


def _urls(value: str) -> list[str]:
    return [u.strip() for u in value.split(",") if u.strip()]


def _roster(db, ref: CallRef) -> dict:
    return {"peers": calls.peers(db, ref), "host_id": calls.host_of(db, ref)}


async def push_roster(ref: CallRef) -> None:
    """Everyone in the call learns who is in it now (one broadcast to the call channel)."""
    await realtime.call_browser(channels.call(ref.key), "roster", await off_loop(in_db, _roster, ref))


def _joined(db, ref: CallRef, *, user_id: int, sid: str, token: str, max_size: int):
    """Enter the call; the join result, the caller's access and the cameras reminder."""
    result = calls.join(db, ref, user_id=user_id, sid=sid, token=token, max_size=max_size)
    return result, calls.access(db, ref, user_id), calls.cameras_on_focus(db, ref)


def _left(db, ref: CallRef, *, user_id: int, sid: str) -> tuple[str, bool]:
    """Leave the call; the member's Janus token (read first) and whether they were in it."""
    sfu_token = calls.sfu_token_of(db, ref, user_id)
    return sfu_token, calls.leave(db, ref, user_id=user_id, sid=sid)


def _removed(db, ref: CallRef, *, host_id: int | None, target: object) -> tuple[int, str, str]:
    """The host removes a member: (their id, their socket, their Janus token)."""
    target_id, target_sid = calls.host_remove(db, ref, host_id=host_id, target=target)
    return target_id, target_sid, calls.sfu_token_of(db, ref, target_id)


class CallState(Handler, rx.State):
    """This tab's call: whether it is in one and the flags its buttons show."""

    in_call: bool = False
    is_host: bool = False
    mic_on: bool = True
    camera_on: bool = True
    cameras_on_focus: bool = False
    error: str = ""
    # The call this tab is in ("" none): server-side only.
    _call: str = ""

    def _ref(self) -> CallRef | None:
        if not self._call:
            return None
        kind, _, rid = self._call.partition(":")
        return CallRef(kind, int(rid))

    @rx.event
    async def message(self, msg: dict):
        """Everything the call script sends. Bad input gets a message and changes nothing."""
        self.error = ""
        if not isinstance(msg, dict):
            return
        op = msg.get("op")
        handlers = {"hello": self._hello, "join": self._join, "leave": self._leave, "signal": self._signal,
                    "media": self._media, "mute": self._mute, "remove": self._remove,
                    "cameras_on_focus": self._cameras_on_focus}
        handler = handlers.get(op)
        if handler is None:
            return
        try:
            await self._follow_reconnect()
            await handler(msg)
        except ServiceError as err:
            self.error = err.message
            await realtime.call_browser(self.router.session.session_id, "error", {"message": err.message})

    async def _follow_reconnect(self) -> None:
        """After a reconnect this tab has a new socket: the call row and channel follow it."""
        ref = self._ref()
        if ref is None:
            return
        uid, sid = await self._uid(), self.router.session.session_id
        if uid is None:
            return
        moved = await off_loop(in_db, calls.rebind, ref, user_id=uid, token=self.router.session.client_token, sid=sid)
        if moved:
            await realtime.join(sid, channels.call(ref.key))

    async def _uid(self) -> int | None:
        return await self._caller_id()

    async def _hello(self, msg: dict) -> None:
        """The page (re)loaded: a call this tab was in before the reload is over."""
        await self._end_tab_calls()

    async def _end_tab_calls(self) -> None:
        left = await off_loop(in_db, calls.leave_tab, self.router.session.client_token)
        for ref, _, sfu_token in left:
            await realtime.leave(self.router.session.session_id, channels.call(ref.key))
            await push_roster(ref)
            await call_sfu.on_leave(ref, [sfu_token])
        self.in_call, self._call = False, ""

    async def _join(self, msg: dict) -> None:
        ref = calls.parse_ref(msg.get("kind"), msg.get("id"))
        uid = await self._uid()
        if uid is None:
            raise ServiceError("Log in to join the call.")
        if self._call and self._call != ref.key:
            await self._leave({})
        sid, settings = self.router.session.session_id, get_settings()
        result, access, cameras = await off_loop(in_db, _joined, ref, user_id=uid, sid=sid,
                                                 token=self.router.session.client_token,
                                                 max_size=settings.call_max_participants)
        if result.replaced_sid:
            await realtime.call_browser(result.replaced_sid, "ended", {"reason": "You joined from another tab."})
        await realtime.join(sid, channels.call(ref.key))
        self._call, self.in_call, self.is_host = ref.key, True, access.is_host
        self.cameras_on_focus, self.mic_on, self.camera_on = cameras, True, True
        servers = calls.ice_servers(stun_urls=_urls(settings.call_stun_urls), turn_urls=_urls(settings.call_turn_urls),
                                    turn_secret=settings.turn_secret, ttl_seconds=settings.turn_ttl_seconds,
                                    user_id=uid)
        # Through the SFU when configured and the call is big enough (or already there).
        sfu_info = await call_sfu.on_join(ref, uid)
        await realtime.call_browser(sid, "joined", {"self_id": uid, "host_id": access.host_id, "peers": result.peers,
                                                    "ice_servers": servers, "sfu": sfu_info})
        await push_roster(ref)

    async def _leave(self, msg: dict) -> None:
        ref, uid = self._ref(), await self._uid()
        self.in_call, self._call = False, ""
        if ref is None or uid is None:
            return
        sid = self.router.session.session_id
        sfu_token, left = await off_loop(in_db, _left, ref, user_id=uid, sid=sid)
        await realtime.leave(sid, channels.call(ref.key))
        if left:
            await push_roster(ref)
            await call_sfu.on_leave(ref, [sfu_token])

    async def _signal(self, msg: dict) -> None:
        ref = self._ref()
        if ref is None:
            raise ServiceError("You are not in this call.")
        uid = await self._uid()
        data = calls.clean_signal(msg.get("kind"), msg.get("data"))
        target_sid = await off_loop(in_db, calls.route_signal, ref, user_id=uid, sid=self.router.session.session_id,
                                    to_user=msg.get("to"))
        await realtime.call_browser(target_sid, "signal", {"from": uid, "kind": msg.get("kind"), "data": data})

    async def _media(self, msg: dict) -> None:
        """The page's microphone / camera flags (for the buttons and the focus reminder)."""
        self.mic_on = bool(msg.get("mic", self.mic_on))
        self.camera_on = bool(msg.get("camera", self.camera_on))

    async def _mute(self, msg: dict) -> None:
        ref, uid = self._ref(), await self._uid()
        if ref is None:
            raise ServiceError("Only the host can do that.")
        ask = await off_loop(in_db, calls.ask_to_mute, ref, host_id=uid, target=msg.get("user"))
        await realtime.call_browser(ask.sid, "muted", {"by": ask.by})

    async def _remove(self, msg: dict) -> None:
        ref, uid = self._ref(), await self._uid()
        if ref is None:
            raise ServiceError("Only the host can do that.")
        target_id, target_sid, sfu_token = await off_loop(in_db, _removed, ref, host_id=uid, target=msg.get("user"))
        if target_sid:
            await realtime.call_browser(target_sid, "ended", {"reason": "The host removed you from the call."})
        # Every socket of theirs leaves the call's channel, on every worker; their Janus token
        # stops working and their feed is kicked from the SFU room.
        await realtime.leave_user_channels(target_id, channels.call(ref.key))
        await push_roster(ref)
        await call_sfu.on_leave(ref, [sfu_token], kicked=target_id)

    async def _cameras_on_focus(self, msg: dict) -> None:
        ref, uid = self._ref(), await self._uid()
        if ref is None:
            raise ServiceError("Only the room's host can change that.")
        on = bool(msg.get("on"))
        await off_loop(in_db, calls.set_cameras_on_focus, ref, host_id=uid, on=on)
        self.cameras_on_focus = on
        await realtime.push(channels.call(ref.key), CallState, cameras_on_focus=on)

    @rx.event
    async def leave_if_away(self):
        """on_load of pages without a call: a tab that navigated away leaves its call."""
        if self._call:
            await self._end_tab_calls()


async def _on_tab_gone(token: str) -> None:
    """A tab closed (past the grace): it leaves its calls, the others are told."""
    left = await off_loop(in_db, calls.leave_tab, token)
    for ref, _, sfu_token in left:
        await push_roster(ref)
        await call_sfu.on_leave(ref, [sfu_token])


def install() -> None:
    """Register the call's presence hook with ``realtime``."""
    realtime.on_gone(_on_tab_gone)
