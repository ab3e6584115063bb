"""Login throttling: FAILED attempts only, with growing delays, keyed so that nobody can
lock an account's owner out of their usual browser.

The old rule (N attempts a minute per email and per IP, counted before the password was
checked) let anyone who knew an email lock its owner out, and ten failures by anyone behind
one NAT lock out everyone there. The policy now (after OWASP's "device cookie" scheme):

* **Known device.** A successful login or sign-up gives the browser a device token:
  ``nonce.HMAC(secret, user id, nonce)``. It is not a credential (it logs nobody in); it
  only proves "this browser has logged into this account before". A client presenting a
  valid token for the account its email names counts failures under (email, device) alone —
  nothing an attacker does from elsewhere slows it. We chose a signed device token over
  "a hashed IP remembered on success" because an IP is shared: behind a NAT or a proxy the
  attacker would inherit the owner's "known" status, and the owner the attacker's failures.
  Signed and stateless, it needs no table and cannot be forged without the server secret.
* **Unknown client** (no valid token: a new browser, or anyone else). Failures count under
  (email, client IP) — the per-client key: one bad actor only slows himself —, under the email
  across every unknown client (a distributed guesser still gets few tries at one account) and
  under the client IP across every email (credential stuffing from one address). The two
  shared keys allow more free failures, and the per-IP key caps its delay at a minute, so
  NAT neighbours on a new device are at most briefly slowed, never locked out.

Each key allows ``LOGIN_FREE_FAILURES`` (× its factor) failures in a window; every further
failure blocks the key for ``2^(n - free)`` seconds, capped (``LOGIN_MAX_DELAY``). While a key
is blocked an attempt is refused before the password is checked (no hashing work either). A
success clears the per-client keys, not the email's shared counter (the owner logging in must
not reset an attacker's backoff).

Counters key on the email *string*, never on whether an account exists, and the refusal reads
the same either way: throttling reveals nothing about which emails have accounts. Keys are
hashed, so the rate-limit store (Redis when scaled out) holds no emails or IPs.

Behind a reverse proxy every client has the proxy's IP unless Reflex is told how many proxies
to trust (``REFLEX_TRUSTED_PROXY_HOPS``, see the README).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass

from sessions_app.services import ratelimit
from sessions_app.services.errors import RateLimited
from sessions_app.settings import get_settings

# Failure counters forget an hour after the first failure they count.
WINDOW_SECONDS = 3600
# Free failures of the shared keys, as multiples of LOGIN_FREE_FAILURES.
EMAIL_FACTOR = 4
IP_FACTOR = 10
# The per-IP key never blocks longer than this: it is shared by everyone behind one address.
IP_MAX_DELAY = 60.0


@dataclass(frozen=True)
class Key:
    """One failure counter: its name, free failures and longest delay."""

    name: str
    free: int
    max_delay: float
    clear_on_success: bool


@dataclass(frozen=True)
class Attempt:
    """The counters one login attempt is judged by."""

    keys: tuple[Key, ...]


def _now() -> float:
    """Wall-clock seconds (a function so tests can move time on)."""
    return time.time()


def _h(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# --- device tokens ----------------------------------------------------------------------------


def _device_sig(user_id: int, nonce: str) -> str:
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"login-device:{user_id}:{nonce}".encode(), hashlib.sha256).hexdigest()[:32]


def issue_device_token(user_id: int) -> str:
    """A device token for a browser that just logged into ``user_id`` (kept in a cookie)."""
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_device_sig(user_id, nonce)}"


def known_device(token: object, user_id: int | None) -> str | None:
    """The device's id if ``token`` was issued to this browser for ``user_id``, else None."""
    if user_id is None or not isinstance(token, str) or len(token) > 100 or token.count(".") != 1:
        return None
    nonce, sig = token.split(".")
    if nonce and hmac.compare_digest(sig, _device_sig(user_id, nonce)):
        return nonce
    return None


# --- the policy -------------------------------------------------------------------------------


def attempt(email_key: str, client: str, device: str | None) -> Attempt:
    """The counters for a login to ``email_key`` from ``client`` (an IP), ``device`` being the
    id from ``known_device`` (None for an unknown client)."""
    settings = get_settings()
    free, cap = settings.login_free_failures, settings.login_max_delay
    if device is not None:
        return Attempt((Key(f"login:dev:{_h(email_key, device)}", free, cap, True),))
    return Attempt((
        Key(f"login:client:{_h(email_key, client)}", free, cap, True),
        Key(f"login:email:{_h(email_key)}", free * EMAIL_FACTOR, cap, False),
        Key(f"login:ip:{_h(client)}", free * IP_FACTOR, min(cap, IP_MAX_DELAY), False),
    ))


def delay_after(failures: int, free: int, max_delay: float) -> float:
    """Seconds a key stays blocked after its ``failures``-th failure: none while within the
    free failures, then 1, 2, 4, 8 … seconds, at most ``max_delay``."""
    if failures <= free:
        return 0.0
    return min(max_delay, 2.0 ** min(failures - free - 1, 30))


def check(att: Attempt) -> None:
    """Refuse (``RateLimited``, saying when to retry) while any of the keys is blocked."""
    storage = ratelimit.storage()
    now_ms = int(_now() * 1000)
    wait = 0.0
    for key in att.keys:
        until_ms = storage.get(key.name + ":until")
        if until_ms > now_ms:
            wait = max(wait, min((until_ms - now_ms) / 1000, key.max_delay))
    if wait > 0:
        raise RateLimited(_retry_message(wait))


def failed(att: Attempt) -> None:
    """Count a failure under every key and block those past their free failures."""
    storage = ratelimit.storage()
    now = _now()
    for key in att.keys:
        count = storage.incr(key.name, WINDOW_SECONDS)
        delay = delay_after(count, key.free, key.max_delay)
        if delay > 0:
            # The block is stored as its end time (ms) and ``check`` compares it with _now();
            # the entry goes with the failure window.
            storage.clear(key.name + ":until")
            storage.incr(key.name + ":until", WINDOW_SECONDS, amount=int((now + delay) * 1000))


def succeeded(att: Attempt) -> None:
    """The right password: forget this client's failures (not the shared counters)."""
    storage = ratelimit.storage()
    for key in att.keys:
        if key.clear_on_success:
            storage.clear(key.name)
            storage.clear(key.name + ":until")


def _retry_message(seconds: float) -> str:
    if seconds <= 90:
        n, unit = max(1, math.ceil(seconds)), "second"
    else:
        n, unit = math.ceil(seconds / 60), "minute"
    when = f"{n} {unit}" if n == 1 else f"{n} {unit}s"
    return f"Too many failed logins. Try again in {when}."
