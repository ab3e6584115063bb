"""Scheduled sessions: the frozen shapes the services return to the state layer.

These reach the browser (through state vars), so each carries only what its viewer may see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CleanSession:
    """Validated form input, times already in UTC."""

    title: str
    description: str
    meeting_link: str | None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None


@dataclass(frozen=True)
class SessionSummary:
    """A session as listed: public facts plus the viewer's own relation to it."""

    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None
    places_left: int | None
    status: str
    is_creator: bool
    is_participant: bool
    is_waitlisted: bool


@dataclass(frozen=True)
class SessionListing:
    """Upcoming (and running) sessions, and recent past ones, separately."""

    upcoming: tuple[SessionSummary, ...]
    past: tuple[SessionSummary, ...]


@dataclass(frozen=True)
class ParticipantPublic:
    """A participant as other participants see them."""

    user_id: int
    display_name: str
    avatar_url: str
    is_creator: bool


@dataclass(frozen=True)
class NotePublic:
    """A note on a session. ``author_name`` is hidden from people outside the session."""

    id: int
    author_name: str
    body: str
    is_public: bool
    mine: bool
    updated_at: datetime


@dataclass(frozen=True)
class SessionDetail:
    """One session as a given viewer may see it.

    For anyone not holding a place, ``meeting_link`` is None and ``participants`` is empty:
    this shape is what reaches the browser, so it must never carry more than the viewer may see.
    """

    id: int
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    capacity: int | None
    places_left: int | None
    status: str
    revision: int
    is_creator: bool
    is_participant: bool
    is_waitlisted: bool
    waitlist_position: int
    meeting_link: str | None
    participants: tuple[ParticipantPublic, ...]
    chat_readable: bool
    chat_writable: bool
    can_join: bool
    can_leave: bool
    can_edit: bool
    can_write_note: bool
    my_note: NotePublic | None
    public_notes: tuple[NotePublic, ...]


@dataclass(frozen=True)
class JoinResult:
    """The outcome of joining: a place, or a place in the waitlist (1 = next)."""

    waitlisted: bool
    waitlist_position: int


@dataclass(frozen=True)
class ChatAccess:
    """What a user may do in a session's chat right now (for the chat feature)."""

    channel: str
    can_read: bool
    can_write: bool
