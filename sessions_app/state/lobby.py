"""The lobby: live public rooms (counts and timer status), joining by code, creating rooms.

The room list is this tab's private var, loaded from the DB on entry and then replaced by
ONE coalesced broadcast to the ``lobby`` channel whenever a room opens, closes, changes its
count or its timer (``refresh_lobby`` below).
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from sessions_app import realtime, routes
from sessions_app.db import session_scope
from sessions_app.live import channels
from sessions_app.services import rooms, text
from sessions_app.services.errors import ServiceError
from sessions_app.services.timer import PHASE_LABELS
from sessions_app.settings import get_settings
from sessions_app.state.auth import AuthState
from sessions_app.state.clock import ClockState

ALL = "All"


@dataclasses.dataclass
class RoomCardView:
    """A public room card."""

    id: int = 0
    name: str = ""
    discipline: str = ""
    count: int = 0
    phase: str = "idle"
    phase_label: str = "idle"
    ends_at_ms: int = 0
    paused_remaining_ms: int = -1


def room_cards(db) -> list[RoomCardView]:
    """The lobby's room cards."""
    return [RoomCardView(c.id, c.name, c.discipline, c.count, c.phase, PHASE_LABELS.get(c.phase, c.phase),
                         c.ends_at_ms, c.paused_remaining_ms) for c in rooms.lobby_rooms(db)]


def _join_with_code(uid: int, code: str, client_ip: str | None) -> int:
    """Enter the private room with ``code``; guessing is rate-limited per user and client."""
    with session_scope() as db:
        return rooms.join_by_code(db, user_id=uid, code=code, client=client_ip or "unknown",
                                  rate_limit=get_settings().join_code_rate_limit).id


class LobbyState(rx.State):
    """This tab's lobby view."""

    rooms: list[RoomCardView] = []
    discipline_filter: str = ALL
    join_code: str = ""
    join_error: str = ""
    notice: str = ""

    @rx.var
    def disciplines(self) -> list[str]:
        """The filter choices."""
        return [ALL, *rooms.DISCIPLINES]

    @rx.event
    async def load(self):
        """on_load of /lobby: load rooms and listen to the lobby channel."""
        self.join_error = ""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.login_then(routes.LOBBY))
        with session_scope() as db:
            self.rooms = room_cards(db)
        await realtime.join(self.router.session.session_id, channels.lobby())
        return ClockState.begin

    @rx.event
    def set_discipline_filter(self, value: str):
        """Filter the room list by discipline."""
        self.discipline_filter = value if value in self.disciplines else ALL

    @rx.event
    def set_join_code(self, value: str):
        """Typing a room code."""
        self.join_code = text.draft(value, 16).upper()

    @rx.event
    async def join_by_code(self):
        """Join a private room by its code (rate-limited against guessing)."""
        self.join_error = ""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        try:
            room_id = _join_with_code(uid, self.join_code, self.router.session.client_ip)
        except ServiceError as err:
            self.join_error = err.message
            return
        self.join_code = ""
        return rx.redirect(routes.room(room_id))


class JoinLinkState(rx.State):
    """``/join/[code]``: a shared link into a private room."""

    error: str = ""

    @rx.event
    async def load(self):
        """Join by the code in the link, then open the room."""
        self.error = ""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.login_then(self.router.url.path))
        try:
            room_id = _join_with_code(uid, self.router.page.params.get("code", ""), self.router.session.client_ip)
        except ServiceError as err:
            self.error = err.message
            return
        return rx.redirect(routes.room(room_id), replace=True)


class NewRoomState(rx.State):
    """``/rooms/new``: the create-room form."""

    error: str = ""
    disciplines: list[str] = rooms.DISCIPLINES

    @rx.event
    async def load(self):
        """on_load: require a login."""
        self.error = ""
        auth = await self.get_state(AuthState)
        if auth.current_user_id() is None:
            return rx.redirect(routes.login_then(routes.ROOM_NEW))

    @rx.event
    async def create(self, form: dict):
        """Create the room (values validated on the server) and open it."""
        self.error = ""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        form = form if isinstance(form, dict) else {}
        try:
            with session_scope() as db:
                room = rooms.create_room(
                    db, host_id=uid, name=form.get("name"), discipline=form.get("discipline"),
                    is_private=form.get("private", False), focus_minutes=form.get("focus"),
                    short_break_minutes=form.get("short_break"), long_break_minutes=form.get("long_break"),
                    blocks_before_long_break=form.get("cycles"))
                room_id = room.id
        except ServiceError as err:
            self.error = err.message
            return
        refresh_lobby()
        return rx.redirect(routes.room(room_id))


# Lobby changes within this window (counts, timer status, rooms opening or closing) become one push.
LOBBY_BATCH_SECONDS = 0.25


def refresh_lobby() -> None:
    """Batch lobby changes (counts, timer status, rooms opening/closing) into one broadcast."""
    async def push() -> None:
        with session_scope() as db:
            cards = room_cards(db)
        await realtime.push(channels.lobby(), LobbyState, rooms=cards)

    realtime.coalesce("lobby", LOBBY_BATCH_SECONDS, push)
