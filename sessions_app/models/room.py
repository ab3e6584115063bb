"""Live study rooms, their timer anchors and who is (or was) in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow
from sessions_app.models.user import user_fk


def room_fk(nullable: bool = False) -> Column:
    """A foreign-key column to ``rooms.id`` (rows die with the room)."""
    return Column(Integer, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=nullable, index=True)


class Room(SQLModel, table=True):
    """A room and its timer, stored as anchors (never a ticking counter).

    While running: ``phase_ends_at`` is set and ``paused_remaining_ms`` is null. While paused:
    the reverse. ``phase_seq`` increases on every phase change; transitions compare-and-set on
    it so exactly one worker moves a phase on.
    """

    __tablename__ = "rooms"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    discipline: str = Field(max_length=40, index=True)
    is_private: bool = False
    # Private rooms only; cleared when the room closes so codes are unique among open rooms.
    code: str | None = Field(default=None, max_length=6, unique=True)
    host_id: int | None = Field(default=None, sa_column=user_fk(ondelete="SET NULL", nullable=True))
    focus_minutes: int = 25
    short_break_minutes: int = 5
    long_break_minutes: int = 15
    blocks_before_long_break: int = 4
    is_open: bool = Field(default=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A background the host chose (a key of ``services.cosmetics``; "" = the plain one).
    background: str = Field(default="", max_length=24)

    phase: str = Field(default="idle", max_length=12)
    phase_seq: int = 0
    phase_length_ms: int = 0
    phase_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    phase_ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused_remaining_ms: int | None = None
    cycles_completed: int = 0
    # Quiet focus: the host opened full chat during focus blocks (``services.quiet_focus``).
    focus_chat_open: bool = False


class RoomMember(SQLModel, table=True):
    """One stint of a user in a room: present while ``left_at`` is null.

    Stints are kept after leaving: EXP for a focus block is weighted by the overlap of the
    block with the member's stints.
    """

    __tablename__ = "room_members"
    __table_args__ = (Index("ix_room_members_room_open", "room_id", "left_at"),)

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(sa_column=room_fk())
    user_id: int = Field(sa_column=user_fk())
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    left_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
