"""Scheduled learning sessions: the session, who signed up, notes afterwards, calendar feeds.

Times are stored in UTC (``UTCDateTime``); the creator's IANA zone is kept beside them so the
session can be shown and edited in the zone it was planned in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow
from sessions_app.models.user import user_fk


def study_session_fk() -> Column:
    """A foreign-key column to ``study_sessions.id`` (rows die with the session)."""
    return Column(Integer, ForeignKey("study_sessions.id", ondelete="CASCADE"), nullable=False, index=True)


class StudySession(SQLModel, table=True):
    """A session planned for a date and time, with an optional cap on places.

    Cancelling keeps the row (``cancelled_at`` set) so participants' calendars can show the
    event as cancelled instead of it silently disappearing.
    """

    __tablename__ = "study_sessions"

    id: int | None = Field(default=None, primary_key=True)
    creator_id: int = Field(sa_column=user_fk())
    title: str = Field(max_length=120)
    description: str = Field(default="", max_length=1000)
    meeting_link: str | None = Field(default=None, max_length=500)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The creator's IANA zone when planning (e.g. "Europe/Berlin"): edits are shown in it.
    timezone: str = Field(default="UTC", max_length=64)
    # None means unlimited places.
    capacity: int | None = Field(default=None)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The live room the session turns into at its start (set by the rooms feature); a closed
    # or deleted room must not delete the session, hence SET NULL.
    room_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SessionParticipant(SQLModel, table=True):
    """A user signed up for a session: holding a place, or waiting for one.

    The waitlist is ordered by ``joined_at`` then ``id``; the unique pair makes a double join
    impossible even when two requests race.
    """

    __tablename__ = "session_participants"
    __table_args__ = (
        UniqueConstraint("session_id", "user_id", name="uq_session_participant"),
        Index("ix_session_participants_queue", "session_id", "waitlisted", "joined_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=study_session_fk())
    user_id: int = Field(sa_column=user_fk())
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    waitlisted: bool = Field(default=False)


class SessionNote(SQLModel, table=True):
    """A participant's note on a session after it ended: private, or public on its page."""

    __tablename__ = "session_notes"
    __table_args__ = (UniqueConstraint("session_id", "user_id", name="uq_session_note"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=study_session_fk())
    user_id: int = Field(sa_column=user_fk())
    body: str = Field(max_length=2000)
    is_public: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CalendarFeed(SQLModel, table=True):
    """A user's private calendar subscription: only the SHA-256 of its secret token is kept."""

    __tablename__ = "calendar_feeds"
    # One feed per user: regenerating replaces the token in place.
    __table_args__ = (UniqueConstraint("user_id", name="uq_calendar_feed_user"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=user_fk(index=False))
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
