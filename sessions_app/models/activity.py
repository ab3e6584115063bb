"""What students write and earn: chat messages, tasks and EXP credits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow
from sessions_app.models.room import room_fk
from sessions_app.models.user import user_fk


class ChatMessage(SQLModel, table=True):
    """A plain-text message in a channel (``lobby``, ``room:<id>``, ``session:<id>``).

    Ids increase and are never reused (AUTOINCREMENT on SQLite, a sequence elsewhere): an id
    is its channel's sequence number, so ``id > last_seen`` is exactly what a reconnecting
    client missed, and a deleted id never names another message.
    """

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_channel_id", "channel", "id"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    user_id: int = Field(sa_column=user_fk(index=False))
    body: str = Field(max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Task(SQLModel, table=True):
    """A personal task (``room_id`` null) or a room objective for the current block."""

    __tablename__ = "tasks"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=user_fk())
    room_id: int | None = Field(default=None, sa_column=room_fk(nullable=True))
    text: str = Field(max_length=200)
    done: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FocusCredit(SQLModel, table=True):
    """EXP and present minutes credited for one focus block; at most one per (user, block)."""

    __tablename__ = "focus_credits"
    __table_args__ = (UniqueConstraint("user_id", "room_id", "phase_seq", name="uq_credit_block"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=user_fk())
    room_id: int = Field(sa_column=room_fk())
    phase_seq: int
    minutes_present: float
    exp: int
    # The day of the block's end in the student's time zone (ISO date), for streaks/heatmap.
    local_day: str = Field(max_length=10, index=True)
    # Minutes after local midnight at the block's end, same zone as ``local_day``: with the
    # student's start of day it decides the day the block counts for (None: rows from before).
    local_minute: int | None = Field(default=None)
    credited_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
