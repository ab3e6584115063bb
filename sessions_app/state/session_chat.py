"""A scheduled session's chat on ``/sessions/[id]``: participants and the creator only, from
15 minutes before the start, read-only after the end (``services.scheduled.chat_access``,
checked again by ``services.chat`` on every read and post).

``SessionChatState`` is private to the tab. ``SessionDetailState`` attaches it after every
reload of what this viewer may see: the tab's socket enters the session's chat channel
(``session-<id>-chat``) only while the server says the viewer may read the chat, and leaves
it as soon as that stops (left the session, cancelled, another page). A post or a delete
goes through ``live.chat`` like the room and lobby chats: ONE broadcast of the
change to that channel; outsiders' sockets are never in it, so no message reaches them.
"""

from __future__ import annotations

import reflex as rx

from sessions_app import realtime
from sessions_app.db import session_scope
from sessions_app.live import channels, targets
from sessions_app.live.chat import MessageView, catch_up_wire, deliver, tail_views
from sessions_app.services import chat, scheduled
from sessions_app.state.base import REFUSED, Handler
from sessions_app.state.chat_posts import fast_post
from sessions_app.state.tasks import form_text

# A session chat is short-lived: the last 100 messages are the whole of it in practice.
TAIL = 100


# The socket.io channel of a session's chat (authorized viewers' sockets only); old name kept.
chat_socket_channel = channels.session_chat


def _in_db(fn, *args, **kwargs):
    with session_scope() as db:
        return fn(db, *args, **kwargs)


@targets.register(targets.SESSION_CHAT)
class SessionChatState(Handler, rx.State):
    """This tab's view of one session's chat."""

    messages: list[MessageView] = []
    error: str = ""
    # The chat pipeline's change var and the channel the list belongs to (``chat_pipeline``).
    chat_event: dict = {}
    feed: str = ""
    feed_seq: int = 0
    # The session whose chat this tab may read now (0: none) and the channel its socket is in.
    _session_id: int = 0
    _joined: str = ""

    async def _detach(self) -> None:
        """Leave the chat channel and forget the messages (nothing to do if not attached)."""
        if not (self._joined or self._session_id):
            return
        if self._joined:
            await realtime.leave(self.router.session.session_id, self._joined)
        self._joined = ""
        self._session_id = 0
        self.messages, self.error, self.feed, self.feed_seq = [], "", "", 0

    async def _attach(self, session_id: int, uid: int | None, *, fresh: bool) -> None:
        """Show ``session_id``'s chat (0: none). The caller has just asked the DB whether the
        viewer may read it. Messages are (re)read when the chat is new to this tab or on a
        page load (``fresh``: e.g. after a reconnect); otherwise the live tail is current."""
        if not session_id or uid is None:
            await self._detach()
            return
        if fresh or self._session_id != session_id:
            tail = await self._attempt(tail_views, scheduled.chat_channel(session_id), uid, TAIL)
            if tail is REFUSED:
                self.error = ""  # not a refusal of anything the viewer did: no chat to show
                await self._detach()
                return
            (self.feed_seq, self.messages), self.feed = tail, scheduled.chat_channel(session_id)
        wanted = chat_socket_channel(session_id)
        if self._joined and self._joined != wanted:
            await realtime.leave(self.router.session.session_id, self._joined)
        # Always (idempotent): after a reconnect the socket is new and in no channel. The
        # user's channel too: when their right ends elsewhere (left in another tab, deleted),
        # ``realtime.leave_user_channels`` finds this socket through it.
        await realtime.join(self.router.session.session_id, wanted)
        await realtime.join(self.router.session.session_id, channels.user(uid))
        self._joined, self._session_id = wanted, session_id

    async def _uid(self) -> int | None:
        return await self._caller_id()

    async def _change(self, fn, **kwargs) -> bool:
        """Run one chat change for the caller, then broadcast it to the chat channel."""
        if self.error:  # (setting a var, even to its value, costs a delta)
            self.error = ""
        session_id = self._session_id
        uid, change = (None, None) if not session_id else await self._attempt_as_caller(
            lambda db, uid: fn(db, channel=scheduled.chat_channel(session_id), user_id=uid, **kwargs))
        if uid is None:
            self.error = "Only the people in this session can write in its chat."
            return False
        if change is REFUSED:
            return False
        await deliver(chat_socket_channel(session_id), SessionChatState, change)
        return True

    @rx.event
    async def send(self, form: dict):
        """Post ``#session-chat-input``'s text (the chat service checks the window and the rate)."""
        if await self._change(chat.post, body=form_text(form, "body")):
            return rx.set_value("session-chat-input", "")

    @rx.event
    async def catch_up(self, after: int):
        """The browser saw a gap in this chat's sequence numbers: send this tab the changes
        after ``after``, or the fresh tail when it is too far behind (readers only)."""
        uid, session_id = await self._uid(), self._session_id
        if uid is None or not session_id:
            return
        channel = scheduled.chat_channel(session_id)
        caught = await self._attempt(catch_up_wire, channel, after, uid, TAIL)
        if caught is None:
            tail = await self._attempt(tail_views, channel, uid, TAIL)
            if tail is not REFUSED:
                self.feed_seq, self.messages = tail
        elif caught is not REFUSED:
            self.chat_event = caught

    @rx.event
    async def delete_message(self, message_id: int):
        """Delete one of your own messages in this session's chat."""
        await self._change(chat.delete, message_id=message_id, limit=TAIL)


async def _fast_send(event: realtime.FastEvent) -> bool:
    """``SessionChatState.send`` before Reflex's queue (``state.chat_posts``): the session is
    the one whose chat channel the server put this socket in (only while the viewer may read
    it); none: Reflex's ``send`` answers."""
    session_id = event.channel(channels.session_chat_id_of)
    if session_id is None:
        return False
    return await fast_post(event, chat_channel=scheduled.chat_channel(session_id),
                           socket_channel=chat_socket_channel(session_id), feed=SessionChatState,
                           form=SessionChatState, error_var="error", input_id="session-chat-input")


realtime.fast_event(SessionChatState, "send", _fast_send)
