"""The one chat pipeline of the lobby, room and session chats.

A post or a delete is authorized once, in the chat service, from the database
(``chat.post`` / ``chat.delete``), which returns the change (``chat.ChatChange``). After the
transaction commits, the change — and only the change — goes out as ONE broadcast to the
chat's socket channel, the sender's socket included: ``{"ch", "seq", "add" | "del", "fill"}``
in the state's ``chat_event`` var. Each browser merges it into its ``messages`` list
(``components.chat_feed``); no list is re-sent and no state is loaded per member.

Ordering, the same for the three chats and across workers: ``seq`` is the change's number
in its channel (``services.chat_log``: dense, in commit order, decided by the database);
browsers keep messages sorted by id (ids grow in storing order), deduplicated, with deleted
ids remembered, so the order of delivery does not matter. A tab that sees a gap in the
numbers asks for the changes after the last one it has (``catch_up_wire``: one batch, to it
alone); a tab that reconnects or reloads runs its load again and gets the fresh tail with the
number it is current at (``feed_seq``), and the changes seen meanwhile are merged into it
again: 0 lost, 0 duplicated.

``install`` registers the periodic pruning of the change logs (``chat_log.prune``).
"""

from __future__ import annotations

import asyncio
import dataclasses

from sessions_app import realtime
from sessions_app.db import session_scope, system_scope
from sessions_app.live import channels, targets
from sessions_app.services import chat, chat_log

# The var the change travels in, and the one naming the channel a tab's list belongs to.
EVENT_VAR = "chat_event"
FEED_VAR = "feed"
# How often the change logs lose what no catch-up can use.
PRUNE_SECONDS = 600


@dataclasses.dataclass
class SegmentView:
    """A run of a message: text, or an http(s) link whose text is its URL."""

    text: str = ""
    link: bool = False


@dataclasses.dataclass
class MessageView:
    """A chat message as the browser shows it (no email, ever)."""

    id: int = 0
    user_id: int = 0
    author: str = ""
    avatar_url: str = ""
    level: int = 0
    body: str = ""
    parts: list[SegmentView] = dataclasses.field(default_factory=list)
    created_at_ms: int = 0
    # The author's cosmetics (keys styled by assets/cosmetics.css; "" = none).
    name_color: str = ""
    border: str = ""


def message_view(m: chat.MessagePublic) -> MessageView:
    """A service result as a state value."""
    return MessageView(m.id, m.user_id, m.author_name, m.avatar_url, m.level, m.body,
                       [SegmentView(s.text, s.link) for s in m.segments], m.created_at_ms,
                       m.looks.name_color, m.looks.border)


def message_views(items: list[chat.MessagePublic]) -> list[MessageView]:
    """Service results as state values."""
    return [message_view(m) for m in items]


def wire_message(m: chat.MessagePublic) -> dict:
    """``dataclasses.asdict(message_view(m))``, built directly (every post builds one, and
    ``asdict`` deep-copies field by field: a measurable share of a post's loop time)."""
    return {"id": m.id, "user_id": m.user_id, "author": m.author_name, "avatar_url": m.avatar_url, "level": m.level,
            "body": m.body, "parts": [{"text": s.text, "link": s.link} for s in m.segments],
            "created_at_ms": m.created_at_ms, "name_color": m.looks.name_color, "border": m.looks.border}


def wire(change: chat.ChatChange) -> dict:
    """The change as the small value a browser merges (keys left out when empty)."""
    out: dict = {"ch": change.channel, "seq": change.seq}
    if change.message is not None:
        out["add"] = wire_message(change.message)
    if change.deleted_id is not None:
        out["del"] = change.deleted_id
    if change.fill is not None:
        out["fill"] = wire_message(change.fill)
    return out


def wire_catch_up(channel: str, caught: chat.CatchUp) -> dict:
    """A catch-up as one value: the missed changes in order, then the possible fills."""
    return {"ch": channel, "seq": caught.seq, "batch": [wire(c) for c in caught.changes],
            "fills": [dataclasses.asdict(message_view(m)) for m in caught.fills]}


def catch_up_wire(channel: str, after: object, user_id: int, limit: int) -> dict | None:
    """What a tab of ``user_id`` that saw ``channel`` up to ``after`` missed, as one value for
    its ``chat_event``; None: too far behind, reload the tail (``tail_views``). Blocking."""
    with session_scope() as db:
        caught = chat.catch_up(db, channel, after, limit, user_id=user_id)
    return None if caught is None else wire_catch_up(channel, caught)


def tail_views(channel: str, user_id: int, limit: int = chat.PAGE) -> tuple[int, list[MessageView]]:
    """(sequence number, last ``limit`` messages) of a channel, for a tab's load. Blocking."""
    with session_scope() as db:
        tail = chat.tail(db, channel, limit, user_id=user_id)
    return tail.seq, message_views(tail.messages)


def views_from_wire(items: list[dict]) -> list[MessageView]:
    """Messages as a browser received them, back as state values."""
    return [MessageView(**{**m, "parts": [SegmentView(**p) for p in m["parts"]]}) for m in items]


def apply(messages: list[MessageView], changes: list[dict], keep: int) -> list[MessageView]:
    """What ``components.chat_feed`` does in the browser, in Python (for tests and for a
    server-side copy): merge changes into a list, sorted by id, deduplicated, deletions
    winning whatever the order, trimmed to the newest ``keep``."""
    changes = flatten(changes)
    gone = {c["del"] for c in changes if c.get("del")}
    by_id = {m.id: m for m in messages}
    for c in changes:
        for key in ("add", "fill"):
            if (m := c.get(key)) and m["id"] not in gone:
                by_id[m["id"]] = views_from_wire([m])[0]
    for mid in gone:
        by_id.pop(mid, None)
    return [by_id[i] for i in sorted(by_id)][-keep:]


def flatten(changes: list[dict]) -> list[dict]:
    """Catch-up batches as the single changes (and fills) they hold, in order."""
    out: list[dict] = []
    for c in changes:
        if "batch" in c:
            out.extend(c["batch"])
            out.extend({"fill": m} for m in c.get("fills", []))
        else:
            out.append(c)
    return out


async def deliver(socket_channel: str, state_cls: type, change: chat.ChatChange) -> None:
    """Broadcast one committed change to every socket of the chat (the sender's too)."""
    await realtime.push(socket_channel, state_cls, **{EVENT_VAR: wire(change)})


async def deliver_changes(changes) -> None:
    """Committed changes of any chats (an account's deletion: ``chat.author_gone``), each to
    the sockets of its own chat."""
    for change in changes:
        kind, ident = chat.chat_of(change.channel)
        if kind == "lobby":
            await deliver(channels.lobby(), targets.of(targets.LOBBY_CHAT), change)
        elif kind == "room":
            await deliver(channels.room(ident), targets.of(targets.ROOM_BOARD), change)
        elif kind == "session":
            await deliver(channels.session_chat(ident), targets.of(targets.SESSION_CHAT), change)


async def deliver_to_others(socket_channel: str, state_cls: type, change: chat.ChatChange,
                            sender_sid: str) -> realtime.Encoded:
    """Broadcast one committed change to every socket of the chat but the sender's, and return
    the change's value (the sender's own answer carries it: one frame less per post), encoded
    once for both frames (``realtime.fanout``)."""
    value = realtime.Encoded(wire(change))
    await realtime.push_encoded(socket_channel, state_cls, skip_sid=sender_sid, **{EVENT_VAR: value})
    return value


def _prune() -> int:
    with system_scope("prune the chat change logs") as db:
        return chat_log.prune(db)


async def prune_logs() -> None:
    """Bound the chats' change logs (``chat_log.prune``), off the event loop."""
    await asyncio.to_thread(_prune)


def install() -> None:
    """Register the chat pipeline's background work with ``realtime`` (once, at app start)."""
    realtime.every(PRUNE_SECONDS, prune_logs, first_delay=60)
