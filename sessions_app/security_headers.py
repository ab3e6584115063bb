"""Security headers on every HTTP response of the backend (an ASGI middleware).

The backend answers ``/ping``, the OAuth and login routes, the calendar feed and — in
production's ``--single-port`` mode — the compiled frontend itself, so wrapping it covers
every page. WebSocket traffic passes through untouched.

The Content-Security-Policy is the tightest one the compiled Reflex app runs under without
a console error (checked by ``tests/e2e/test_security_headers.py``):

- ``script-src 'self' 'unsafe-inline' 'unsafe-eval'``: the React Router build bootstraps from
  inline ``<script>`` blocks whose content changes with every build (no nonce support in
  Reflex's static export), and Reflex runs ``rx.call_script`` (time zones, the login
  hand-off) and event callbacks through ``eval``.
- ``style-src 'self' 'unsafe-inline'``: Radix Themes and Emotion set inline styles.
- ``img-src 'self' data: https:``: avatars come from the OAuth providers' image hosts
  (``http:`` too when the app itself is served over plain http).
- ``connect-src 'self'`` plus the backend's origin (http and ws): the event WebSocket.
- No frames, plugins or foreign forms: ``frame-ancestors 'none'`` (with ``X-Frame-Options``
  for old browsers), ``object-src 'none'``, ``base-uri 'self'``, ``form-action 'self'``.

HSTS is sent only when ``PUBLIC_URL`` is https (on plain http it would be ignored, and on a
local http setup it would only confuse).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from sessions_app.settings import Settings, get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def _origins(url: str) -> list[str]:
    """The http(s) origin of ``url`` and its ws(s) twin (for the event socket)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return []
    ws = "wss" if parts.scheme == "https" else "ws"
    return [f"{parts.scheme}://{parts.netloc}", f"{ws}://{parts.netloc}"]


def content_security_policy(settings: Settings) -> str:
    """The CSP for this deployment (the backend origin may differ from the page's)."""
    connect = " ".join(dict.fromkeys(["'self'", *_origins(settings.backend_url), *_origins(settings.public_url)]))
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        # Plain-http avatars only where the page itself is plain http (an https page would
        # block them as mixed content anyway).
        "img-src 'self' data: https:" + ("" if settings.public_url.startswith("https://") else " http:"),
        "font-src 'self' data:",
        f"connect-src {connect}",
        "media-src 'self' data: blob:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every HTTP response gets."""
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "permissions-policy": "camera=(self), microphone=(self), geolocation=()",
    }
    if settings.public_url.startswith("https://"):
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return [(k.encode(), v.encode()) for k, v in headers.items()]


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI app so every HTTP response carries ``security_headers`` (a header the
    app set itself wins)."""
    extra = security_headers(get_settings())

    async def wrapped(scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in extra if h[0] not in own)]
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
