"""The lobby chat: private to each tab, delivered through ``live.chat`` (the chat pipeline).

The service authorizes and returns the change, and only that change is broadcast to the lobby
channel (every lobby tab merges it into its list). ``LobbyChatState``'s backend copy of the
list is stale after broadcasts, so "load older" re-reads the tail from the DB.
"""

from __future__ import annotations

import reflex as rx

from sessions_app import realtime
from sessions_app.db import session_scope
from sessions_app.live import targets
from sessions_app.live.chat import MessageView, catch_up_wire, deliver, message_views, tail_views
from sessions_app.services import chat
from sessions_app.state.base import REFUSED, Handler
from sessions_app.state.chat_history import MAX_OLDER_PAGES, in_db, older_window
from sessions_app.state.chat_posts import fast_post
from sessions_app.state.lobby_shared import one_copy
from sessions_app.state.tasks import form_text

LOGIN_FIRST = "Log in again to chat."


def _lobby_older(uid: int, first_older: int | None) -> tuple[list[MessageView], list[MessageView], bool]:
    with session_scope() as db:
        tail = chat.recent(db, chat.LOBBY, user_id=uid)
        first = first_older if first_older is not None else (tail[0].id if tail else 2**62)
        older, done = older_window(db, chat.LOBBY, uid, first)
        return message_views(tail), older, done


@targets.register(targets.LOBBY_CHAT)
class LobbyChatState(Handler, rx.State):
    """This tab's lobby chat: the tail (replaced by broadcasts), its older history, errors."""

    messages: list[MessageView] = []
    deleted_ids: list[int] = []
    error: str = ""
    chat_event: dict = {}
    feed: str = chat.LOBBY
    feed_seq: int = 0
    older: list[MessageView] = []
    older_last_id: int = 0
    older_done: bool = False
    older_pages: int = 0

    async def _uid(self) -> int | None:
        return await self._caller_id()

    @rx.event
    async def load(self):
        """on_load of /lobby: the last 50 messages (the lobby channel is joined by
        ``LobbyState.load``)."""
        self.error = ""
        self.older, self.older_last_id, self.older_done, self.older_pages = [], 0, False, 0
        self.deleted_ids = []
        uid = await self._uid()
        if uid is None:
            self.messages = []
            return
        tail = await self._attempt(tail_views, chat.LOBBY, uid)
        if tail is not REFUSED:
            self.feed_seq, self.messages = tail[0], one_copy("lobby-tail", tail[1])  # one tail for all tabs

    @rx.event
    async def send(self, form: dict):
        """Post ``#lobby-chat-input``'s text (rate-limited) and broadcast the new message."""
        if self.error:  # (setting a var, even to its value, costs a delta)
            self.error = ""
        body = form_text(form, "body")
        uid, change = await self._attempt_as_caller(
            lambda db, uid: chat.post(db, channel=chat.LOBBY, user_id=uid, body=body))
        if uid is None:
            self.error = LOGIN_FIRST
            return
        if change is REFUSED:
            return
        await deliver(chat.LOBBY, LobbyChatState, change)
        return rx.set_value("lobby-chat-input", "")

    @rx.event
    async def delete_message(self, message_id: int):
        """Delete one of your own lobby messages."""
        self.error = ""
        uid = await self._uid()
        if uid is None:
            self.error = LOGIN_FIRST
            return
        change = await self._attempt(in_db, chat.delete, message_id=message_id, user_id=uid, channel=chat.LOBBY)
        if change is REFUSED:
            return
        await deliver(chat.LOBBY, LobbyChatState, change)

    @rx.event
    async def catch_up(self, after: int):
        """The browser saw a gap in the lobby chat's sequence numbers: send this tab the
        changes after ``after``, or the fresh tail when it is too far behind."""
        uid = await self._uid()
        if uid is None:
            return
        caught = await self._attempt(catch_up_wire, chat.LOBBY, after, uid, chat.PAGE)
        if caught is None:
            tail = await self._attempt(tail_views, chat.LOBBY, uid)
            if tail is not REFUSED:
                self.feed_seq, self.messages = tail[0], one_copy("lobby-tail", tail[1])
        elif caught is not REFUSED:
            self.chat_event = caught

    @rx.event
    async def load_older(self):
        """Show 50 more lobby messages before the oldest one shown."""
        self.error = ""
        uid = await self._uid()
        if uid is None:
            self.error = LOGIN_FIRST
            return
        if self.older_pages >= MAX_OLDER_PAGES:
            self.error = "That is as far back as this view goes. Reload to start again."
            return
        # This tab's backend copy of the tail may be stale (broadcasts bypass it): ask the DB.
        result = await self._attempt(_lobby_older, uid, self.older[0].id if self.older else None)
        if result is REFUSED:
            return
        self.messages, older, done = result
        if older:
            self.older, self.older_last_id = older, older[-1].id
            self.older_pages += 1
        self.older_done = done


async def _fast_send(event: realtime.FastEvent) -> bool:
    """``LobbyChatState.send`` before Reflex's queue (``state.chat_posts``): every logged-in
    user may post in the lobby; nobody logged in: Reflex's ``send`` answers."""
    return await fast_post(event, chat_channel=chat.LOBBY, socket_channel=chat.LOBBY, feed=LobbyChatState,
                           form=LobbyChatState, error_var="error", input_id="lobby-chat-input")


realtime.fast_event(LobbyChatState, "send", _fast_send)
