"""Page feeds: the lobby's room cards and the /sessions list's public places.

Each is ONE coalesced broadcast of public values to the page's channel (a burst of joins,
timer actions or sign-ups becomes one push every ``*_BATCH_SECONDS``). The values are what a
fresh load of the page shows, so a tab that applies the push equals a tab that reloads.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

from sessions_app import realtime
from sessions_app.db import read_scope, session_scope
from sessions_app.live import channels, targets
from sessions_app.services import rooms, scheduled
from sessions_app.services.timer import PHASE_LABELS

# Lobby changes within this window (counts, timer status, rooms opening or closing) become one push.
LOBBY_BATCH_SECONDS = 0.25
# Changes within this window reach /sessions as one push.
LIST_BATCH_SECONDS = 0.25


@dataclasses.dataclass
class RoomCardView:
    """A public room card."""

    id: int = 0
    name: str = ""
    discipline: str = ""
    count: int = 0
    phase: str = "idle"
    phase_label: str = "idle"
    ends_at_ms: int = 0
    paused_remaining_ms: int = -1


def room_cards(db) -> list[RoomCardView]:
    """The lobby's room cards."""
    return [RoomCardView(c.id, c.name, c.discipline, c.count, c.phase, PHASE_LABELS.get(c.phase, c.phase),
                         c.ends_at_ms, c.paused_remaining_ms) for c in rooms.lobby_rooms(db)]


def _read_cards() -> list[RoomCardView]:
    """The cards in a read-only transaction (on SQLite: no wait for the write lock)."""
    with read_scope() as db:
        return room_cards(db)


def refresh_lobby() -> None:
    """Batch lobby changes (counts, timer status, rooms opening/closing) into one broadcast."""

    async def push() -> None:
        if realtime.nobody_in(channels.lobby()):
            return  # no lobby tab to tell (one worker): the next one to open reads the cards itself
        cards = await asyncio.to_thread(_read_cards)  # off the loop (a join storm's entries write)
        await realtime.push(channels.lobby(), targets.of(targets.LOBBY), rooms=cards)

    realtime.coalesce("lobby", LOBBY_BATCH_SECONDS, push)


def places_text(places_left: int | None, status: str) -> str:
    """"3 places left", "Full · waitlist open", "Unlimited places"."""
    if status == "cancelled":
        return "Cancelled"
    if places_left is None:
        return "Unlimited places"
    if places_left == 0:
        return "Full · waitlist open" if status in ("upcoming", "live") else "Full"
    return f"{places_left} place{'s' if places_left != 1 else ''} left"


def live_places(db, now: datetime | None = None) -> dict[str, str]:
    """The public places text of every session that has not ended, keyed by id as text."""
    return {str(i): places_text(left, status) for i, (left, status) in scheduled.public_places(db, now=now).items()}


def refresh_list() -> None:
    """Coalesce list changes into one broadcast of the public numbers to ``/sessions``."""

    async def push() -> None:
        with session_scope() as db:
            places = live_places(db)
        await realtime.push(channels.sessions_list(), targets.of(targets.SESSIONS_LIST), live_places=places)

    realtime.coalesce("sessions-list", LIST_BATCH_SECONDS, push)
