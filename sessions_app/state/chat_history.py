"""History shared by the room and lobby chats: "load older" windows and one-transaction calls.

"Load older" history is per tab: a gap-free window from the oldest loaded message up to the
newest at load time; the live tail adds the messages after it.
"""

from __future__ import annotations

from sessions_app.db import session_scope
from sessions_app.live.chat import MessageView, message_views
from sessions_app.services import chat

# "Load older" pages a tab may hold (50 each) before it is asked to reload.
MAX_OLDER_PAGES = 10


def older_window(db, channel_name: str, uid: int, first_shown: int) -> tuple[list[MessageView], bool]:
    """One more page of history before ``first_shown``, as a gap-free window up to the newest
    message; and whether the beginning of the channel is reached."""
    page = chat.before(db, channel_name, first_shown, user_id=uid)
    if not page:
        return [], True
    window = chat.since(db, channel_name, page[0].id, user_id=uid)
    return message_views(window), len(page) < chat.PAGE


def in_db(fn, *args, **kwargs):
    """``fn(db, *args, **kwargs)`` in one transaction (run off the loop by ``_attempt``)."""
    with session_scope() as db:
        return fn(db, *args, **kwargs)
