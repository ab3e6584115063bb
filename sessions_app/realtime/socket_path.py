"""A tab's socket goes straight to socket.io, not through three Starlette stacks.

Reflex 0.10.1 serves the backend as nested Starlette apps: its top app (lifespan, CORS, its
context middleware) mounts the app's ``api_transformer`` chain (our ``api`` Starlette and the
security-headers wrapper), which mounts Reflex's own API app, which mounts socket.io at
``/_event``. An HTTP request passes through and is done; a WebSocket stays inside every
layer for as long as the tab is open: three Starlette apps with their error, CORS and
exception middlewares, routers and mounts — about 35 live coroutines, their closures and
scope copies, ~10 KB per connected tab (measured with tracemalloc). None of these layers does
anything for a WebSocket: Starlette's CORS and error middlewares and the security headers
pass WebSocket scopes through untouched (socket.io checks the origin itself), and no route
but socket.io's takes one.

``install(app)`` wraps the ASGI app Reflex builds (``App.__call__``, which the server calls
once per worker) in a dispatcher that hands WebSocket scopes for the event path to the same
socket app Reflex mounted there (its subprotocol header fix included), after attaching
Reflex's contexts as its context middleware would. Everything else — HTTP, lifespan, a
WebSocket on another path — takes Reflex's stack as before. After the accept, the socket's
frames skip the subprotocol fix's ``send`` wrapper (``realtime.frame_send``).

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
from reflex_base.config import get_config
from reflex_base.constants.event import Endpoint
from starlette.routing import Mount

from sessions_app.realtime import frame_send

Asgi = Callable[[dict, Any, Any], Awaitable[None]]

_reflex_call = rx.App.__call__


def event_path() -> str:
    """The path Reflex mounts socket.io at (``/_event``, behind a backend path if set)."""
    return get_config().prepend_backend_path(str(Endpoint.EVENT))


def mounted_socket_app(app: rx.App) -> Asgi:
    """The app Reflex mounted at the event path (socket.io in its subprotocol wrapper)."""
    path = event_path()
    for route in app._api.routes:
        if isinstance(route, Mount) and route.path == path:
            return route.app
    raise RuntimeError(f"Reflex mounted nothing at {path}")


def direct(app: rx.App, stack: Asgi, socket_app: Asgi, path: str) -> Asgi:
    """An ASGI app: WebSockets on ``path`` (or below it) go to ``socket_app`` with Reflex's
    contexts attached; every other scope goes to ``stack``."""
    below = path.rstrip("/") + "/"

    async def dispatch(scope: dict, receive, send) -> None:
        if scope["type"] == "websocket":
            route = scope["path"]
            root = scope.get("root_path", "")
            if root and route.startswith(root):
                route = route[len(root):]
            if route == path or route.startswith(below):
                app._set_contexts_internal()  # what Reflex's _ContextMiddleware does
                scope[frame_send.RAW_SEND] = send  # the frames skip Reflex's accept wrapper
                await socket_app(scope, receive, send)
                return
        await stack(scope, receive, send)

    dispatch.reflex_stack = stack  # for tests and debugging
    return dispatch


def install(app: rx.App) -> None:
    """Serve ``app``'s sockets directly (idempotent; other App instances are untouched)."""

    def __call__(self: rx.App) -> Asgi:
        stack = _reflex_call(self)
        if self is not app:
            return stack
        frame_send.install(self.sio)
        return direct(self, stack, mounted_socket_app(self), event_path())

    rx.App.__call__ = __call__
