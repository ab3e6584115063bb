"""Reactions: a small fixed set of emoji on room chat messages, what quiet focus leaves open.

A member of the room reacts to a message of the room's chat; reacting again with the same
emoji takes it back (a toggle), so each member counts at most once per emoji per message —
the unique (message, user, emoji) constraint guarantees it even for two tabs at once. The
browser sends an emoji *key* from ``EMOJI``; anything else is refused. Counts are public to
the room; who reacted is not sent to anyone (each tab knows only its own reactions).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from sessions_app.models import ChatMessage, ChatReaction
from sessions_app.services import chat, ratelimit, text
from sessions_app.services.errors import ServiceError

# Key → emoji, in the order they are offered.
EMOJI = {"thumbs": "👍", "heart": "❤️", "party": "🎉", "strong": "💪", "laugh": "😂"}
RATE = "20/10second"
RATE_LIMITED = "You're reacting too fast. Wait a few seconds."
NOT_FOUND = "That message no longer exists."


@dataclass(frozen=True)
class ReactionCount:
    """How many members reacted with one emoji to one message."""

    message_id: int
    key: str
    emoji: str
    count: int


def counts(db: Session, message_ids: list[int]) -> list[ReactionCount]:
    """The reaction counts of these messages, by message then in ``EMOJI`` order."""
    if not message_ids:
        return []
    rows = db.exec(select(ChatReaction.message_id, ChatReaction.emoji, func.count(ChatReaction.id))
                   .where(col(ChatReaction.message_id).in_(message_ids))
                   .group_by(ChatReaction.message_id, ChatReaction.emoji)).all()
    order = list(EMOJI)
    out = [ReactionCount(mid, key, EMOJI[key], n) for mid, key, n in rows if key in EMOJI]
    return sorted(out, key=lambda r: (r.message_id, order.index(r.key)))


def tail_ids(db: Session, channel: str, limit: int = chat.PAGE) -> list[int]:
    """The ids of a channel's newest ``limit`` messages (the chat tail a room shows)."""
    return list(db.exec(select(ChatMessage.id).where(ChatMessage.channel == channel)
                        .order_by(col(ChatMessage.id).desc()).limit(limit)).all())


def mine(db: Session, *, user_id: int, message_ids: list[int]) -> list[str]:
    """The viewer's own reactions among these messages, as ``"<message id>:<key>"``."""
    if not message_ids:
        return []
    rows = db.exec(select(ChatReaction.message_id, ChatReaction.emoji).where(
        ChatReaction.user_id == user_id, col(ChatReaction.message_id).in_(message_ids))).all()
    return [f"{mid}:{key}" for mid, key in rows]


def toggle(db: Session, *, message_id: object, user_id: int | None, key: object, channel: str) -> bool:
    """React to a message of ``channel`` (the room the caller is in), or take the reaction
    back. Returns whether the reaction is now there."""
    if not isinstance(key, str) or key not in EMOJI:
        raise ServiceError("Pick one of the offered reactions.")
    if not chat.can_write(db, channel=channel, user_id=user_id):
        raise ServiceError(chat.NOT_ALLOWED)
    mid = text.parse_id(message_id)
    message = db.get(ChatMessage, mid) if mid else None
    if message is None or message.channel != channel:
        raise ServiceError(NOT_FOUND)
    ratelimit.hit(RATE, f"react:user:{user_id}", message=RATE_LIMITED)
    existing = db.exec(select(ChatReaction).where(ChatReaction.message_id == mid, ChatReaction.user_id == user_id,
                                                  ChatReaction.emoji == key)).first()
    if existing is not None:
        db.delete(existing)
        db.flush()
        return False
    try:
        with db.begin_nested():
            db.add(ChatReaction(message_id=mid, user_id=user_id, emoji=key))
    except IntegrityError:
        pass  # the same reaction from another tab a moment ago: it is there either way
    return True
