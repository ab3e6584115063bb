"""Profile and settings: rename, time zone, export, delete account."""

from __future__ import annotations

import json

import reflex as rx

from sessions_app import login_cookie, realtime, routes
from sessions_app.db import session_scope
from sessions_app.live.presence import leave_all_rooms
from sessions_app.live.session_page import announce_departure
from sessions_app.services import accounts, text
from sessions_app.services.errors import ServiceError
from sessions_app.state.auth import AuthState, purge_tabs


class AccountState(rx.State):
    """The profile/settings forms of the logged-in user."""

    name_draft: str = ""
    timezone_draft: str = ""
    message: str = ""
    error: str = ""
    confirm_open: bool = False

    @rx.event
    async def load(self):
        """on_load of /profile and /settings."""
        auth = await self.get_state(AuthState)
        self.message = self.error = ""
        self.confirm_open = False
        if auth.current_user_id() is None:
            return rx.redirect(routes.login_then(auth._here()))
        self.name_draft = auth.display_name
        self.timezone_draft = auth.timezone

    @rx.event
    def set_name_draft(self, value: str):
        """Typing in the display-name box."""
        self.name_draft = text.draft(value, 200)

    @rx.event
    def set_timezone_draft(self, value: str):
        """Choosing a time zone."""
        self.timezone_draft = text.draft(value, 64)

    @rx.event
    async def save_name(self):
        """Save the display name."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        self.message = self.error = ""
        try:
            with session_scope() as db:
                auth._apply(accounts.rename(db, user_id=uid, name=self.name_draft))
        except ServiceError as err:
            self.error = err.message
            return
        self.name_draft = auth.display_name
        self.message = "Saved."

    @rx.event
    async def save_timezone(self):
        """Save the time zone."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        self.message = self.error = ""
        try:
            with session_scope() as db:
                auth._apply(accounts.set_timezone(db, user_id=uid, timezone=self.timezone_draft))
        except ServiceError as err:
            self.error = err.message
            return
        self.message = "Time zone saved."

    @rx.event
    async def export(self):
        """Download everything the user owns as JSON."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        with session_scope() as db:
            data = accounts.export_data(db, user_id=uid)
        return rx.download(data=json.dumps(data, indent=2), filename="sessions-export.json",
                           mime_type="application/json")

    @rx.event
    def open_confirm(self, value: bool = True):
        """Show or hide the deletion confirmation."""
        self.confirm_open = bool(value)

    @rx.event
    async def delete_account(self):
        """Delete the account and everything it owns, then log out everywhere."""
        auth = await self.get_state(AuthState)
        uid = auth.current_user_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        # Leave live rooms first so the host role passes on and members see it at once.
        await leave_all_rooms(uid)
        with session_scope() as db:
            departure = accounts.delete_account(db, user_id=uid)
        # Pages open on the sessions they hosted learn they are cancelled; freed places show.
        await announce_departure(departure)
        # Every socket of theirs (this one too) leaves every channel: nothing more reaches them.
        await realtime.leave_user_channels(uid)
        await realtime.leave_all(self.router.session.session_id)
        auth._clear()
        self.confirm_open = False
        # Nothing of the account stays in the state store either: every tab of it is reset.
        purge_tabs(uid)
        # The route clears the dead cookie; the page reloads without it (see AuthState.log_out).
        return rx.call_script(login_cookie.logout_script(routes.HOME))
