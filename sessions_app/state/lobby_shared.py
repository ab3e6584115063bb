"""One copy of what every lobby tab shows: the chat tail and the room cards.

Each lobby tab keeps its page's values in its own state (Reflex sends them from there, and
a reconnect re-sends them). The lobby chat's last 50 messages and the room cards are the
same for every tab that loaded them at the same moment, and each load read them afresh: with
a full tail, 50 ``MessageView``s (their strings, segment lists, dicts) per tab — tens of KB
per idle tab. ``one_copy`` hands every tab whose fresh read equals the last one the SAME
list object, so a thousand idle tabs hold one tail, not a thousand.

The sharing is safe because these lists are never changed in place: a tab's value is only
ever replaced by a new list (a load, a catch-up, "load older"), and broadcasts bypass the
state. A new read that differs (a post, a deletion, a count) becomes the copy the next loads
share; tabs that hold an older list keep it until they load again.

Plain Python (runs on the event loop, after the blocking read returns): no Reflex internals.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

_latest: dict[str, object] = {}


def one_copy(key: str, fresh: T) -> T:
    """``fresh``, or the equal value stored under ``key`` by an earlier call (so equal reads
    share one object); ``fresh`` becomes the stored value when it differs."""
    held = _latest.get(key)
    if held is not None and type(held) is type(fresh) and held == fresh:
        return held  # type: ignore[return-value]
    _latest[key] = fresh
    return fresh


def forget() -> None:
    """Drop every stored value (tests)."""
    _latest.clear()
