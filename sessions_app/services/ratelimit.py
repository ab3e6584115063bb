"""Server-side rate limits built on the ``limits`` library.

Memory storage by default (one process); set ``RATE_LIMIT_STORAGE`` to a ``redis://`` URL when
running several workers so every worker counts the same hits.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache

from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from sessions_app.services.errors import RateLimited
from sessions_app.settings import get_settings


class SweptMemoryStorage(MemoryStorage):
    """``limits``' memory storage, minus a thread per hit: the original schedules its expiry
    with a new ``threading.Timer`` (10 ms) whenever the last one has run — on a chat post,
    starting that thread cost more than the rest of the rate limit. Here expired entries are
    swept inline, at most once a second; a moving window checks times itself, so a late sweep
    only keeps memory a little longer."""

    SWEEP_SECONDS = 1.0
    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the name the base class calls
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()


@lru_cache
def _limiter() -> MovingWindowRateLimiter:
    url = get_settings().rate_limit_storage
    storage = SweptMemoryStorage() if url.startswith("memory://") else storage_from_string(url)
    return MovingWindowRateLimiter(storage)


@lru_cache(maxsize=64)
def _parsed(rule: str):
    # ``limits.parse`` runs a regex over the rule on every call; a chat post hits one rule.
    return parse(rule)


def hit(rule: str, *keys: str, message: str) -> None:
    """Count one attempt under ``rule`` for each key; raise ``RateLimited`` if any is over.

    Args:
        rule: A limit such as ``"5/5second"``.
        *keys: Identities to count against (an email, a client, a user id...).
        message: What to tell the student when refused; ``{wait}`` in it becomes how long
            until the window lets the next attempt through ("12 minutes").
    """
    limit = _parsed(rule)
    limiter = _limiter()
    over = []
    for key in keys:
        # Count every key even once one is over, so a burst is charged to all of them.
        if not limiter.hit(limit, key):
            over.append(key)
    if over:
        if "{wait}" in message:
            reset_at = max(limiter.get_window_stats(limit, key).reset_time for key in over)
            message = message.replace("{wait}", wait_text(reset_at - time.time()))
        raise RateLimited(message)


def wait_text(seconds: float) -> str:
    """A wait as a student reads it, rounded up: "a minute", "12 minutes", "an hour", "3 hours"."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes == 1:
        return "a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = math.ceil(minutes / 60)
    return "an hour" if hours == 1 else f"{hours} hours"


def storage():
    """The counters' storage (memory or Redis), for policies that need more than a window
    (``login_guard``: failure counts and backoff)."""
    return _limiter().storage


def reset() -> None:
    """Forget every counter (tests)."""
    _limiter().storage.reset()
