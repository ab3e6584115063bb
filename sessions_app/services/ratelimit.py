"""Server-side rate limits built on the ``limits`` library.

Memory storage by default (one process); set ``RATE_LIMIT_STORAGE`` to a ``redis://`` URL when
running several workers so every worker counts the same hits.
"""

from __future__ import annotations

from functools import lru_cache

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from sessions_app.services.errors import RateLimited
from sessions_app.settings import get_settings


@lru_cache
def _limiter() -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(get_settings().rate_limit_storage))


def hit(rule: str, *keys: str, message: str) -> None:
    """Count one attempt under ``rule`` for each key; raise ``RateLimited`` if any is over.

    Args:
        rule: A limit such as ``"5/5second"``.
        *keys: Identities to count against (an email, a client, a user id...).
        message: What to tell the student when refused.
    """
    limit = parse(rule)
    limiter = _limiter()
    allowed = True
    for key in keys:
        # Count every key even once one is over, so a burst is charged to all of them.
        allowed = limiter.hit(limit, key) and allowed
    if not allowed:
        raise RateLimited(message)


def storage():
    """The counters' storage (memory or Redis), for policies that need more than a window
    (``login_guard``: failure counts and backoff)."""
    return _limiter().storage


def reset() -> None:
    """Forget every counter (tests)."""
    _limiter().storage.reset()
