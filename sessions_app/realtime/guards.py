"""Connection guards, installed on Reflex's event namespace by ``realtime``.

* Token refusal: only tab-shaped client tokens (a uuid4, as Reflex's frontend makes them)
  may connect, so nobody connects *as* a shared state's key.
* Event budget: a token bucket per socket in front of every handler.
* Cookie hold-back: the HttpOnly login cookie is taken out of the cached handshake headers
  (which Reflex copies into persisted state) and kept per socket in server memory.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import urllib.parse

import socketio
from reflex import constants

log = logging.getLogger("sessions.realtime")

_event_costs: dict[str, float] = {}


def set_event_cost(handler: str, cost: float) -> None:
    """Charge ``cost`` events of a socket's budget for each call of ``handler`` (its full
    name): a handler that does expensive work (a password hash) uses up a flood's budget
    faster, so fewer of its calls reach even the rate limits."""
    _event_costs[handler] = float(cost)


class _Bucket:
    """A token bucket: ``burst`` events at once, refilled at ``rate`` per second."""

    __slots__ = ("tokens", "stamp", "refusing")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens, self.stamp, self.refusing = burst, now, False

    def take(self, burst: float, rate: float, now: float, cost: float = 1.0) -> bool:
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


def _install_event_budget(ns) -> None:
    """Put a per-socket event budget in front of EVERY handler: wrap the namespace's
    ``on_event`` (socket.io looks it up on the instance, and Reflex's connect calls it for the
    boot event too) with a token bucket per socket id (``EVENT_BURST``, ``EVENT_RATE``).

    A socket that floods is refused past its budget — the events are dropped before Reflex
    queues them, so they cost neither a state lock nor a handler — while every other socket
    keeps its own budget. Typing sends one event per keystroke, far below the rate. A refused
    burst is logged once (when it starts, and again only after the bucket has half refilled).
    """
    from sessions_app.settings import get_settings

    settings = get_settings()
    burst, rate = float(settings.event_burst), settings.event_rate
    buckets: dict[str, _Bucket] = {}
    original_event, original_disconnect = ns.on_event, ns.on_disconnect

    async def on_event(sid: str, data):
        now = time.monotonic()
        bucket = buckets.get(sid)
        if bucket is None:
            bucket = buckets[sid] = _Bucket(burst, now)
        # Reflex's frontend sends dicts; a JSON string (which Reflex also parses) is charged
        # as the costliest event rather than parsed twice.
        cost = (_event_costs.get(data.get("name"), 1.0) if isinstance(data, dict)
                else max(_event_costs.values(), default=1.0))
        if not bucket.take(burst, rate, now, cost):
            if not bucket.refusing:
                bucket.refusing = True
                log.warning("socket %s is over its event budget (%d at once, %.0f/s): refusing its events",
                            sid, burst, rate)
            return None
        if bucket.refusing and bucket.tokens >= burst / 2:
            bucket.refusing = False  # the burst is over: log the next one again
        return await original_event(sid, data)

    def on_disconnect(sid: str, *reason):
        buckets.pop(sid, None)
        return original_disconnect(sid, *reason)

    ns.on_event, ns.on_disconnect = on_event, on_disconnect


# --- who may connect ---------------------------------------------------------------------------

# Reflex's frontend makes a tab's token with ``generateUUID()`` (reflex_base/.templates/web/
# utils/state.js): the uuid4 layout in lower-case hex, but its variant digit is
# ``(r & 0x7) | 0x8``, i.e. 8-f (half of real tabs have c-f, which a strict uuid4 check
# would refuse). The server hands out ``str(uuid.uuid4())`` for a duplicated tab (8-b).
_TAB_TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89a-f][0-9a-f]{3}-[0-9a-f]{12}")


def is_tab_token(token: object) -> bool:
    """Whether ``token`` looks like a token a browser tab made for itself (a uuid4)."""
    return isinstance(token, str) and _TAB_TOKEN.fullmatch(token) is not None


def _guard_connect(ns) -> None:
    """Refuse, before Reflex sees it, every socket whose ``?token=`` is not a tab token.

    Reflex takes the client token as given, and a socket connecting with the key of a shared
    state (``room-42``) would hydrate that state. The refusal happens before Reflex's own
    ``on_connect`` runs, so nothing is registered for the socket (no token link, no router
    data, no hydrate); python-socketio answers with a connect error and calls no disconnect.
    """
    original = ns.on_connect

    async def on_connect(sid: str, environ: dict, auth=None):
        tokens = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("token", [])
        if len(tokens) != 1 or not is_tab_token(tokens[0]):
            log.warning("refused a socket whose client token is not a tab token")
            raise socketio.exceptions.ConnectionRefusedError("invalid client token")
        return await original(sid, environ, auth)

    ns.on_connect = on_connect


# --- a credential cookie kept off the state -------------------------------------------------

# Per socket: the value of the held-back cookie from its handshake (server memory only).
_held_cookies: dict[str, str] = {}


def _split_cookie(header: str, name: str) -> tuple[str, str]:
    """``(value of name, header without it)``; the first value wins (browsers send the most
    specific path first)."""
    value, kept = "", []
    for part in header.split(";"):
        key, sep, val = part.strip().partition("=")
        if key == name and sep:
            value = value or val.strip().strip('"')
        elif part.strip():
            kept.append(part.strip())
    return value, "; ".join(kept)


def install_cookie_hold(ns, name: str) -> None:
    """Take the cookie ``name`` out of each socket's cached handshake headers (see
    ``realtime.hold_back_cookie``) and keep its value per socket for ``held_cookie``."""
    build, disconnect = ns._build_static_router_data, ns.on_disconnect

    def build_static_router_data(sid: str, environ: dict) -> dict:
        data = build(sid, environ)
        headers = data.get(constants.RouteVar.HEADERS) or {}
        value, rest = _split_cookie(headers.get("cookie", ""), name)
        if rest:
            headers["cookie"] = rest
        else:
            headers.pop("cookie", None)
        _held_cookies[sid] = value
        return data

    def on_disconnect(sid: str, *reason):
        _held_cookies.pop(sid, None)
        return disconnect(sid)

    ns._build_static_router_data = build_static_router_data
    ns.on_disconnect = on_disconnect


def held_cookie(sid: str) -> str:
    """The held-back cookie this socket presented when it connected ("" if none)."""
    return _held_cookies.get(sid, "") if sid else ""


def cookie_digest(value: str) -> str:
    """A held cookie as it may travel between workers (through Redis): its SHA-256, "" for none."""
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def holds_ended_login(sid: str, ended: dict) -> bool:
    """Whether this worker's socket ``sid`` presented a login that ``ended`` describes (digests,
    ``cookie_digest``): ``{"only": d}`` that one login, ``{"keep": d}`` every login but that
    one, ``{}`` every login."""
    held = cookie_digest(held_cookie(sid))
    if ended.get("only"):
        return held == ended["only"]
    return not ended.get("keep") or held != ended["keep"]
