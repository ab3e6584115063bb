"""What a focus block leaves behind: a member's goal and its outcome, and chat reactions.

``BlockGoal``: one intention per member per focus block. While the block has not ended the
goal is *open* (``open_key`` is True, ``ended_at`` null); the unique (user, room, open_key)
constraint allows one open goal per member and room — NULLs never collide, so closed goals
(``open_key`` null) can be as many as there were blocks. When the block completes the goal is
closed with the block's end time and the member's credited minutes; the member then answers
``outcome``. The room's name is copied so the private log still reads well if the room goes.

``ChatReaction``: one emoji (a key of a small fixed set) by one member on one message, at most
once per (message, user, emoji) — the constraint, not Python, is the guarantee.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow
from sessions_app.models.user import user_fk


class BlockGoal(SQLModel, table=True):
    """A member's intention for a focus block and, once it ended, how it went."""

    __tablename__ = "block_goals"
    __table_args__ = (UniqueConstraint("user_id", "room_id", "open_key", name="uq_block_goal_open"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=user_fk())
    # The log outlives the room: a deleted room leaves the entry with its copied name.
    room_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True, index=True))
    room_name: str = Field(max_length=60)
    text: str = Field(max_length=140)
    open_key: bool | None = True
    block_seq: int | None = None
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    minutes: int = 0
    outcome: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ChatReaction(SQLModel, table=True):
    """An emoji reaction on a chat message."""

    __tablename__ = "chat_reactions"
    __table_args__ = (UniqueConstraint("message_id", "user_id", "emoji", name="uq_chat_reaction"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(sa_column=Column(Integer, ForeignKey("chat_messages.id", ondelete="CASCADE"),
                                             nullable=False, index=True))
    user_id: int = Field(sa_column=user_fk())
    emoji: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
