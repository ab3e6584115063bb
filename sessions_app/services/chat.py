"""Chat: plain-text messages in channels, who may read and write them, and deleting them.

Channels (``ChatMessage.channel``): ``lobby`` (everyone logged in), ``room:<id>`` (the
people present in the room now, from ``RoomMember`` stints) and ``session:<id>`` (a scheduled
session's participants, by ``services.scheduled.chat_access``). Every rule is checked here,
from the database, for the user id the caller resolved on the server — never from anything a
browser sent beyond the text and the id of the message acted on.

Messages are text (``services.chat_text``: the body rule, and ``segments``, which splits a
body into plain runs and http(s) links, so no HTML or markdown is ever interpreted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert
from sqlmodel import Session, col, select

from sessions_app.models import ChatMessage, Room, RoomMember, StudySession, User, utcnow
from sessions_app.services import (
    callers,
    chat_log,
    chat_text,
    cosmetics,
    progression,
    quiet_focus,
    ratelimit,
    rooms,
    scheduled,
    text,
)
from sessions_app.services.chat_text import Segment, clean_body, segments
from sessions_app.services.errors import ServiceError
from sessions_app.settings import get_settings

LOBBY = "lobby"
MAX_BODY = chat_text.MAX_BODY
PAGE = 50
# "Load older" keeps at most this many messages in one tab.
MAX_LOADED = 1000
RATE_LIMITED = "You're sending messages too fast. Wait a few seconds."
NOT_ALLOWED = "Only the people in this room can read and write its chat."


@dataclass(frozen=True)
class MessagePublic:
    """A message as anyone allowed to read its channel sees it (never an email)."""

    id: int
    channel: str
    user_id: int
    author_name: str
    avatar_url: str
    level: int
    body: str
    created_at_ms: int
    segments: tuple[Segment, ...]
    looks: cosmetics.Looks = cosmetics.Looks()


# --- pure rules ---------------------------------------------------------------------------------


def room_channel(room_id: int) -> str:
    """The chat channel of a live room."""
    return f"room:{int(room_id)}"





def to_ms(when: datetime) -> int:
    """Epoch milliseconds: the form times travel in to browsers (shown in the viewer's zone)."""
    return round(when.timestamp() * 1000)


# --- authorization --------------------------------------------------------------------------


def _room_id_of(channel: str) -> int | None:
    if channel.startswith("room:"):
        try:
            return int(channel[5:])
        except ValueError:
            return None
    return None


def _session_id_of(channel: str) -> int | None:
    if channel.startswith("session:"):
        try:
            return int(channel[8:])
        except ValueError:
            return None
    return None


def can_read(db: Session, *, channel: object, user_id: int | None) -> bool:
    """Whether the user may read the channel now."""
    return _access(db, channel, user_id)[0]


def can_write(db: Session, *, channel: object, user_id: int | None) -> bool:
    """Whether the user may post in the channel now."""
    return _access(db, channel, user_id)[1]


def _access(db: Session, channel: object, user_id: int | None) -> tuple[bool, bool, User | None]:
    """(may read, may write, the user row): one authorization, whose user row the caller reuses."""
    user = db.get(User, user_id) if isinstance(channel, str) and user_id else None
    if user is None:
        return False, False, None
    if channel == LOBBY:
        return True, True, user
    if (room_id := _room_id_of(channel)) is not None:
        inside = rooms.is_member(db, room_id, user_id)
        return inside, inside, user
    if (session_id := _session_id_of(channel)) is not None:
        try:
            access = scheduled.chat_access(db, session_id=session_id, user_id=user_id)
        except ServiceError:
            return False, False, user
        return access.can_read, access.can_write, user
    return False, False, user


# The post's statements are built once (bound parameters): building and cache-keying a
# statement on every post cost about as much as running it.
_ROOM, _MEMBER = Room.__table__.c, RoomMember.__table__.c  # Core columns: no ORM compile step
_POSTER_ROOM = (select(_ROOM.is_open, _ROOM.phase, _ROOM.focus_chat_open)
                .join(RoomMember.__table__, _MEMBER.room_id == _ROOM.id)
                .where(_ROOM.id == bindparam("room_id"), _MEMBER.user_id == bindparam("user_id"),
                       _MEMBER.left_at.is_(None)).limit(1))
_INSERT_MESSAGE = insert(ChatMessage.__table__).returning(ChatMessage.__table__.c.id)


def _room_of_poster(db: Session, room_id: int, user_id: int):
    """The room's (is_open, phase, focus_chat_open) when the user is present in it now
    (``rooms.is_member``'s rule: an open stint), in one statement; None otherwise."""
    return db.connection().execute(_POSTER_ROOM, {"room_id": room_id, "user_id": user_id}).first()


def _require_read(db: Session, channel: object, user_id: int | None) -> None:
    if not can_read(db, channel=channel, user_id=user_id):
        raise ServiceError(NOT_ALLOWED)


# --- reading ------------------------------------------------------------------------------------


def _public(rows) -> list[MessagePublic]:
    return [MessagePublic(m.id, m.channel, u.id, u.display_name, u.avatar_url, progression.level_for(u.exp_total),
                          m.body, to_ms(m.created_at), tuple(segments(m.body)), cosmetics.looks(u))
            for m, u in rows]


def _query(channel: str):
    return select(ChatMessage, User).join(User, User.id == ChatMessage.user_id).where(ChatMessage.channel == channel)


def recent(db: Session, channel: str, limit: int = PAGE, *, user_id: int | None) -> list[MessagePublic]:
    """The last ``limit`` messages of a channel, oldest first (readers only)."""
    _require_read(db, channel, user_id)
    return _recent(db, channel, limit)


def _recent(db: Session, channel: str, limit: int) -> list[MessagePublic]:
    """``recent`` for a caller already authorized in this transaction."""
    rows = db.exec(_query(channel).order_by(col(ChatMessage.id).desc()).limit(max(1, min(limit, 200)))).all()
    return _public(reversed(rows))


def before(db: Session, channel: str, before_id: int, limit: int = PAGE, *, user_id: int | None) -> list[MessagePublic]:
    """Up to ``limit`` messages older than ``before_id``, oldest first ("load older")."""
    _require_read(db, channel, user_id)
    rows = db.exec(_query(channel).where(col(ChatMessage.id) < int(before_id))
                   .order_by(col(ChatMessage.id).desc()).limit(max(1, min(limit, 200)))).all()
    return _public(reversed(rows))


def since(db: Session, channel: str, from_id: int, *, user_id: int | None,
          limit: int = MAX_LOADED) -> list[MessagePublic]:
    """Messages with ``id >= from_id``, oldest first (a gap-free window up to the newest)."""
    _require_read(db, channel, user_id)
    rows = db.exec(_query(channel).where(col(ChatMessage.id) >= int(from_id))
                   .order_by(col(ChatMessage.id)).limit(limit)).all()
    return _public(rows)


# --- writing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatChange:
    """One change of a channel, as it is broadcast to the channel's readers.

    ``seq`` is the change's number in its channel (``chat_log.record``): dense and in commit
    order per channel, decided by the database and not by whichever worker emits first, the
    same for the lobby, room and session chats. A reader that sees a gap asks for what it
    missed (``catch_up``). Readers keep their list sorted by message id (ids grow in storing
    order) and deduplicated, and remember deleted ids, so a view built from the same changes
    is the same whatever order they arrive in (across workers too).

    A post carries ``message``; a delete carries ``deleted_id`` and ``fill``: the message that
    now enters the channel's ``limit``-message tail in place of the deleted one (None when the
    channel has no more), so a reader's tail stays exactly what a fresh load returns.
    """

    seq: int
    channel: str
    message: MessagePublic | None = None
    deleted_id: int | None = None
    fill: MessagePublic | None = None


def post(db: Session, *, channel: str, user_id: int | None, body: object,
         now: datetime | None = None) -> ChatChange:
    """Post a message (``post_message``) and return the change to broadcast."""
    message = post_message(db, channel=channel, user_id=user_id, body=body, now=now)
    seq = chat_log.record(db, channel=channel, message_id=message.id, deleted=False)
    return ChatChange(seq=seq, channel=channel, message=message)


def delete(db: Session, *, message_id: object, user_id: int | None, channel: str,
           limit: int = PAGE) -> ChatChange:
    """Delete a message of ``channel`` (``delete_message``'s rules) and return the change to
    broadcast, with the message that moves into the ``limit``-message tail."""
    mid = text.parse_id(message_id)
    delete_message(db, message_id=mid, user_id=user_id, channel=channel)
    seq = chat_log.record(db, channel=channel, message_id=int(mid), deleted=True)
    row = db.exec(_query(channel).order_by(col(ChatMessage.id).desc()).offset(max(0, limit - 1)).limit(1)).first()
    fill = _public([row])[0] if row is not None else None
    return ChatChange(seq=seq, channel=channel, deleted_id=int(mid), fill=fill)


def author_gone(db: Session, *, user_id: int, limit: int = PAGE) -> list[ChatChange]:
    """An account is being deleted (in the caller's transaction, before its rows go): each of
    its messages that a chat's last ``limit`` still shows — what open pages hold — is logged
    as a deletion in its channel. Returns the changes, for the caller to broadcast after the
    commit (no ``fill``: the tails get shorter until the next load)."""
    changes = []
    for channel in db.exec(select(ChatMessage.channel).where(ChatMessage.user_id == user_id).distinct()).all():
        shown = db.exec(select(ChatMessage.id, ChatMessage.user_id).where(ChatMessage.channel == channel)
                        .order_by(col(ChatMessage.id).desc()).limit(limit)).all()
        for message_id, author in reversed(shown):
            if author == user_id:
                seq = chat_log.record(db, channel=channel, message_id=message_id, deleted=True)
                changes.append(ChatChange(seq=seq, channel=channel, deleted_id=message_id))
    return changes


def chat_of(channel: str) -> tuple[str, int | None]:
    """Which chat a channel name is: ("lobby", None), ("room", room id), ("session", session
    id), or ("", None)."""
    if channel == LOBBY:
        return "lobby", None
    if (room_id := _room_id_of(channel)) is not None:
        return "room", room_id
    if (session_id := _session_id_of(channel)) is not None:
        return "session", session_id
    return "", None


@dataclass(frozen=True)
class Tail:
    """A channel's last messages and the sequence number they are current at."""

    seq: int
    messages: list[MessagePublic]


def tail(db: Session, channel: str, limit: int = PAGE, *, user_id: int | None) -> Tail:
    """``recent`` with the channel's sequence number, read first: the tail is at least as new
    as ``seq``, so replaying changes after ``seq`` never loses one (duplicates merge away)."""
    _require_read(db, channel, user_id)
    seq = chat_log.current(db, channel)
    return Tail(seq, _recent(db, channel, limit))  # authorized once (a room tab's load reads it)


@dataclass(frozen=True)
class CatchUp:
    """What a reader that saw up to some ``seq`` missed: the changes after it, in order, then
    ``fills``: messages that deletions may have moved into its ``limit``-message tail."""

    seq: int
    changes: list[ChatChange]
    fills: list[MessagePublic]


def catch_up(db: Session, channel: str, after: object, limit: int = PAGE, *, user_id: int | None) -> CatchUp | None:
    """The changes of ``channel`` after sequence number ``after`` (readers only); None when the
    reader is too far behind or names a number it cannot have seen: it reloads its tail.

    A post whose message is gone by now still counts (an empty change keeps the numbers
    dense). The oldest ``d`` messages of the current tail, ``d`` the number of deletions, are
    the only ones a reader's tail can lack after applying the changes, so they ride along."""
    _require_read(db, channel, user_id)
    seen = text.parse_id(after)  # 0 for anything that is not a row-id-like number
    log = chat_log.log_after(db, channel, seen)
    if log is None:
        return None
    posted = [e.message_id for e in log if not e.deleted]
    rows = db.exec(_query(channel).where(col(ChatMessage.id).in_(posted))).all() if posted else []
    by_id = {m.id: m for m in _public(rows)}
    changes = [ChatChange(e.seq, channel, deleted_id=e.message_id) if e.deleted
               else ChatChange(e.seq, channel, message=by_id.get(e.message_id)) for e in log]
    deletions = sum(1 for e in log if e.deleted)
    fills = recent(db, channel, limit, user_id=user_id)[:deletions] if deletions else []
    return CatchUp(log[-1].seq if log else seen, changes, fills)


def post_message(db: Session, *, channel: str, user_id: int | None, body: object,
                 now: datetime | None = None) -> MessagePublic:
    """Validate, authorize (once, from the database) and rate-limit a message, then store it.

    The hottest write path: its statements are Core ones on the transaction's connection,
    and the author is read in one small statement — or not at all when the transaction was
    started for them (``callers.known``: the login lookup already read it)."""
    author = callers.get(db, user_id)
    if (room_id := _room_id_of(str(channel))) is not None:
        # Presence and the room's quiet state in one statement.
        check_room_post(_room_of_poster(db, room_id, author.id) if author is not None else None)
    elif author is None or not _may_write(db, channel, author.id):
        raise ServiceError("You cannot write in this chat now.")
    text = accept_body(author.id, body)
    created_at = now or utcnow()
    # A plain INSERT … RETURNING id (cheaper than the ORM's flush on the hottest write path).
    message_id = db.connection().execute(_INSERT_MESSAGE, {"channel": channel, "user_id": author.id, "body": text,
                                                           "created_at": created_at}).scalar_one()
    return posted(message_id, channel, author, text, created_at)


# The steps of a post, shared with its SQLite fast lane (``services.chat_hot``).


def check_room_post(room) -> None:
    """Refuse a room post unless the poster is present (``room``: the room's (is_open, phase,
    focus_chat_open) from ``_POSTER_ROOM``, None when not present) and the room is not in a
    quiet focus block (reactions only, unless the host opened chat)."""
    if room is None:
        raise ServiceError(NOT_ALLOWED)
    if quiet_focus.is_quiet(room):
        raise ServiceError(quiet_focus.QUIET, field="body")


def accept_body(user_id: int, body: object) -> str:
    """The text to store (``clean_body``), counted against the poster's rate limit."""
    text = clean_body(body)
    ratelimit.hit(get_settings().chat_rate_limit, f"chat:user:{user_id}", message=RATE_LIMITED)
    return text


def posted(message_id: int, channel: str, author: callers.Caller, text: str, created_at: datetime) -> MessagePublic:
    """The stored message as its readers see it."""
    level = progression.level_for(author.exp_total)
    return MessagePublic(message_id, channel, author.id, author.display_name, author.avatar_url, level, text,
                         to_ms(created_at), tuple(segments(text)), cosmetics.looks(author))


def _may_write(db: Session, channel: str, user_id: int) -> bool:
    """``_access``'s write rule for the lobby and session chats (rooms: ``_room_of_poster``)."""
    if not isinstance(channel, str):
        return False
    if channel == LOBBY:
        return True
    if (session_id := _session_id_of(channel)) is not None:
        try:
            return scheduled.chat_access(db, session_id=session_id, user_id=user_id).can_write
        except ServiceError:
            return False
    return False


def delete_message(db: Session, *, message_id: object, user_id: int | None, channel: str | None = None) -> str:
    """Delete a message: its author may, and so may the host of the open room (or the creator
    of the scheduled session) it was written in, decided from the database. ``channel``, when given, is the channel the caller is
    showing: a message of any other channel is refused. Returns the message's channel."""
    mid = text.parse_id(message_id)
    message = db.get(ChatMessage, mid) if mid else None
    if message is None or not user_id or (channel is not None and message.channel != channel):
        raise ServiceError("That message no longer exists.")
    allowed = message.user_id == user_id
    if not allowed and (room_id := _room_id_of(message.channel)) is not None:
        room = db.get(Room, room_id)
        allowed = (room is not None and room.is_open and room.host_id == user_id
                   and rooms.is_member(db, room_id, user_id))
    if not allowed and (session_id := _session_id_of(message.channel)) is not None:
        # A scheduled session's creator moderates its chat, as a host does a room's.
        session = db.get(StudySession, session_id)
        allowed = session is not None and session.creator_id == user_id
    if not allowed:
        raise ServiceError("You can only delete your own messages.")
    db.delete(message)
    db.flush()
    return message.channel
