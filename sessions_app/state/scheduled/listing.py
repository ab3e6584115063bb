"""``/sessions``: the session list, search, "only mine", the calendar feed, and its live feed.

The list joins ``channels.sessions_list()``; after a join, leave, edit or cancel anywhere one
coalesced push replaces ``SessionsListState.live_places`` (public numbers only).
"""

from __future__ import annotations

import dataclasses

import reflex as rx

from sessions_app import realtime, routes
from sessions_app.live import channels, targets
from sessions_app.live.feeds import LIST_BATCH_SECONDS, live_places, refresh_list  # noqa: F401 - old names
from sessions_app.services import calendar, scheduled, text
from sessions_app.services.scheduled import SessionListing, SessionSummary
from sessions_app.state.auth import AuthState
from sessions_app.state.base import REFUSED, Handler, in_db
from sessions_app.state.scheduled.common import (
    places_text,
    valid_zone,
)


@dataclasses.dataclass
class SessionCardView:
    """A session card in the list, display-ready."""

    id: int = 0
    title: str = ""
    description: str = ""
    time_text: str = ""
    places_left: int = -1
    places_text: str = ""
    status: str = ""
    relation: str = ""
    href: str = ""
    # The id as text: the key of ``SessionsListState.live_places``.
    key: str = ""


def _card(summary: SessionSummary, tz: str) -> SessionCardView:
    relation = ("Hosting" if summary.is_creator else "Joined" if summary.is_participant
                else "Waitlist" if summary.is_waitlisted else "")
    return SessionCardView(
        id=summary.id, title=summary.title,
        description=summary.description if len(summary.description) <= 180 else summary.description[:177] + "…",
        time_text=scheduled.format_time_range(summary.starts_at, summary.ends_at, tz),
        places_left=-1 if summary.places_left is None else summary.places_left,
        places_text=places_text(summary.places_left, summary.status),
        status=summary.status, relation=relation, href=routes.session(summary.id), key=str(summary.id),
    )


def _listing(db, *, viewer_id: int | None, search: str, only_mine: bool) -> tuple[SessionListing, bool]:
    """The sessions the viewer may see, and whether they have a calendar feed."""
    listing = scheduled.list_sessions(db, viewer_id=viewer_id, search=search, only_mine=only_mine)
    return listing, bool(viewer_id) and calendar.has_feed(db, user_id=viewer_id)


@targets.register(targets.SESSIONS_LIST)
class SessionsListState(Handler, rx.State):
    """``/sessions``: upcoming and past sessions, search, "only mine", the calendar feed."""

    search: str = ""
    only_mine: bool = False
    upcoming: list[SessionCardView] = []
    past: list[SessionCardView] = []
    tz: str = "UTC"
    loaded: bool = False
    feed_active: bool = False
    # The feed URL right after creating it: shown once, forgotten on the next page load.
    feed_url_once: str = ""
    feed_error: str = ""
    # Pushed to everyone on /sessions after any change: session id → places text (public).
    live_places: dict[str, str] = {}

    async def _refresh(self, uid: int | None) -> None:
        read = await self._attempt(in_db, _listing, viewer_id=uid, search=self.search,
                                   only_mine=self.only_mine and uid is not None, errors=(self, "feed_error"))
        if read is REFUSED:
            return
        listing, self.feed_active = read
        self.upcoming = [_card(s, self.tz) for s in listing.upcoming]
        self.past = [_card(s, self.tz) for s in listing.past]
        self.loaded = True

    async def _uid(self) -> int | None:
        return await self._caller_id()

    @rx.event
    async def load(self):
        """on_load of /sessions (logged in only, like the lobby)."""
        uid = await self._caller_id(view=True)
        if uid is None:
            return rx.redirect(routes.login_then(routes.SESSIONS))
        self.feed_url_once = self.feed_error = ""
        self.tz = valid_zone((await self.get_state(AuthState)).timezone) or "UTC"  # (``scheduled`` doc)
        await self._refresh(uid)
        # The list just read is current: earlier live numbers would only shadow it.
        self.live_places = {}
        await realtime.join(self.router.session.session_id, channels.sessions_list())

    @rx.event
    async def set_search(self, value: str):
        """Typing in the search box (debounced in the browser)."""
        self.search = text.draft(value, scheduled.MAX_SEARCH)
        await self._refresh(await self._uid())

    @rx.event
    async def set_only_mine(self, value: bool):
        """The "only mine" switch: sessions I host or joined."""
        self.only_mine = bool(value)
        await self._refresh(await self._uid())

    @rx.event
    async def create_feed(self):
        """Create or regenerate the private calendar feed and show its URL once."""
        uid = await self._uid()
        if uid is None:
            return rx.redirect(routes.login_then(routes.SESSIONS))
        token = await self._attempt(in_db, calendar.create_feed_token, user_id=uid, errors=(self, "feed_error"))
        if token is REFUSED:
            return
        self.feed_url_once = calendar.feed_url(token)
        self.feed_active = True
        self.feed_error = ""

    @rx.event
    async def revoke_feed(self):
        """Switch the calendar feed off."""
        uid = await self._uid()
        if uid is None:
            return rx.redirect(routes.login_then(routes.SESSIONS))
        if await self._attempt(in_db, calendar.revoke_feed, user_id=uid, errors=(self, "feed_error")) is REFUSED:
            return
        self.feed_url_once = ""
        self.feed_active = False
