"""The lobby: live public rooms (counts and timer status), joining by code, creating rooms.

The room list is this tab's private var, loaded from the DB on entry and then replaced by
ONE coalesced broadcast to the ``lobby`` channel whenever a room opens, closes, changes its
count or its timer (``live.feeds.refresh_lobby``).
"""

from __future__ import annotations

import reflex as rx

from sessions_app import realtime, routes
from sessions_app.db import session_scope
from sessions_app.live import channels, targets
from sessions_app.live.feeds import LOBBY_BATCH_SECONDS, RoomCardView, refresh_lobby, room_cards  # noqa: F401
from sessions_app.services import rooms, text
from sessions_app.settings import get_settings
from sessions_app.state.base import REFUSED, Handler
from sessions_app.state.clock import ClockState
from sessions_app.state.lobby_shared import one_copy

ALL = "All"


def _join_with_code(uid: int, code: str, client_ip: str | None) -> int:
    """Enter the private room with ``code``; guessing is rate-limited per user and client."""
    with session_scope() as db:
        return rooms.join_by_code(db, user_id=uid, code=code, client=client_ip or "unknown",
                                  rate_limit=get_settings().join_code_rate_limit).id


def _cards() -> list[RoomCardView]:
    with session_scope() as db:
        return room_cards(db)


def _create(uid: int, form: dict) -> int:
    with session_scope() as db:
        return rooms.create_room(
            db, host_id=uid, name=form.get("name"), discipline=form.get("discipline"),
            is_private=form.get("private", False), focus_minutes=form.get("focus"),
            short_break_minutes=form.get("short_break"), long_break_minutes=form.get("long_break"),
            blocks_before_long_break=form.get("cycles")).id


@targets.register(targets.LOBBY)
class LobbyState(Handler, rx.State):
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
        uid = await self._caller_id(view=True)
        if uid is None:
            return rx.redirect(routes.login_then(routes.LOBBY))
        # Join before reading, so no push between the read and the join is missed.
        await realtime.join(self.router.session.session_id, channels.lobby())
        cards = await self._attempt(_cards)
        if cards is not REFUSED:
            self.rooms = one_copy("lobby-cards", cards)  # every tab shares one equal list
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
        uid = await self._caller_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        room_id = await self._attempt(_join_with_code, uid, self.join_code, self.router.session.client_ip,
                                      errors=(self, "join_error"))
        if room_id is REFUSED:
            return
        self.join_code = ""
        return rx.redirect(routes.room(room_id))


class JoinLinkState(Handler, rx.State):
    """``/join/[code]``: a shared link into a private room."""

    error: str = ""

    @rx.event
    async def load(self):
        """Join by the code in the link, then open the room."""
        self.error = ""
        uid = await self._caller_id(view=True)
        if uid is None:
            return rx.redirect(routes.login_then(self.router.url.path))
        room_id = await self._attempt(_join_with_code, uid, realtime.route_param(self, "code") or "",
                                      self.router.session.client_ip)
        if room_id is REFUSED:
            return
        return rx.redirect(routes.room(room_id), replace=True)


class NewRoomState(Handler, rx.State):
    """``/rooms/new``: the create-room form."""

    error: str = ""
    disciplines: list[str] = rooms.DISCIPLINES

    @rx.event
    async def load(self):
        """on_load: require a login."""
        self.error = ""
        if await self._caller_id(view=True) is None:
            return rx.redirect(routes.login_then(routes.ROOM_NEW))

    @rx.event
    async def create(self, form: dict):
        """Create the room (values validated on the server) and open it."""
        self.error = ""
        uid = await self._caller_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        room_id = await self._attempt(_create, uid, form if isinstance(form, dict) else {})
        if room_id is REFUSED:
            return
        refresh_lobby()
        return rx.redirect(routes.room(room_id))
