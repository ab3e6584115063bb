"""Quiet focus and reactions in a room, as thin Reflex states over ``services.quiet_focus``
and ``services.reactions``.

``RoomQuiet`` (shared, linked under the room's key like ``RoomBoard``) holds whether the host
opened chat during focus and the reaction counts of the chat's recent messages; each change
goes out as ONE broadcast to the room's channel. Whether a post is allowed is decided by the
chat service from the database, not by these vars: they only choose what the page shows.
``RoomQuietUi`` is this tab's own: which reactions are its user's, and errors.
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from sessions_app import realtime
from sessions_app.live import channels
from sessions_app.services import chat, quiet_focus, reactions
from sessions_app.state.base import REFUSED, Handler, in_db
from sessions_app.state.room import RoomPageState, shared_key

NOT_IN_ROOM = "Join the room first."
# Reaction counts kept in the shared list (a changed list is re-sent whole: keep it small).
MAX_COUNTS = 300
# The offered reactions, in order: (key, emoji).
CHOICES = list(reactions.EMOJI.items())


@dataclasses.dataclass
class ReactionView:
    """How many members reacted to a message with one emoji."""

    message_id: int = 0
    key: str = ""
    emoji: str = ""
    count: int = 0


def reaction_views(items: list[reactions.ReactionCount]) -> list[ReactionView]:
    """Service results as state values."""
    return [ReactionView(r.message_id, r.key, r.emoji, r.count) for r in items]


def quiet_read(db, room_id: int, user_id: int) -> tuple[bool, list[ReactionView], list[str]]:
    """Whether chat is open during focus, the tail's reaction counts and the user's own (the
    room page's read)."""
    ids = reactions.tail_ids(db, chat.room_channel(room_id))
    return (quiet_focus.focus_chat_open(db, room_id), reaction_views(reactions.counts(db, ids)),
            reactions.mine(db, user_id=user_id, message_ids=ids))


def _toggle(db, *, message_id: object, user_id: int, key: object, room_id: int) -> tuple[bool, list[ReactionView]]:
    """Add or take back a reaction; whether it is on now and the message's counts after it."""
    on = reactions.toggle(db, message_id=message_id, user_id=user_id, key=key, channel=chat.room_channel(room_id))
    return on, reaction_views(reactions.counts(db, [int(message_id)]))


class RoomQuietUi(rx.State):
    """This tab's reactions (``"<message id>:<key>"``) and its error line."""

    mine: list[str] = []
    error: str = ""


@realtime.broadcast_only
class RoomQuiet(Handler, rx.SharedState):
    """Quiet-focus setting and reaction counts of one room (plain vars only)."""

    room_id: int = 0
    chat_open: bool = False
    reactions: list[ReactionView] = []

    async def _caller(self) -> tuple[int, int] | None:
        uid = await self._caller_id()
        room_id = (await self.get_state(RoomPageState))._room_id
        if uid is None or not room_id or room_id != self.room_id:
            return None
        return uid, room_id

    async def _fill(self, room_id: int, uid: int, value: tuple[bool, list[ReactionView], list[str]]) -> None:
        """Part of the room page's one load (``state.room_page``): link (under the room's lock)
        and set from the load's read (``quiet_read``) — unless the room's cached values are
        there (every change sets them under this lock: newer than the read)."""
        ui = await self.get_state(RoomQuietUi)
        shared = await self._link_to(shared_key(room_id))
        chat_open, counts, mine = value
        ui.error, ui.mine = "", mine
        if shared.room_id != room_id:
            shared.room_id, shared.chat_open, shared.reactions = room_id, chat_open, counts
        realtime.detach_fanout(shared)  # nothing new for the others

    async def _away(self) -> None:
        """The tab is not in a room: unlinked."""
        ui = await self.get_state(RoomQuietUi)
        ui.error, ui.mine = "", []
        if self._linked_to:
            realtime.detach_fanout(self)
            await self._unlink()

    @rx.event
    async def set_focus_chat(self, open_: bool):
        """The host opens chat during focus blocks (or quiets it again): ``#chat-focus-open``."""
        ui = await self.get_state(RoomQuietUi)
        ui.error = ""
        caller = await self._caller()
        if caller is None:
            ui.error = NOT_IN_ROOM
            return
        uid, room_id = caller
        value = await self._attempt(in_db, quiet_focus.set_focus_chat, room_id=room_id, user_id=uid, open_=open_,
                                    errors=(ui, "error"))
        if value is REFUSED:
            return
        await realtime.publish(self, channels.room(room_id), self.router.session.session_id, chat_open=value)

    @rx.event
    async def react(self, message_id: int, key: str):
        """Add a reaction to a message of this room, or take yours back."""
        ui = await self.get_state(RoomQuietUi)
        ui.error = ""
        caller = await self._caller()
        if caller is None:
            ui.error = NOT_IN_ROOM
            return
        uid, room_id = caller
        toggled = await self._attempt(in_db, _toggle, message_id=message_id, user_id=uid, key=key, room_id=room_id,
                                      errors=(ui, "error"))
        if toggled is REFUSED:
            return
        on, changed = toggled
        mark = f"{int(message_id)}:{key}"
        ui.mine = [*(m for m in ui.mine if m != mark), *([mark] if on else [])][-MAX_COUNTS:]
        others = [r for r in self.reactions if r.message_id != int(message_id)]
        merged = sorted([*others, *changed], key=lambda r: r.message_id)[-MAX_COUNTS:]
        await realtime.publish(self, channels.room(room_id), self.router.session.session_id, reactions=merged)
