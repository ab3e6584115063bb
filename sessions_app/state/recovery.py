"""Email verification and password reset pages: thin adapters over ``services.recovery``.

Every handler is public: the logged-in user (for the verification status and "resend") is
resolved from the login cookie on the server; the links' tokens are checked by the service.
Mails go out after the commit, on the mail thread pool (``services.mail.send_later``), and
the slow password hash of a reset runs in a worker thread: nothing here blocks the loop.
No flow here logs anyone in: after a reset the student logs in afresh on /login.
"""

from __future__ import annotations

import reflex as rx

from sessions_app import routes
from sessions_app.db import system_scope
from sessions_app.live.users import ENDED_BY_PASSWORD, logins_ended
from sessions_app.services import mail, recovery
from sessions_app.state.auth import AuthState
from sessions_app.state.base import REFUSED, Handler, in_db

MAX_FIELD = 1000  # longer form values are refused by the services anyway; keep state small
# Removes ``?token=…`` from the address bar and history once the page has read it.
FORGET_TOKEN_IN_URL = "window.history.replaceState(null, '', window.location.pathname)"
VERIFIED = "Your email address is confirmed. Thank you!"
VERIFY_SENT = "We sent you a new confirmation link. It works once, within 48 hours."
PASSWORD_CHANGED = ("Your password was changed and every login of your account was ended. "
                    "Log in with the new password.")


def _reset(token: str, password: object) -> int:
    """Set the new password (argon2: runs in a worker thread); the account's user id."""
    with system_scope("password reset link") as db:
        return recovery.reset_password(db, token=token, password=password).id


def _verify(token: str) -> int:
    """Use an emailed confirmation link; the id of the user it confirmed."""
    with system_scope("email confirmation link") as db:
        return recovery.verify_email(db, token=token).id


def _request_reset(email: object, client: str):
    with system_scope("password reset request") as db:
        return recovery.request_reset(db, email=email, client=client)


def _reset_link_valid(token: str) -> bool:
    with system_scope("password reset link") as db:
        return recovery.reset_link_valid(db, token=token)


class RecoveryState(Handler, rx.State):
    """Verification status, "resend", the forgot-password form and the reset form."""

    # The logged-in user's own status (a default of True keeps the note hidden until known).
    email_verified: bool = True
    has_email: bool = True
    message: str = ""
    error: str = ""
    # The reset page: whether its link is usable, and whether the password was changed.
    reset_valid: bool = False
    reset_done: bool = False
    # The reset link's token, kept server-side after the page stripped it from the URL.
    _reset_token: str = ""

    def _clear_messages(self) -> None:
        self.message = self.error = ""

    async def _auth(self) -> AuthState:
        return await self.get_state(AuthState)

    # --- the verification note (lobby, settings) ---------------------------------------------

    @rx.event
    async def load_status(self):
        """on_load of pages showing the note: is the caller's address confirmed?"""
        self._clear_messages()
        uid = await self._caller_id()
        if uid is None:
            self.email_verified = True
            return
        status = await self._attempt(in_db, recovery.status, user_id=uid)
        if status is REFUSED:
            return
        self.email_verified = status.verified or not status.has_email  # nothing to confirm: no note
        self.has_email = status.has_email

    @rx.event
    async def resend_verification(self):
        """Mail the logged-in user a fresh confirmation link (rate-limited)."""
        self._clear_messages()
        uid = await self._caller_id()
        if uid is None:
            return rx.redirect(routes.login_then(routes.SETTINGS))
        outgoing = await self._attempt(in_db, recovery.resend_verification, user_id=uid,
                                       client=(await self._auth())._client_key())
        if outgoing is REFUSED:
            if self.error == recovery.ALREADY_VERIFIED:
                self.email_verified = True
            return
        mail.send_later(outgoing)
        self.message = VERIFY_SENT

    # --- /verify-email?token=… ----------------------------------------------------------------

    @rx.event
    async def load_verify(self):
        """on_load of /verify-email: use the link's token."""
        self._clear_messages()
        token = self.router.url.query_parameters.get("token", "")
        uid = await self._attempt(_verify, token)
        if uid is not REFUSED:
            self.message = VERIFIED
            if await self._caller_id() == uid:
                self.email_verified = True
        return rx.call_script(FORGET_TOKEN_IN_URL)

    # --- /forgot-password ---------------------------------------------------------------------

    @rx.event
    def load_forgot(self):
        """on_load of /forgot-password."""
        self._clear_messages()

    @rx.event
    async def request_reset(self, form: dict):
        """Mail a reset link if an account uses the address; the answer is the same either way."""
        self._clear_messages()
        email = form.get("email") if isinstance(form, dict) else None
        if isinstance(email, str):
            email = email[:MAX_FIELD]
        outgoing = await self._attempt(_request_reset, email, (await self._auth())._client_key())
        if outgoing is REFUSED:
            return
        mail.send_later(outgoing)
        self.message = recovery.RESET_SENT

    # --- /reset-password?token=… --------------------------------------------------------------

    @rx.event
    async def load_reset(self):
        """on_load of /reset-password: keep the token server-side and say if it still works."""
        self._clear_messages()
        self.reset_done = False
        token = self.router.url.query_parameters.get("token", "")
        if token:  # a reload after the URL was cleaned keeps the token already read
            self._reset_token = token[:200]
        self.reset_valid = await self._attempt(_reset_link_valid, self._reset_token) is True
        if not self.reset_valid:
            self.error = recovery.LINK_INVALID
        return rx.call_script(FORGET_TOKEN_IN_URL)

    @rx.event
    async def reset_password(self, form: dict):
        """Set the new password; every login of the account ends. Nobody is logged in."""
        self._clear_messages()
        password = form.get("password") if isinstance(form, dict) else None
        if isinstance(password, str) and len(password) > MAX_FIELD:
            password = password[:MAX_FIELD]
        user_id = await self._attempt(_reset, self._reset_token, password)
        if user_id is REFUSED:
            if self.error == recovery.LINK_INVALID:
                self.reset_valid = False
            return
        # Every open tab of the account (a stolen device's too) is logged out now.
        await logins_ended(user_id, skip_sid=self.router.session.session_id, reason=ENDED_BY_PASSWORD)
        self._reset_token = ""
        self.reset_valid = False
        self.reset_done = True
        self.message = PASSWORD_CHANGED
        # This tab's own login (if any) was one of those ended: show it logged out.
        await self._caller_id(view=True)
