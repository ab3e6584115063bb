"""Profile and settings: rename, time zone, password, export, delete account."""

from __future__ import annotations

import json

import reflex as rx

from sessions_app import login_cookie, realtime, routes
from sessions_app.live.chat import deliver_changes
from sessions_app.live.presence import leave_all_rooms
from sessions_app.live.rooms import forget_user
from sessions_app.live.session_page import announce_departure
from sessions_app.live.users import (
    ENDED_BY_DELETION,
    ENDED_BY_PASSWORD,
    logins_ended,
    own_view_vars,
)
from sessions_app.services import account_data, accounts, accounts_async, text
from sessions_app.services.errors import ServiceError
from sessions_app.state.auth import AuthState, purge_tabs
from sessions_app.state.base import REFUSED, Handler, in_db


def _renamed(db, *, user_id: int, name: object) -> dict:
    """The new name stored; the own view after it (as ``AuthState`` values)."""
    return own_view_vars(accounts.rename(db, user_id=user_id, name=name))


def _rezoned(db, *, user_id: int, timezone: object) -> dict:
    """The new zone stored; the own view after it."""
    return own_view_vars(accounts.set_timezone(db, user_id=user_id, timezone=timezone))


class AccountState(Handler, rx.State):
    """The profile/settings forms of the logged-in user."""

    name_draft: str = ""
    timezone_draft: str = ""
    message: str = ""
    error: str = ""
    confirm_open: bool = False
    # The time zone form's outcome, shown inside its panel (on a phone the page's messages at
    # the top are a screen away from the Save button).
    timezone_error: str = ""
    timezone_message: str = ""
    # The password form's own outcome, shown inside its panel (the passwords themselves never
    # sit in a var: they arrive in the submitted form and go straight to the service).
    password_error: str = ""
    password_message: str = ""

    @rx.event
    async def load(self):
        """on_load of /profile and /settings."""
        self.message = self.error = self.password_error = self.password_message = ""
        self.timezone_error = self.timezone_message = ""
        self.confirm_open = False
        uid = await self._caller_id(view=True)
        auth = await self.get_state(AuthState)
        if uid is None:
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

    async def _save(self, change, *, outcome: str = "", **fields) -> bool | None:
        """Store one own-view change for the caller and show the view after it: True; False
        when the service refused (its message is shown in ``<outcome>error``, beside the form);
        None when nobody is logged in."""
        uid = await self._caller_id()
        if uid is None:
            return None
        self.message = self.error = self.timezone_message = self.timezone_error = ""
        view = await self._attempt(in_db, change, user_id=uid, errors=(self, f"{outcome}error"), **fields)
        if view is REFUSED:
            return False
        (await self.get_state(AuthState))._show_view(view)
        return True

    @rx.event
    async def save_name(self):
        """Save the display name."""
        saved = await self._save(_renamed, name=self.name_draft)
        if saved is None:
            return rx.redirect(routes.LOGIN)
        if saved:
            self.name_draft = (await self.get_state(AuthState)).display_name
            self.message = "Saved."

    @rx.event
    async def save_timezone(self):
        """Save the time zone."""
        saved = await self._save(_rezoned, outcome="timezone_", timezone=self.timezone_draft)
        if saved is None:
            return rx.redirect(routes.LOGIN)
        if saved:
            self.timezone_message = "Time zone saved."

    @rx.event
    async def change_password(self, form: dict):
        """Change the password: the current one is checked (failures throttled like logins),
        the new one must be strong; every other login of the account ends."""
        uid = await self._caller_id()
        if uid is None:
            return rx.redirect(routes.login_then(routes.SETTINGS))
        self.password_error = self.password_message = ""
        form = form if isinstance(form, dict) else {}  # a crafted event may send anything
        auth = await self.get_state(AuthState)
        try:
            ended = await accounts_async.change_password(
                user_id=uid, current=form.get("current"), new=form.get("password"), confirm=form.get("confirm"),
                keep_token=auth._login_token(), client=auth._client_key())
        except ServiceError as err:
            self.password_error = err.message
            return
        # The other devices' open tabs are logged out now, not at their next event.
        await logins_ended(uid, keep=auth._login_token(), reason=ENDED_BY_PASSWORD)
        self.password_message = "Password changed." + (
            "" if not ended else f" You were logged out on {ended} other device{'s' if ended > 1 else ''}.")

    @rx.event
    async def export(self):
        """Download everything the user owns as JSON."""
        uid = await self._caller_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        data = await self._attempt(in_db, account_data.export_data, user_id=uid)
        if data is REFUSED:
            return
        return rx.download(data=json.dumps(data, indent=2), filename="sessions-export.json",
                           mime_type="application/json")

    @rx.event
    def open_confirm(self, value: bool = True):
        """Show or hide the deletion confirmation."""
        self.confirm_open = bool(value)

    @rx.event
    async def delete_account(self):
        """Delete the account and everything it owns, then log out everywhere."""
        uid = await self._caller_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        # Leave live rooms first so the host role passes on and members see it at once.
        await leave_all_rooms(uid)
        departure = await self._attempt(in_db, account_data.delete_account, user_id=uid)
        if departure is REFUSED:
            return
        # Pages open on the sessions they hosted learn they are cancelled; freed places show;
        # open chats drop their messages and rooms their tasks and goals.
        await announce_departure(departure)
        await deliver_changes(departure.chat_changes)
        for room_id in departure.rooms:
            await forget_user(room_id, uid)
        # Every socket of theirs (this one too) leaves every channel: nothing more reaches them;
        # their other tabs are told (on the login page) and this one goes home.
        sid = self.router.session.session_id
        await realtime.leave_all(sid)
        await logins_ended(uid, skip_sid=sid, reason=ENDED_BY_DELETION)
        (await self.get_state(AuthState))._clear()
        self.confirm_open = False
        # Nothing of the account stays in the state store either: every tab of it is reset.
        purge_tabs(uid)
        # The route clears the dead cookie; the page reloads without it (see AuthState.log_out).
        return rx.call_script(login_cookie.logout_script(routes.HOME))
