"""Scheduled sessions in the browser: the list, the plan/edit form and the detail page.

Thin adapters over ``services.scheduled`` and ``services.calendar``: every handler resolves the
caller from the login cookie on the server and lets the service decide. Vars are sent to the
browser, so they hold only the shape the service returns for *this* viewer (participants'
names and the meeting link are empty for anyone not holding a place).

Times are shown in the viewer's zone: the browser's (read once per page via
``Intl.DateTimeFormat``), else the account's saved zone, else UTC.

Live updates, one broadcast per change (docs/architecture.md "Real time"):

* ``/sessions`` joins the ``sessions`` channel; after a join, leave, edit or cancel anywhere,
  one coalesced push replaces ``SessionsListState.live_places`` (session id → "3 places
  left"): public numbers only.
* ``/sessions/[id]`` joins ``session-<id>``. A change pushes the session's public numbers
  (places left, status) and a new ``live_rev`` to everyone on the page; the page's
  ``on_change`` component hands that revision back to ``SessionDetailState.sync`` in each
  tab, which reloads *that viewer's* shape from the DB when it may have changed for them
  (participants, the waitlist, edits, cancels, the clock passing the start or end). Private
  data never rides in a broadcast.
* The chat goes to ``session-<id>-chat``, which only authorized tabs join
  (``state.session_chat``).
"""

from __future__ import annotations

import dataclasses
import re
import time
from datetime import datetime, timedelta

import reflex as rx

from sessions_app import realtime, routes
from sessions_app.db import session_scope
from sessions_app.models import StudySession, utcnow
from sessions_app.services import calendar, scheduled, text
from sessions_app.services.errors import ServiceError
from sessions_app.services.scheduled import SessionDetail, SessionSummary
from sessions_app.state.auth import AuthState
from sessions_app.state.session_chat import SessionChatState, chat_socket_channel

BROWSER_TZ_SCRIPT = "Intl.DateTimeFormat().resolvedOptions().timeZone"
_SESSION_PATH_RE = re.compile(r"/sessions/(\d{1,12})(?:/edit)?/?$")
SESSIONS_CHANNEL = "sessions"
LIST_BATCH_SECONDS = 0.25
# Kinds of change a revision names; "places" alone does not concern people outside the session.
PLACES, EDIT, CANCEL, DELETED, TICK, NOTES = "places", "edit", "cancel", "deleted", "tick", "notes"
DELETED_MESSAGE = "The host deleted their account, so this session was cancelled."
EDITED_MESSAGE = "The host just changed this session. Check the time and the details."
PROMOTED_MESSAGE = "A place freed up: you're in now. See you there!"


def public_channel(session_id: int) -> str:
    """The socket.io channel of everyone looking at a session's page (public numbers only)."""
    return f"session-{int(session_id)}"


def new_rev(kind: str) -> str:
    """A revision string for a change: unique, and naming the kind of change."""
    return f"{time.time_ns()}:{kind}"


def rev_kind(rev: str) -> str:
    """The kind of change a revision names ("" if it names none)."""
    return rev.rsplit(":", 1)[1] if isinstance(rev, str) and ":" in rev else ""


def session_id_from_path(path: str) -> int | None:
    """The id in ``/sessions/<id>`` or ``/sessions/<id>/edit`` (None when there is none)."""
    match = _SESSION_PATH_RE.search(path or "")
    return int(match.group(1)) if match else None


def valid_zone(tz: object) -> str | None:
    """``tz`` if it is a known IANA zone name, else None."""
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        return None
    return tz if scheduled.zone_or_utc(tz).key == tz else None


def places_text(places_left: int | None, status: str) -> str:
    """"3 places left", "Full · waitlist open", "Unlimited places"."""
    if status == "cancelled":
        return "Cancelled"
    if places_left is None:
        return "Unlimited places"
    if places_left == 0:
        return "Full · waitlist open" if status in ("upcoming", "live") else "Full"
    return f"{places_left} place{'s' if places_left != 1 else ''} left"


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


@dataclasses.dataclass
class ParticipantView:
    """A participant as other participants see them."""

    user_id: int = 0
    display_name: str = ""
    avatar_url: str = ""
    is_creator: bool = False


@dataclasses.dataclass
class NoteView:
    """A note on the session page."""

    id: int = 0
    author_name: str = ""
    body: str = ""
    is_public: bool = False
    mine: bool = False


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


class SessionsListState(rx.State):
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
    _tz_from_browser: bool = False

    def _refresh(self, uid: int | None) -> None:
        with session_scope() as db:
            listing = scheduled.list_sessions(db, viewer_id=uid, search=self.search,
                                              only_mine=self.only_mine and uid is not None)
            self.feed_active = bool(uid) and calendar.has_feed(db, user_id=uid)
        self.upcoming = [_card(s, self.tz) for s in listing.upcoming]
        self.past = [_card(s, self.tz) for s in listing.past]
        self.loaded = True

    async def _uid(self) -> int | None:
        return (await self.get_state(AuthState)).current_user_id()

    @rx.event
    async def load(self):
        """on_load of /sessions (logged in only, like the lobby)."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.login_then(routes.SESSIONS))
        self.feed_url_once = self.feed_error = ""
        if not self._tz_from_browser:
            self.tz = valid_zone(auth.timezone) or "UTC"
        self._refresh(uid)
        # The list just read is current: earlier live numbers would only shadow it.
        self.live_places = {}
        await realtime.join(self.router.session.session_id, SESSIONS_CHANNEL)
        if not self._tz_from_browser:
            return rx.call_script(BROWSER_TZ_SCRIPT, callback=SessionsListState.set_browser_tz)

    @rx.event
    async def set_browser_tz(self, tz: str):
        """Show times in the browser's zone (ignored if the browser sends nonsense)."""
        zone = valid_zone(tz)
        if zone is None:
            return
        self._tz_from_browser = True
        if zone != self.tz:
            self.tz = zone
            self._refresh(await self._uid())

    @rx.event
    async def set_search(self, value: str):
        """Typing in the search box (debounced in the browser)."""
        self.search = text.draft(value, scheduled.MAX_SEARCH)
        self._refresh(await self._uid())

    @rx.event
    async def set_only_mine(self, value: bool):
        """The "only mine" switch: sessions I host or joined."""
        self.only_mine = bool(value)
        self._refresh(await self._uid())

    @rx.event
    async def create_feed(self):
        """Create or regenerate the private calendar feed and show its URL once."""
        uid = await self._uid()
        if uid is None:
            return rx.redirect(routes.login_then(routes.SESSIONS))
        with session_scope() as db:
            token = calendar.create_feed_token(db, user_id=uid)
        self.feed_url_once = calendar.feed_url(token)
        self.feed_active = True
        self.feed_error = ""

    @rx.event
    async def revoke_feed(self):
        """Switch the calendar feed off."""
        uid = await self._uid()
        if uid is None:
            return rx.redirect(routes.login_then(routes.SESSIONS))
        with session_scope() as db:
            calendar.revoke_feed(db, user_id=uid)
        self.feed_url_once = ""
        self.feed_active = False


# The session form's fields and how much of each a keystroke event may store.
FORM_FIELD_CAPS = {"title": 400, "description": 3000, "link": 1000, "date": 20, "start": 20, "end": 20,
                   "capacity": 20}
_FORM_FIELDS = tuple(FORM_FIELD_CAPS)


class SessionFormState(rx.State):
    """``/sessions/new`` and ``/sessions/[id]/edit``: the plan/edit form."""

    editing_id: int = 0
    title: str = ""
    description: str = ""
    link: str = ""
    date: str = ""
    start: str = ""
    end: str = ""
    capacity: str = ""
    tz: str = "UTC"
    form_error: str = ""
    error_field: str = ""
    busy: bool = False
    # The edit form was refused (not the creator, ended, unknown): show the error, not the form.
    blocked: bool = False
    _tz_from_browser: bool = False

    @rx.var
    def is_edit(self) -> bool:
        """Whether the form edits an existing session."""
        return self.editing_id > 0

    def _clear(self) -> None:
        self.editing_id = 0
        self.title = self.description = self.link = self.capacity = ""
        self.date = self.start = self.end = ""
        self.form_error = self.error_field = ""
        self.busy = self.blocked = False

    def _default_times(self) -> None:
        """Suggest the next full hour, for an hour (tomorrow at noon if that runs past midnight)."""
        zone = scheduled.zone_or_utc(self.tz)
        local_now = utcnow().astimezone(zone)
        start = (local_now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        if start.hour >= 23 or start.date() != local_now.date():
            start = (local_now + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
        self.date, self.start, self.end = start.date().isoformat(), f"{start:%H:%M}", f"{start.hour + 1:02d}:00"

    def _prefill(self, uid: int) -> str | None:
        """Load the session being edited in the form's zone; the error if not allowed."""
        try:
            with session_scope() as db:
                values = scheduled.form_values(db, session_id=self.editing_id, user_id=uid, tz_name=self.tz)
        except ServiceError as err:
            return err.message
        self.title, self.description, self.link = values.title, values.description, values.meeting_link
        self.date, self.start, self.end, self.capacity = values.date, values.start, values.end, values.capacity
        return None

    async def _start(self, auth: AuthState) -> None:
        if not self._tz_from_browser:
            self.tz = valid_zone(auth.timezone) or "UTC"

    @rx.event
    async def load_new(self):
        """on_load of /sessions/new."""
        auth = await self.get_state(AuthState)
        if auth.current_user_id() is None:
            return rx.redirect(routes.login_then(routes.SESSION_NEW))
        self._clear()
        await self._start(auth)
        self._default_times()
        return rx.call_script(BROWSER_TZ_SCRIPT, callback=SessionFormState.set_browser_tz)

    @rx.event
    async def load_edit(self):
        """on_load of /sessions/[id]/edit: only the creator gets the form."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        path = self.router.url.path
        if uid is None:
            return rx.redirect(routes.login_then(path or routes.SESSIONS))
        self._clear()
        await self._start(auth)
        session_id = session_id_from_path(path)
        if session_id is None:
            return rx.redirect(routes.SESSIONS)
        self.editing_id = session_id
        error = self._prefill(uid)
        if error is not None:
            self.form_error = error
            self.blocked = True
            return
        return rx.call_script(BROWSER_TZ_SCRIPT, callback=SessionFormState.set_browser_tz)

    @rx.event
    async def set_browser_tz(self, tz: str):
        """Plan in the browser's zone; an edit form re-shows the stored times in it."""
        zone = valid_zone(tz)
        if zone is None or zone == self.tz:
            self._tz_from_browser = zone is not None
            return
        self._tz_from_browser = True
        self.tz = zone
        uid = (await self.get_state(AuthState)).current_user_id()
        if self.editing_id and uid is not None:
            self._prefill(uid)
        elif not self.editing_id:
            self._default_times()

    @rx.event
    def set_field(self, name: str, value: str):
        """Typing in one of the form's fields. Lengths are only capped here (a client may send
        anything); the service validates every field on submit."""
        cap = FORM_FIELD_CAPS.get(name) if isinstance(name, str) else None
        if cap is not None:
            setattr(self, name, text.draft(value, cap))

    @rx.event
    async def submit(self, form: dict):
        """Create or save the session; on success open its page."""
        uid = (await self.get_state(AuthState)).current_user_id()
        if uid is None:
            yield rx.redirect(routes.login_then(self.router.url.path or routes.SESSIONS))
            return
        self.busy = True
        yield
        form = form if isinstance(form, dict) else {}
        # The form's own values are the truth (a debounced keystroke may not have arrived yet).
        # The service judges them as sent; the vars keep a copy that can travel back to the
        # browser (``text.draft``), so a refusal always reaches the form.
        sent = {name: form[name][:3000] if isinstance(form.get(name), str) else getattr(self, name)
                for name in _FORM_FIELDS}
        for name, value in sent.items():
            setattr(self, name, text.draft(value, 3000))
        self.form_error = self.error_field = ""
        fields = dict(title=sent["title"], description=sent["description"], meeting_link=sent["link"],
                      date=sent["date"], start=sent["start"], end=sent["end"], capacity=sent["capacity"],
                      timezone=self.tz)
        editing = bool(self.editing_id)
        try:
            with session_scope() as db:
                if self.editing_id:
                    saved = scheduled.update_session(db, session_id=self.editing_id, user_id=uid, **fields)
                else:
                    saved = scheduled.create_session(db, creator_id=uid, **fields)
                saved_id = saved.id
                chat_still_open = scheduled.chat_readable(saved, utcnow())
        except ServiceError as err:
            self.form_error = err.message
            self.error_field = err.field or ""
            self.busy = False
            return
        self._clear()
        if editing:
            if not chat_still_open:  # moved later: nobody may read the chat until it opens again
                await realtime.close_channel(chat_socket_channel(saved_id))
            await announce(saved_id, EDIT)
        yield rx.redirect(routes.session(saved_id))


class SessionDetailState(rx.State):
    """``/sessions/[id]``: one session as this viewer may see it."""

    found: bool = False
    loaded: bool = False
    viewing_id: int = 0
    title: str = ""
    description: str = ""
    time_text: str = ""
    tz: str = "UTC"
    status: str = ""
    places_left: int = -1
    places_text: str = ""
    is_creator: bool = False
    is_participant: bool = False
    is_waitlisted: bool = False
    waitlist_position: int = 0
    # Empty unless the viewer holds a place (the service leaves it out otherwise).
    meeting_link: str = ""
    participants: list[ParticipantView] = []
    notes: list[NoteView] = []
    has_my_note: bool = False
    note_draft: str = ""
    note_public: bool = False
    # Open for sign-ups (upcoming or running); drives the join button for logged-out visitors.
    joinable: bool = False
    can_join: bool = False
    can_leave: bool = False
    can_edit: bool = False
    can_write_note: bool = False
    chat_readable: bool = False
    chat_writable: bool = False
    chat_channel: str = ""
    google_link: str = ""
    edit_href: str = ""
    message: str = ""
    error: str = ""
    confirm_cancel: bool = False
    # The last change broadcast to this page ("<ns>:<kind>"); a new one makes the tab sync.
    live_rev: str = ""
    _tz_from_browser: bool = False
    # The public channel this tab's socket is in (one session page at a time).
    _channel: str = ""

    def _blank(self) -> None:
        self.found = False
        self.title = self.description = self.time_text = self.status = self.places_text = ""
        self.meeting_link = self.google_link = self.chat_channel = self.edit_href = ""
        self.places_left = -1
        self.waitlist_position = 0
        self.participants, self.notes = [], []
        self.is_creator = self.is_participant = self.is_waitlisted = False
        self.can_join = self.can_leave = self.can_edit = self.can_write_note = self.joinable = False
        self.chat_readable = self.chat_writable = self.has_my_note = False

    def _show(self, detail: SessionDetail) -> None:
        self.found = True
        self.viewing_id = detail.id
        self.title, self.description, self.status = detail.title, detail.description, detail.status
        self.time_text = scheduled.format_time_range(detail.starts_at, detail.ends_at, self.tz)
        self.places_left = -1 if detail.places_left is None else detail.places_left
        self.places_text = places_text(detail.places_left, detail.status)
        self.is_creator, self.is_participant = detail.is_creator, detail.is_participant
        self.is_waitlisted, self.waitlist_position = detail.is_waitlisted, detail.waitlist_position
        self.meeting_link = detail.meeting_link or ""
        self.participants = [ParticipantView(p.user_id, p.display_name, p.avatar_url, p.is_creator)
                             for p in detail.participants]
        self.notes = [NoteView(n.id, n.author_name, n.body, n.is_public, n.mine) for n in detail.public_notes]
        self.has_my_note = detail.my_note is not None
        if detail.my_note is not None:
            self.note_draft, self.note_public = detail.my_note.body, detail.my_note.is_public
        self.can_join, self.can_leave, self.can_edit = detail.can_join, detail.can_leave, detail.can_edit
        self.can_write_note = detail.can_write_note
        self.joinable = detail.status in ("upcoming", "live")
        self.chat_readable, self.chat_writable = detail.chat_readable, detail.chat_writable
        self.chat_channel = scheduled.chat_channel(detail.id) if detail.chat_readable else ""
        self.google_link = calendar.google_calendar_link(detail)
        self.edit_href = routes.session_edit(detail.id) if detail.can_edit else ""

    def _refresh(self, uid: int | None) -> SessionDetail | None:
        """Reload the session for ``uid``; on a missing session, blank everything."""
        try:
            with session_scope() as db:
                detail = scheduled.session_detail(db, session_id=self.viewing_id, viewer_id=uid)
        except ServiceError as err:
            self._blank()
            self.error = err.message
            return None
        self._show(detail)
        return detail

    async def _reload(self, uid: int | None, *, fresh: bool = False) -> SessionDetail | None:
        """Reload what the viewer may see, and attach this tab to the session chat exactly
        while that includes the chat."""
        detail = self._refresh(uid)
        chat_state = await self.get_state(SessionChatState)
        await chat_state._attach(self.viewing_id if self.found and self.chat_readable else 0, uid, fresh=fresh)
        return detail

    async def _uid(self) -> int | None:
        return (await self.get_state(AuthState)).current_user_id()

    async def _leave_channels(self) -> None:
        if self._channel:
            await realtime.leave(self.router.session.session_id, self._channel)
            self._channel = ""
        await (await self.get_state(SessionChatState))._detach()

    @rx.event
    async def load(self):
        """on_load of /sessions/[id]: public facts for anyone, the rest for participants."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        self._blank()
        self.message = self.error = self.note_draft = self.live_rev = ""
        self.note_public = self.confirm_cancel = False
        self.loaded = False
        if not self._tz_from_browser:
            self.tz = (valid_zone(auth.timezone) if uid else None) or "UTC"
        session_id = session_id_from_path(self.router.url.path)
        self.viewing_id = session_id or 0
        wanted = public_channel(session_id) if session_id else ""
        if self._channel != wanted:
            await self._leave_channels()
        if session_id is None:
            self.error = scheduled.NOT_FOUND
        else:
            # Join before reading, so no change between the read and the join is missed. Always:
            # after a reconnect the socket is new and in no channel (on_load runs again).
            await realtime.join(self.router.session.session_id, wanted)
            self._channel = wanted
            await self._reload(uid, fresh=True)
            if self.found:
                schedule_clock(session_id)
        self.loaded = True
        if not self._tz_from_browser:
            return rx.call_script(BROWSER_TZ_SCRIPT, callback=SessionDetailState.set_browser_tz)

    @rx.event
    async def leave_if_away(self):
        """on_load of every other page: stop receiving this tab's last session's updates and chat."""
        if self._channel:
            await self._leave_channels()

    @rx.event
    async def sync(self, rev: str):
        """A change was broadcast to this page: reload this viewer's shape if it concerns them.

        Outsiders already have the new public numbers from the broadcast; they reload only for
        edits, cancels and the clock (start/end). Anyone involved — or whose standing changed,
        e.g. in another tab — reloads what they may see, which also attaches or detaches the chat.
        """
        if (not isinstance(rev, str) or len(rev) > 64 or not text.encodable(rev) or rev == self.live_rev
                or not self.viewing_id):
            return
        self.live_rev = rev
        kind = rev_kind(rev)
        uid = await self._uid()
        was_waitlisted = self.is_waitlisted
        if kind == PLACES:
            shown = ("creator" if self.is_creator else "participant" if self.is_participant
                     else "waitlisted" if self.is_waitlisted else "none")
            with session_scope() as db:
                now = scheduled.standing(db, session_id=self.viewing_id, user_id=uid)
            if shown == "none" and now == "none":
                return
        # A notice about an earlier state ("You're in") must not outlive the change.
        self.message = ""
        await self._reload(uid)
        if kind == DELETED and not self.found:
            self.error = DELETED_MESSAGE
        elif kind == EDIT and self.found and not self.is_creator:
            self.message = EDITED_MESSAGE
        elif was_waitlisted and self.is_participant:
            self.message = PROMOTED_MESSAGE

    @rx.event
    async def set_browser_tz(self, tz: str):
        """Show the time in the browser's zone."""
        zone = valid_zone(tz)
        if zone is None:
            return
        self._tz_from_browser = True
        if zone != self.tz:
            self.tz = zone
            if self.found:
                self._refresh(await self._uid())

    async def _act(self, action, success, kind: str, *, rights_ended=None):
        """Run ``action(db, uid)`` for the logged-in caller, reload what they may see, and
        broadcast the change (``kind``) to everyone on the page and on /sessions.
        ``rights_ended(uid)``: after a success, before anything else, take away live
        channels the change ended the right to."""
        uid = await self._uid()
        if uid is None:
            here = routes.session(self.viewing_id) if self.viewing_id else routes.SESSIONS
            return rx.redirect(routes.login_then(here))
        self.message = self.error = ""
        try:
            with session_scope() as db:
                outcome = action(db, uid)
        except ServiceError as err:
            self.error = err.message
            await self._reload(uid)
            return None
        if rights_ended is not None:
            await rights_ended(uid)
        self.message = success(outcome) if callable(success) else success
        await self._reload(uid)
        # This tab is current: the broadcast's echo must not make it reload again.
        self.live_rev = new_rev(kind)
        await announce(self.viewing_id, kind, rev=self.live_rev)
        return None

    @rx.event
    async def join(self):
        """Take a place (or a waitlist spot when full)."""
        def success(result: scheduled.JoinResult) -> str:
            if result.waitlisted:
                return (f"The session is full: you are number {result.waitlist_position} on the waitlist. "
                        "You get a place automatically if one frees up.")
            return "You're in. See you there!"

        return await self._act(lambda db, uid: scheduled.join_session(db, session_id=self.viewing_id, user_id=uid),
                               success, PLACES)

    @rx.event
    async def leave(self):
        """Give up the place (or waitlist spot)."""
        session_id = self.viewing_id

        async def out_of_chat(uid: int) -> None:
            # All their sockets, also tabs elsewhere that would only leave on their next sync.
            await realtime.leave_user_channels(uid, chat_socket_channel(session_id))

        return await self._act(lambda db, uid: scheduled.leave_session(db, session_id=session_id, user_id=uid),
                               "You left this session.", PLACES, rights_ended=out_of_chat)

    @rx.event
    def open_cancel_confirm(self, value: bool = True):
        """Show or hide the cancel confirmation."""
        self.confirm_cancel = bool(value)

    @rx.event
    async def cancel(self):
        """Cancel the session (creator only; the service checks)."""
        self.confirm_cancel = False
        session_id = self.viewing_id

        async def chat_closed(uid: int) -> None:
            await realtime.close_channel(chat_socket_channel(session_id))  # nobody reads it any more

        return await self._act(lambda db, uid: scheduled.cancel_session(db, session_id=session_id, user_id=uid),
                               "Session cancelled. Everyone who joined sees it as cancelled.", CANCEL,
                               rights_ended=chat_closed)

    @rx.event
    async def open_live_room(self):
        """From the start to the end: into the session's live room (get or create; the service
        checks that the caller is the creator or holds a place)."""
        uid = await self._uid()
        if uid is None:
            return rx.redirect(routes.login_then(routes.session(self.viewing_id)))
        self.message = self.error = ""
        try:
            with session_scope() as db:
                live = scheduled.open_live_room(db, session_id=self.viewing_id, user_id=uid)
        except ServiceError as err:
            self.error = err.message
            await self._reload(uid)
            return None
        return rx.redirect(routes.room(live.room_id))

    @rx.event
    def set_note_draft(self, value: str):
        """Typing the note."""
        self.note_draft = text.draft(value, scheduled.MAX_NOTE + 500)

    @rx.event
    def set_note_public(self, value: bool):
        """Public (shown on the page) or private note."""
        self.note_public = bool(value)

    @rx.event
    async def save_note(self):
        """Save the caller's note (after the session, participants only; the service checks)."""
        body, public = self.note_draft, self.note_public
        uid = await self._uid()
        if uid is None:
            return rx.redirect(routes.login_then(routes.session(self.viewing_id)))
        self.message = self.error = ""
        try:
            with session_scope() as db:
                scheduled.save_note(db, session_id=self.viewing_id, user_id=uid, body=body, is_public=public)
        except ServiceError as err:
            self.error = err.message
            return None
        self.message = "Note saved." + (" It is shown on this page." if public else " Only you can see it.")
        await self._reload(uid)
        if public:
            await announce(self.viewing_id, NOTES)
        return None

    @rx.event
    async def download_ics(self):
        """Download the session as an .ics file, with only what this viewer may see."""
        uid = await self._uid()
        detail = self._refresh(uid)
        if detail is None:
            return None
        return rx.download(data=calendar.session_ics(detail), filename=calendar.ics_filename(detail.title),
                           mime_type="text/calendar")


# --- broadcasts -----------------------------------------------------------------------------------


def live_places(db, now: datetime | None = None) -> dict[str, str]:
    """The public places text of every session that has not ended, keyed by id as text."""
    return {str(i): places_text(left, status) for i, (left, status) in scheduled.public_places(db, now=now).items()}


def refresh_list() -> None:
    """Coalesce list changes into one broadcast of the public numbers to ``/sessions``."""

    async def push() -> None:
        with session_scope() as db:
            places = live_places(db)
        await realtime.push(SESSIONS_CHANNEL, SessionsListState, live_places=places)

    realtime.coalesce("sessions-list", LIST_BATCH_SECONDS, push)


def public_values(session_id: int) -> dict:
    """What everyone may see change on a session's page (nothing about who is in it)."""
    try:
        with session_scope() as db:
            public = scheduled.session_detail(db, session_id=session_id, viewer_id=None)
    except ServiceError:
        return {}
    return {"places_left": -1 if public.places_left is None else public.places_left,
            "places_text": places_text(public.places_left, public.status), "status": public.status,
            "joinable": public.status in ("upcoming", "live")}


async def announce(session_id: int, kind: str, *, rev: str | None = None) -> None:
    """ONE broadcast to everyone on the session's page: its public numbers and a new revision
    (each tab then syncs what concerns its own viewer); the list gets the new numbers too."""
    values = {} if kind == DELETED else public_values(session_id)
    await realtime.push(public_channel(session_id), SessionDetailState, **values, live_rev=rev or new_rev(kind))
    refresh_list()
    if kind != DELETED:
        schedule_clock(session_id)


def schedule_clock(session_id: int) -> None:
    """Tell the page when the session changes by itself: the chat opening 15 minutes before,
    the start (the live room) and the end (read-only). One timer per session on this worker;
    the revision is the moment itself, so several workers' pushes count once in a browser."""
    with session_scope() as db:
        row = db.get(StudySession, session_id)
        when = None if row is None else scheduled.next_change(row.starts_at, row.ends_at,
                                                              cancelled=row.cancelled_at is not None,
                                                              now=utcnow())
    key = f"session-clock-{session_id}"
    if when is None:
        realtime.cancel(key)
        return
    rev = f"{round(when.timestamp() * 1000)}:{TICK}"

    async def tick() -> None:
        await announce(session_id, TICK, rev=rev)

    # A moment after the boundary, so the reloads already see the new status.
    realtime.schedule(key, when + timedelta(milliseconds=300), tick)


async def announce_departure(departure: scheduled.Departure) -> None:
    """After an account deletion: its hosted sessions are gone, its places freed."""
    for session_id in departure.cancelled:
        await realtime.close_channel(chat_socket_channel(session_id))
        await announce(session_id, DELETED)
    for session_id in departure.left:
        await announce(session_id, PLACES)
