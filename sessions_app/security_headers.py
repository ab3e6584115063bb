"""Security headers on every HTTP response of the backend (an ASGI middleware).

The backend answers ``/ping``, the OAuth and login routes, the calendar feed and — in
production's ``--single-port`` mode — the compiled frontend itself, so wrapping it covers
every page. WebSocket traffic passes through untouched.

The Content-Security-Policy is the tightest one the compiled Reflex app runs under without
a console error (checked by ``tests/e2e/test_security_headers.py``):

- ``script-src 'self' 'unsafe-eval' 'sha256-…'``: the compiled pages bootstrap from inline
  ``<script>`` blocks (React Router's context, React's streaming helpers) that change with
  every build and Reflex's static export has no nonces, so the middleware hashes the inline
  scripts of each HTML page it sends and allows exactly those — no ``'unsafe-inline'`` for
  scripts (it falls back to it only for an HTML body it cannot read, such as an unknown
  content encoding). ``'unsafe-eval'`` stays: Reflex runs ``rx.call_script`` (time zones,
  the login hand-off) and event callbacks through ``eval``.
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

import asyncio
import base64
import gzip
import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
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


_INLINE_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP source expressions (``'sha256-…'``) for every inline script of an HTML page."""
    hashes = []
    for attrs, body in _INLINE_SCRIPT.findall(html):
        if re.search(rb"\bsrc\s*=", attrs):
            continue
        hashes.append(f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'")
    return list(dict.fromkeys(hashes))


def content_security_policy(settings: Settings, script_hashes: list[str] | None = None) -> str:
    """The CSP for this deployment (the backend origin may differ from the page's).

    ``script_hashes``: the inline scripts a page may run; None allows any inline script
    (only for an HTML page whose body could not be read).
    """
    # The calls' SFU (Janus) WebSocket, when configured: browsers publish and subscribe there.
    sfu = [f"{p.scheme}://{p.netloc}"] if (p := urlsplit(settings.janus_ws_url)).scheme in ("ws", "wss") else []
    connect = " ".join(dict.fromkeys(["'self'", *_origins(settings.backend_url), *_origins(settings.public_url),
                                      *sfu]))
    inline = "'unsafe-inline'" if script_hashes is None else " ".join(script_hashes)
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' 'unsafe-eval' {inline}".rstrip(),
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


def security_headers(settings: Settings, script_hashes: list[str] | None = None) -> list[tuple[bytes, bytes]]:
    """The headers every HTTP response gets (``script_hashes``: see ``content_security_policy``)."""
    headers = {
        "content-security-policy": content_security_policy(settings, script_hashes),
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "permissions-policy": "camera=(self), microphone=(self), geolocation=()",
    }
    if settings.public_url.startswith("https://"):
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return [(k.encode(), v.encode()) for k, v in headers.items()]


def _html_hashes(headers: list[tuple[bytes, bytes]], body: bytes) -> list[str] | None:
    """The inline-script hashes of an HTML body as sent (plain or gzip), None if unreadable."""
    encoding = next((v for k, v in headers if k.lower() == b"content-encoding"), b"identity").strip().lower()
    try:
        if encoding == b"gzip":
            body = gzip.decompress(body)
        elif encoding != b"identity":
            return None
    except (OSError, EOFError):
        return None
    return inline_script_hashes(body)


def with_security_headers(app: ASGIApp) -> ASGIApp:
    """Wrap an ASGI app so every HTTP response carries ``security_headers`` (a header the
    app set itself wins). HTML responses are held until their body is complete, to hash
    their inline scripts into the CSP."""
    settings = get_settings()
    extra = security_headers(settings, [])

    def merged(own: list[tuple[bytes, bytes]], add: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = {name.lower() for name, _ in own}
        return [*own, *(h for h in add if h[0] not in names)]

    async def wrapped(scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_with_headers(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if message.get("status") == 304:
                    # A browser merges a 304's headers into its cached copy: a CSP here
                    # (without the page's script hashes) would replace the page's own.
                    message["headers"] = merged(headers, [h for h in extra if h[0] != b"content-security-policy"])
                    await send(message)
                    return
                is_html = any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers)
                if not is_html:
                    message["headers"] = merged(headers, extra)
                    await send(message)
                    return
                start = message  # held until the body is complete
                return
            if start is not None and message["type"] == "http.response.pathsend":
                # A file response sent by path (the ASGI pathsend extension): hash the file.
                own = list(start.get("headers", []))
                body = await asyncio.to_thread(Path(message["path"]).read_bytes)
                start["headers"] = merged(own, security_headers(settings, _html_hashes(own, body)))
                await send(start)
                await send(message)
                return
            if start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                own = list(start.get("headers", []))
                start["headers"] = merged(own, security_headers(settings, _html_hashes(own, body)))
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await app(scope, receive, send_with_headers)

    return wrapped
