"""``/sessions/[id]``: one session as this viewer may see it, and the broadcasts to its page.

A change pushes the public numbers and a new ``live_rev`` to ``channels.session(id)``; each tab
then syncs what concerns its own viewer (``SessionDetailState.sync``). Private data never
rides in a broadcast.
"""

from __future__ import annotations

import reflex as rx

from sessions_app import realtime, routes
from sessions_app.db import session_scope
from sessions_app.live import channels, phases, targets
from sessions_app.live.session_page import (
    announce,
    chat_closed,
    left_chat,
    schedule_clock,
)
from sessions_app.services import calendar, scheduled, text
from sessions_app.services.scheduled import SessionDetail
from sessions_app.settings import get_settings
from sessions_app.state.auth import AuthState
from sessions_app.state.base import REFUSED, Handler, off_loop
from sessions_app.state.scheduled.common import (
    BROWSER_TZ_SCRIPT,
    CANCEL,
    DELETED,
    DELETED_MESSAGE,
    EDIT,
    EDITED_MESSAGE,
    NOTES,
    PLACES,
    PROMOTED_MESSAGE,
    SAVED_MESSAGES,
    NoteView,
    ParticipantView,
    new_rev,
    places_text,
    rev_kind,
    session_id_from_path,
    valid_zone,
)
from sessions_app.state.session_chat import SessionChatState


def _in_db(fn, *args, **kwargs):
    """``fn(db, *args, **kwargs)`` in one transaction (run off the loop)."""
    with session_scope() as db:
        return fn(db, *args, **kwargs)


@targets.register(targets.SESSION_PAGE)
class SessionDetailState(Handler, rx.State):
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

    async def _refresh(self, uid: int | None) -> SessionDetail | None:
        """Reload the session for ``uid`` (off the loop); on a missing session, blank everything."""
        detail = await self._attempt(_in_db, scheduled.session_detail, session_id=self.viewing_id, viewer_id=uid)
        if detail is REFUSED:
            message = self.error
            self._blank()
            self.error = message
            return None
        self._show(detail)
        return detail

    async def _reload(self, uid: int | None, *, fresh: bool = False) -> SessionDetail | None:
        """Reload what the viewer may see, and attach this tab to the session chat exactly
        while that includes the chat."""
        detail = await self._refresh(uid)
        chat_state = await self.get_state(SessionChatState)
        await chat_state._attach(self.viewing_id if self.found and self.chat_readable else 0, uid, fresh=fresh)
        return detail

    async def _uid(self) -> int | None:
        return await self._caller_id()

    async def _leave_channels(self) -> None:
        if self._channel:
            await realtime.leave(self.router.session.session_id, self._channel)
            self._channel = ""
        await (await self.get_state(SessionChatState))._detach()

    @rx.event
    async def load(self):
        """on_load of /sessions/[id]: public facts for anyone, the rest for participants."""
        uid = await self._caller_id(view=True)
        auth = await self.get_state(AuthState)
        self._blank()
        self.message = self.error = self.note_draft = self.live_rev = ""
        self.note_public = self.confirm_cancel = False
        self.loaded = False
        # A logged-in viewer's account zone; a visitor's browser zone, once it has said it.
        if uid is not None or not self._tz_from_browser:
            self.tz = (valid_zone(auth.timezone) if uid else None) or "UTC"
        session_id = session_id_from_path(self.router.url.path)
        self.viewing_id = session_id or 0
        wanted = channels.session(session_id) if session_id else ""
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
                if self.is_creator:  # just back from the form: say it worked
                    self.message = SAVED_MESSAGES.get(self.router.url.query_parameters.get("saved", ""), "")
        self.loaded = True
        if uid is None and not self._tz_from_browser:
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
            now = await off_loop(_in_db, scheduled.standing, session_id=self.viewing_id, user_id=uid)
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
        """A visitor's browser zone (a logged-in viewer sees their account's)."""
        zone = valid_zone(tz)
        if zone is None or await self._uid() is not None:
            return
        self._tz_from_browser = True
        if zone != self.tz:
            self.tz = zone
            if self.found:
                await self._refresh(await self._uid())

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
        outcome = await self._attempt(_in_db, action, uid)
        if outcome is REFUSED:
            message = self.error
            await self._reload(uid)
            self.error = self.error or message
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
            # On the waitlist the page's own waitlist notice says where they stand (and keeps
            # it current): a second, green copy of it read like a success.
            return "" if result.waitlisted else "You're in. See you there!"

        return await self._act(lambda db, uid: scheduled.join_session(db, session_id=self.viewing_id, user_id=uid),
                               success, PLACES)

    @rx.event
    async def leave(self):
        """Give up the place (or waitlist spot)."""
        session_id = self.viewing_id

        async def out_of_chat(uid: int) -> None:
            # All their sockets, also tabs elsewhere that would only leave on their next sync.
            await left_chat(uid, session_id)

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

        async def nobody_reads(uid: int) -> None:
            await chat_closed(session_id)  # nobody reads it any more

        return await self._act(lambda db, uid: scheduled.cancel_session(db, session_id=session_id, user_id=uid),
                               "Session cancelled. Everyone who joined sees it as cancelled.", CANCEL,
                               rights_ended=nobody_reads)

    @rx.event
    async def open_live_room(self):
        """From the start to the end: into the session's live room (get or create; the service
        checks that the caller is the creator or holds a place)."""
        uid = await self._uid()
        if uid is None:
            return rx.redirect(routes.login_then(routes.session(self.viewing_id)))
        self.message = self.error = ""
        live = await self._attempt(_in_db, scheduled.open_live_room, session_id=self.viewing_id, user_id=uid,
                                   time_scale=get_settings().time_scale)
        if live is REFUSED:
            message = self.error
            await self._reload(uid)
            self.error = self.error or message
            return None
        if live.created:  # its timer runs from the scheduled minute: the server moves its phases on
            phases.after_timer_change(live.room_id, live.running)
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
        saved = await self._attempt(_in_db, scheduled.save_note, session_id=self.viewing_id, user_id=uid, body=body,
                                    is_public=public)
        if saved is REFUSED:
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
        detail = await self._refresh(uid)
        if detail is None:
            return None
        return rx.download(data=calendar.session_ics(detail), filename=calendar.ics_filename(detail.title),
                           mime_type="text/calendar")
