"""Per-channel chat sequence numbers and the log of changes a reconnecting tab catches up from.

Every post and delete of a chat channel takes the channel's next sequence number
(``ChatChannel.seq``, bumped in the same transaction: dense, in commit order per channel, the
same for the lobby, room and session chats and across workers) and logs it
(``ChatChangeLog``). A tab that saw up to ``seq`` asks for what came after it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow


class ChatChannel(SQLModel, table=True):
    """A chat channel's last sequence number."""

    __tablename__ = "chat_channels"

    channel: str = Field(primary_key=True, max_length=32)
    seq: int = Field(default=0)


class ChatChangeLog(SQLModel, table=True):
    """One change of a channel: a post (``deleted`` false) or a delete of ``message_id``.

    No foreign key to the message on purpose: the log outlives a deleted message."""

    __tablename__ = "chat_change_log"

    channel: str = Field(primary_key=True, max_length=32)
    seq: int = Field(primary_key=True)
    message_id: int
    deleted: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
