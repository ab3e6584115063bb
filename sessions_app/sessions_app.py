"""The Reflex app: theme, pages, extra HTTP routes and lifespan tasks."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import reflex as rx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from sessions_app import gc_pauses, login_cookie, oauth, realtime, routes
from sessions_app.calendar_routes import CALENDAR_ROUTE
from sessions_app.db import system_scope
from sessions_app.live import chat as live_chat
from sessions_app.pages import (
    account,
    auth,
    landing,
    legacy,
    lobby,
    recovery,
    rooms,
    session_detail,
    session_form,
    sessions_list,
)
from sessions_app.security_headers import with_security_headers
from sessions_app.services import accounts
from sessions_app.services.errors import ServiceError
from sessions_app.settings import get_settings
from sessions_app.state import call as call_state
from sessions_app.state import (
    page_load,
    timer_actions,  # noqa: F401 - registers the host's fast timer action
)
from sessions_app.state import room as room_state
from sessions_app.state import room_early as room_early  # the entry with the connect
from sessions_app.state.scheduled.detail import SessionDetailState
from sessions_app.testclock import routes as test_clock_routes

PURGE_SECONDS = 600


async def oauth_callback(request: Request) -> RedirectResponse:
    """The provider sends the browser here; finish the login and hand over a one-time ticket."""
    provider = request.path_params["provider"]
    public = get_settings().public_url.rstrip("/")
    try:
        with system_scope("OAuth callback") as db:
            ticket = await oauth.finish(db, provider=provider, code=request.query_params.get("code", ""),
                                        state=request.query_params.get("state", ""))
    except ServiceError as err:
        return RedirectResponse(f"{public}{routes.AUTH_COMPLETE}?{urlencode({'error': err.message})}", 303)
    return RedirectResponse(f"{public}{routes.AUTH_COMPLETE}?{urlencode({'ticket': ticket})}", 303)


api = Starlette(routes=[Route("/auth/{provider}/callback", oauth_callback), CALENDAR_ROUTE,
                        *login_cookie.LOGIN_ROUTES])

app = rx.App(
    head_components=[rx.el.meta(name="color-scheme", content="dark"),
                     rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
    # The routes above, then security headers around everything the backend serves (in
    # --single-port production that includes the compiled pages).
    api_transformer=[api, with_security_headers],
    sio=realtime.make_sio(get_settings()),  # None (Reflex's own) unless REFLEX_REDIS_URL is set
    stylesheets=["/cosmetics.css"],  # name colours, avatar borders, room backgrounds (data-cosmetic)
)



# Pages that keep a tab in a live channel, and the handler that takes it out again when the
# tab goes anywhere else (Reflex has no on-unload): every other page runs them on load.
AWAY_HOOKS = [(routes.ROOM, room_state.RoomPageState.leave_if_away),
              (routes.SESSION, SessionDetailState.leave_if_away),
              ((routes.ROOM, routes.SESSION), call_state.CallState.leave_if_away)]


def _register(spec: dict) -> None:
    """Add a page; on load it first ends this tab's stay in any live page it has left. The
    hooks and the page's own load steps run as ONE server event (``state.page_load``)."""
    on_load = spec.get("on_load") or []
    on_load = on_load if isinstance(on_load, list) else [on_load]
    away = [hook for route, hook in AWAY_HOOKS if spec["route"] not in (route if isinstance(route, tuple) else (route,))]
    steps = [*away, *on_load]
    app.add_page(**{**spec, "on_load": page_load.register(spec["route"], steps, idle_at_defaults=away) if len(steps) > 1 else steps})


for spec in [landing.PAGE, lobby.PAGE, *auth.PAGES, *account.PAGES, *rooms.PAGES, *sessions_list.PAGES,
             *session_form.PAGES, *session_detail.PAGES, *recovery.PAGES, *legacy.PAGES]:
    _register(spec)

realtime.init(app, grace_seconds=get_settings().presence_grace_seconds)
realtime.hold_back_cookie(login_cookie.LOGIN_COOKIE)
gc_pauses.install(app)  # full collections skip what the worker holds for life


def _purge_expired() -> None:
    with system_scope("purge expired logins and OAuth states") as db:
        oauth.purge_expired_states(db)
        accounts.purge_expired_logins(db)


async def purge_expired() -> None:
    """Unfinished OAuth logins, used-up hand-offs and expired logins leave the database."""
    await asyncio.to_thread(_purge_expired)


realtime.every(PURGE_SECONDS, purge_expired, first_delay=30)
room_state.install()
live_chat.install()  # pruning of the chats' change logs
call_state.install()
# The test-only clock (/_test/clock): registered only when SESSIONS_ENV=test.
api.routes.extend(test_clock_routes())
