"""The login cookie: set and cleared by the server over plain HTTP, never by page JavaScript.

A login is an opaque random token (only its hash is in the database). It lives in the
``sessions_token`` cookie: HttpOnly (page scripts cannot read it), SameSite=Lax, Secure when
``PUBLIC_URL`` is https. It is never in a Reflex state var, a state file or a WebSocket frame:
the server reads it from the socket's handshake (``realtime.hold_back_cookie``).

A socket's cookies are fixed when it connects, so logging in ends with an HTTP hop:
the event handler that checked the password (or redeemed an OAuth ticket) issues a one-time
hand-off ticket bound to a random nonce, puts the nonce in a short-lived cookie and sends the
browser to ``GET /auth/session?ticket=…``. That route needs both (a hand-off link opened in
another browser logs nobody in: login CSRF), starts the login, sets the cookie and redirects
to the page the student was going to (via ``/auth/complete?next=…``); the full page load
opens a new socket that carries it.

Logging out revokes the login in the event handler, then ``GET /auth/logout`` clears the
cookie. The route only clears a cookie whose login is already dead, so a link to it cannot
log anyone out.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from sessions_app import routes
from sessions_app.db import system_scope
from sessions_app.services import accounts
from sessions_app.services.tokens import new_token
from sessions_app.settings import get_settings

LOGIN_COOKIE = "sessions_token"
HANDOFF_COOKIE = "sessions_handoff"
SESSION_PATH = "/auth/session"
LOGOUT_PATH = "/auth/logout"
# The hand-off nonce cookie outlives the hand-off ticket (60 s) a little.
HANDOFF_SECONDS = 120
TICKET_REFUSED = ("This login link expired, was already used or was started in another browser. "
                  "Start the login again.")


def _secure() -> bool:
    return get_settings().public_url.startswith("https://")


def _public(path: str) -> str:
    return get_settings().public_url.rstrip("/") + path


def _backend(path: str) -> str:
    return get_settings().backend_url.rstrip("/") + path


def handoff_script(db, *, user_id: int, next_path: str) -> str:
    """JavaScript that hands a fresh login over to the browser (inside the caller's transaction).

    The script stores the nonce in a cookie scoped to the hand-off route and then loads that
    route: a full navigation, so the page reconnects with the new cookie.
    """
    nonce = new_token()
    ticket = accounts.issue_login_ticket(db, user_id=user_id, next_path=next_path, binding=nonce)
    cookie = (f"{HANDOFF_COOKIE}={nonce}; Path={SESSION_PATH}; Max-Age={HANDOFF_SECONDS}; SameSite=Strict"
              + ("; Secure" if _secure() else ""))
    url = _backend(f"{SESSION_PATH}?{urlencode({'ticket': ticket})}")
    return f"document.cookie = {json.dumps(cookie)}; window.location.assign({json.dumps(url)});"


def logout_url(next_path: str = routes.HOME) -> str:
    """The route that clears a revoked login's cookie and goes on to ``next_path``."""
    return _backend(f"{LOGOUT_PATH}?{urlencode({'next': next_path})}")


def logout_script(next_path: str = routes.HOME) -> str:
    """JavaScript that loads the logout route (a full navigation: the page reconnects)."""
    return f"window.location.assign({json.dumps(logout_url(next_path))});"


def _redeem(ticket: str, nonce: str) -> tuple[str, str] | None:
    with system_scope("login hand-off ticket") as db:
        return accounts.redeem_login_ticket(db, ticket=ticket, binding=nonce)


async def start_session(request: Request) -> RedirectResponse:
    """``GET /auth/session?ticket=…``: the hand-off; sets the login cookie and goes on."""
    nonce = request.cookies.get(HANDOFF_COOKIE, "")
    result = await run_in_threadpool(_redeem, request.query_params.get("ticket", ""), nonce) if nonce else None
    if result is None:
        response = RedirectResponse(_public(f"{routes.AUTH_COMPLETE}?{urlencode({'error': TICKET_REFUSED})}"), 303)
    else:
        token, next_path = result
        # Through /auth/complete, whose on_load navigates on inside the page: a full load of
        # /lobby itself would end on /lobby/ (the static build's directory redirect).
        response = RedirectResponse(_public(f"{routes.AUTH_COMPLETE}?{urlencode({'next': accounts.safe_next(next_path)})}"), 303)
        response.set_cookie(LOGIN_COOKIE, token, max_age=get_settings().session_days * 86400, path="/",
                            secure=_secure(), httponly=True, samesite="lax")
    response.delete_cookie(HANDOFF_COOKIE, path=SESSION_PATH, secure=_secure(), httponly=False, samesite="strict")
    response.headers["Cache-Control"] = "no-store"
    return response


def _is_live(token: str) -> bool:
    with system_scope("is this login cookie live") as db:
        return accounts.user_for_token(db, token) is not None


async def end_session(request: Request) -> RedirectResponse:
    """``GET /auth/logout?next=…``: clear the cookie of a login that was revoked."""
    response = RedirectResponse(_public(accounts.safe_next(request.query_params.get("next", routes.HOME))), 303)
    token = request.cookies.get(LOGIN_COOKIE, "")
    if not token or not await run_in_threadpool(_is_live, token):
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=_secure(), httponly=True, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return response


# Register with the app's Starlette router (``api_transformer``).
LOGIN_ROUTES = [Route(SESSION_PATH, start_session, methods=["GET"]),
                Route(LOGOUT_PATH, end_session, methods=["GET"])]
