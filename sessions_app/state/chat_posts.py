"""A chat post answered before Reflex's event queue (``realtime.fast_events``): the room,
lobby and session chats' ``send``.

A post needs none of the tab's state: the caller is the socket's login cookie, the chat is
the channel the server put the socket in (a room's or a session chat's, never a number the
browser sent) or the lobby, the chat service authorizes from the database and returns the
change. So the post skips Reflex's per-event machinery (router data, the tab's queue and
lock, argument conversion, the delta of the tab's tree): the login lookup and the post run
in ONE transaction off the loop, the change goes to the chat's other sockets in ONE
broadcast, and the sender gets ONE frame — the change, its form's error cleared and its
input emptied (on SQLite, room and lobby posts run on the driver: ``services.chat_hot``).
A refusal (not allowed, rate limited, an empty or too long message, a quiet
focus block) answers with the form's error message, as the full handler does.

Only that common case is answered here: with nobody logged in, or a socket in no chat
channel (a load still running, a tab that left), ``fast_post`` returns False and Reflex's
own ``send`` handler — unchanged, still the reference — answers the event.
"""

from __future__ import annotations

from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.live.chat import EVENT_VAR, deliver_to_others
from sessions_app.services import chat, chat_hot
from sessions_app.state.base import socket_caller_then
from sessions_app.state.lane import HeldConnection, Lane
from sessions_app.state.tasks import form_text

# SQLite's chat posts run on one thread that keeps its connection (``state.lane``).
_LANE = Lane("sessions-chat")
_HELD = HeldConnection()  # used on the lane's thread only


def _post_on_lane(engine, token: object, channel: str, body: str):
    try:
        return chat_hot.post(engine, token=token, channel=channel, body=body, conn=_HELD.get(engine))
    except BaseException:
        _HELD.drop()  # whatever state the connection is in, the next post takes a fresh one
        raise


async def fast_post(event: realtime.FastEvent, *, chat_channel: str, socket_channel: str, feed: type,
                    form: type, error_var: str, input_id: str) -> bool:
    """Post ``event``'s ``form["body"]`` to ``chat_channel`` for the socket's caller; the
    change goes out in ``feed``'s change var to ``socket_channel``, a refusal into ``form``'s
    ``error_var``; ``input_id`` is emptied after a post. False: nobody is logged in (Reflex's
    handler answers)."""
    body = form_text(event.form(), "body")
    engine = app_db.get_engine()
    if chat_hot.handles(engine, chat_channel):  # SQLite: the same post on the driver (chat_hot)
        uid, change, refused = await _LANE.run(_post_on_lane, engine, realtime.held_cookie(event.sid),
                                               chat_channel, body)
    else:
        uid, change, refused = await socket_caller_then(
            event.sid, lambda db, uid: chat.post(db, channel=chat_channel, user_id=uid, body=body))
    if uid is None:
        return False
    if refused is not None:
        await event.answer({form: {error_var: refused.message}})
        return True
    value = await deliver_to_others(socket_channel, feed, change, event.sid)
    own = {feed: {EVENT_VAR: value}}
    own.setdefault(form, {})[error_var] = ""
    await event.answer(own, set_value=(input_id, ""))
    return True
