"""Who is logged in: the login cookie, the current user's own view, login/sign-up/logout.

The login is an opaque random token in the HttpOnly ``sessions_token`` cookie, set and
cleared by the server over HTTP (``sessions_app.login_cookie``); the server keeps only its
hash. No state var holds it: handlers read it from the socket's handshake
(``realtime.held_cookie``). Every handler that needs the user resolves it again on the server
(page states: ``state.base.Handler._caller_id``; this state's own page loads: ``_load_caller``,
off the event loop), so a revoked login stops working at once.

An OAuth login is bound to the tab that started it: the tab keeps the ``state`` values it
sent to providers (backend-only vars, never sent to the browser) and must present the right
one to redeem the login ticket the callback hands over.
"""

from __future__ import annotations

import asyncio

import reflex as rx

from sessions_app import login_cookie, oauth, oauth_more, realtime, routes
from sessions_app.db import act_as_user, system_scope
from sessions_app.live import targets
from sessions_app.live.users import (
    ENDED_BY_DELETION,
    ENDED_BY_PASSWORD,
    logins_ended,
    own_view_vars,
)
from sessions_app.services import accounts, accounts_async, login_guard, mail, recovery
from sessions_app.services.errors import ServiceError
from sessions_app.settings import get_settings

DEVICE_COOKIE_DAYS = 365
# OAuth logins a tab may have in flight at once (a student who clicks twice, or goes back).
MAX_PENDING_OAUTH = 5
OAUTH_FAILED = "The login did not complete. Start the login again."
TICKET_REFUSED = login_cookie.TICKET_REFUSED
LOGGED_OUT_NOTICES = {ENDED_BY_PASSWORD: "The password of your account was changed, so this device was logged out. "
                                         "Log in with the new password.",
                      ENDED_BY_DELETION: "This account was deleted on another device, with everything it owned."}


# This worker's tabs that were logged in, per user (client tokens, newest last): when the
# account is deleted, their states are reset in the state store too. Capped per user.
_tabs_by_user: dict[int, dict[str, None]] = {}
MAX_TABS_PER_USER = 200


def _remember_tab(user_id: int, token: str) -> None:
    tabs = _tabs_by_user.setdefault(user_id, {})
    if token and token not in tabs:
        tabs[token] = None
        while len(tabs) > MAX_TABS_PER_USER:
            del tabs[next(iter(tabs))]


# The name states use (``state.base``): a tab seen logged in as ``user_id``.
remember_tab = _remember_tab


def purge_tabs(user_id: int) -> None:
    """Reset the private states of every tab this worker saw logged in as ``user_id`` (an
    account deletion), after any handler running on them; shared room states are untouched."""
    tokens = list(_tabs_by_user.pop(user_id, {}))
    classes, todo = [], list(rx.State.get_substates())
    while todo:
        cls = todo.pop()
        todo.extend(cls.get_substates())
        if cls.__module__.startswith("sessions_app.state.") and not issubclass(cls, rx.SharedState):
            classes.append(cls)
    realtime.reset_tabs(tokens, classes)


def _own_view_for(token: str) -> tuple[int | None, dict]:
    """(user id, own view values) of a login cookie, or (None, {}) (runs in a thread)."""
    with system_scope("who holds this login cookie") as db:
        user = accounts.user_for_token(db, token)
        return (user.id, own_view_vars(user)) if user is not None else (None, {})


def _end_login(token: str) -> int | None:
    """Revoke a login; whose it was (None: none live)."""
    with system_scope("logout: the login cookie revokes itself") as db:
        user = accounts.user_for_token(db, token)
        accounts.end_session(db, token=token)
        return user.id if user is not None else None


@targets.register(targets.OWN_VIEW)
class AuthState(rx.State):
    """The logged-in user's own view. Holds nothing that is not theirs to see."""

    # "This browser has logged into that account before" (services/login_guard.py): keeps the
    # owner's usual browser out of the failed-login delays others cause. Not a credential.
    device_token: str = rx.Cookie("", name="sessions_device", same_site="strict",
                                  max_age=DEVICE_COOKIE_DAYS * 86400, path="/",
                                  secure=get_settings().public_url.startswith("https://"))
    user_id: int = 0
    display_name: str = ""
    avatar_url: str = ""
    # No email here, on purpose: a hydrate returns the tab's last state before on_load runs,
    # so whoever holds a closed tab's client token would read it. Private fields stay on the
    # server (services.accounts.me()).
    timezone: str = "UTC"
    level: int = 0
    exp_total: int = 0
    level_progress: float = 0.0
    exp_to_next: int = 0
    form_error: str = ""
    login_notice: str = ""
    busy: bool = False
    _browser_tz: str = "UTC"
    # The OAuth ``state`` values this tab started, newest last (backend-only).
    _oauth_states: list[str] = []
    # A message for the next login page, set before redirecting there (its on_load clears
    # ``form_error``, so the message travels here).
    _flash: str = ""

    @rx.var
    def logged_in(self) -> bool:
        """Whether a user is logged in on this tab."""
        return self.user_id > 0

    @rx.var
    def oauth_providers(self) -> list[str]:
        """The OAuth providers configured on this server."""
        return oauth.configured()

    @rx.var
    def oidc_name(self) -> str:
        """The OpenID Connect provider's name on its login button (``OIDC_NAME``)."""
        return oauth_more.button_label()

    @rx.var
    def initials(self) -> str:
        """Up to two initials for the avatar fallback."""
        parts = self.display_name.split()
        return "".join(p[0] for p in parts[:2]).upper() or "?"

    def _apply(self, user) -> None:
        _remember_tab(user.id, self.router.session.client_token)
        self._show_view(own_view_vars(user))

    def _show_view(self, values: dict) -> None:
        """Set the own view's vars from ``live.users.own_view_vars`` values (read off the
        loop by the caller); an unchanged var stays out of the delta."""
        for name, value in values.items():
            if getattr(self, name) != value:
                setattr(self, name, value)

    def _clear(self) -> None:
        self.user_id = 0
        self.display_name = self.avatar_url = ""
        self.level = self.exp_total = self.exp_to_next = 0
        self.level_progress = 0.0

    def _login_token(self) -> str:
        """The login cookie this tab's socket presented (never stored in the state)."""
        return realtime.held_cookie(self.router.session.session_id)

    def _finish_login(self, db, *, user_id: int, next_path: str | None = None) -> rx.event.EventSpec:
        """The event that hands a new login to the browser: the server sets the HttpOnly
        cookie over HTTP, and the page reloads on ``next_path`` (default: ``?next=``)."""
        return rx.call_script(login_cookie.handoff_script(db, user_id=user_id,
                                                          next_path=next_path or self._next()))

    def current_user_id(self) -> int | None:
        """Resolve the caller from the login cookie on the server (None if not logged in)."""
        with system_scope("who holds this login cookie") as db:
            user = accounts.user_for_token(db, self._login_token())
        # The one place a handler states its user: the rest of this event's transactions run
        # for them under PostgreSQL's row-level security (docs/rls.md).
        act_as_user(user.id if user is not None else None)
        if user is None:
            if self.user_id:
                self._clear()
            return None
        self._apply(user)
        return user.id

    def refresh(self) -> None:
        """Reload the user's own view (after EXP or a name change)."""
        self.current_user_id()

    async def _load_caller(self) -> int | None:
        """``current_user_id`` for page loads, with the lookup off the event loop (the same
        semantics: the view refreshed, a revoked login cleared, the actor stated)."""
        uid, values = await asyncio.to_thread(_own_view_for, self._login_token())
        act_as_user(uid)
        if uid is None:
            if self.user_id:
                self._clear()
            return None
        _remember_tab(uid, self.router.session.client_token)
        self._show_view(values)
        return uid

    @rx.event
    async def load_optional(self):
        """on_load of public pages: show the user if logged in, require nothing."""
        self.form_error = ""
        await self._load_caller()

    @rx.event
    async def load_auth_page(self):
        """on_load of /login and /signup: logged-in users go on; read the browser's zone."""
        self.form_error, self._flash = self._flash, ""
        self.busy = False
        # ``?ended=`` names why this tab was logged out (``live.users.logins_ended``); only
        # known reasons show, so a crafted link cannot put its own words on the page.
        self.login_notice = LOGGED_OUT_NOTICES.get(self.router.url.query_parameters.get("ended", ""), "")
        if await self._load_caller() is not None:
            return rx.redirect(self._next())
        return rx.call_script("Intl.DateTimeFormat().resolvedOptions().timeZone",
                              callback=AuthState.set_browser_timezone)

    @rx.event
    def set_browser_timezone(self, tz: str):
        """Remember the browser's time zone for a new account (validated on use)."""
        if isinstance(tz, str) and len(tz) <= 64:
            self._browser_tz = tz

    def _here(self) -> str:
        """This page's path without a trailing slash (the static build serves ``/profile/``)."""
        return (self.router.url.path or routes.LOBBY).rstrip("/") or routes.HOME

    def _next(self) -> str:
        return accounts.safe_next(self.router.url.query_parameters.get("next", routes.LOBBY))

    def _client_key(self) -> str:
        return self.router.session.client_ip or "unknown"

    @rx.event
    async def sign_up(self, form: dict):
        """Create an account and log in (hashing runs off the event loop, rate-limited)."""
        self.form_error = ""
        form = form if isinstance(form, dict) else {}  # a crafted event may send anything
        try:
            with system_scope("sign-up") as db:
                user = await accounts_async.sign_up(name=form.get("name"), email=form.get("email"),
                                                    password=form.get("password"), timezone=self._browser_tz,
                                                    client=self._client_key())
                handoff = self._finish_login(db, user_id=user.id)
                self._apply(user)
                confirm = recovery.verification_mail(db, user=user)  # the address is unproven
        except ServiceError as err:
            self.form_error = err.message
            return
        mail.send_later(confirm)  # after the commit, off the event loop
        self.device_token = login_guard.issue_device_token(user.id)
        return handoff

    @rx.event
    async def log_in(self, form: dict):
        """Log in with email and password (verified off the event loop; failures throttled)."""
        self.form_error = ""
        form = form if isinstance(form, dict) else {}  # a crafted event may send anything
        try:
            with system_scope("password login") as db:
                user = await accounts_async.authenticate(email=form.get("email"), password=form.get("password"),
                                                         client=self._client_key(), device=self.device_token)
                handoff = self._finish_login(db, user_id=user.id)
                self._apply(user)
        except ServiceError as err:
            self.form_error = err.message
            return
        self.device_token = login_guard.issue_device_token(user.id)
        return handoff

    @rx.event
    async def oauth_start(self, provider: str):
        """Send the browser to a provider's login page (state + PKCE stored server-side)."""
        self.form_error = ""
        try:
            with system_scope("OAuth login start") as db:
                url, state = await oauth.begin(db, provider=str(provider), next_path=self._next(),
                                               client=self._client_key())
        except ServiceError as err:
            self.form_error = err.message
            return
        self._oauth_states = [*self._oauth_states, state][-MAX_PENDING_OAUTH:]
        return rx.redirect(url, is_external=False)

    @rx.event
    def complete_oauth(self):
        """on_load of /auth/complete: exchange an OAuth login's one-time ticket for a login
        hand-off, or (``?next=``, after the hand-off) go on to the page."""
        params = self.router.url.query_parameters
        if params.get("error"):
            error = params.get("error")
            self._flash = error if error in oauth.MESSAGES or error == TICKET_REFUSED else OAUTH_FAILED
            return rx.redirect(routes.LOGIN, replace=True)
        ticket = params.get("ticket", "")
        if not ticket and params.get("next"):
            # The end of a hand-off: the cookie is set and this page's socket carries it.
            return rx.redirect(self._next(), replace=True)
        with system_scope("OAuth login ticket") as db:
            for state in reversed(self._oauth_states):
                result = accounts.take_login_ticket(db, ticket=ticket, binding=state)
                if result is not None:
                    self._oauth_states = [s for s in self._oauth_states if s != state]
                    break
            else:
                self._flash = TICKET_REFUSED
                return rx.redirect(routes.LOGIN, replace=True)
            user_id, next_path = result
            self._adopt_browser_timezone(db, user_id)
            return self._finish_login(db, user_id=user_id, next_path=next_path)

    def _adopt_browser_timezone(self, db, user_id: int) -> None:
        """After an OAuth login, use the zone the login page read from the browser if the
        account has none yet (the hand-off reloads the page, so it is done here)."""
        accounts.adopt_timezone(db, user_id=user_id, timezone=self._browser_tz)

    @rx.event
    async def log_out(self):
        """Revoke this login and forget it in the browser."""
        token, sid = self._login_token(), self.router.session.session_id
        user_id = await asyncio.to_thread(_end_login, token)
        self._clear()
        # Every tab of this login (this one and the browser's others, on every worker) leaves
        # every channel: the user's EXP pushes, rooms, chats; the others show the logout at
        # once. Other devices of the same user keep theirs.
        await realtime.leave_all(sid)
        if user_id is not None:
            await logins_ended(user_id, only=token, skip_sid=sid)
        # The HTTP route clears the (now dead) HttpOnly cookie; the full page load that
        # follows reconnects the tab without it.
        return rx.call_script(login_cookie.logout_script(routes.HOME))


# Each sign-up or login costs a password hash: it uses up a socket's event budget ten times
# faster than a keystroke (6 at once, then 2 a second with the defaults).
for _handler in ("sign_up", "log_in"):
    realtime.set_event_cost(f"{AuthState.get_full_name()}.{_handler}", 10)
