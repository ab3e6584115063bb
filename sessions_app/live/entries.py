"""Entries first: while rooms are being entered, page reads wait (a bounded time).

A room page load is an entry (a short write: the caller's stint) and then a read of the page.
In a join storm of 200 both kinds queue for the same few threads (and the one GIL) in the
order they were asked for, so the last tabs' entries waited behind the first tabs' reads —
and the member list, which needs only the entries (``presence.entered``), went out late.
Here a page read waits while other entries are running, at most ``READ_DEFER_LONGEST``
seconds: the entries commit first, everyone sees everyone, then the pages fill in. A lone
join never waits (its own entry is done when its read starts).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

READ_DEFER_LONGEST = 1.0
_running = 0
# (the loop, an event set while no entry runs): made per loop (tests run several loops).
_idle: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None


def _idle_event() -> asyncio.Event:
    global _idle
    loop = asyncio.get_running_loop()
    if _idle is None or _idle[0] is not loop:
        event = asyncio.Event()
        if not _running:
            event.set()
        _idle = (loop, event)
    return _idle[1]


@contextlib.asynccontextmanager
async def entering() -> AsyncIterator[None]:
    """Around an entry (the caller's lookup and stint): page reads wait until it is done."""
    global _running
    _running += 1
    _idle_event().clear()
    try:
        yield
    finally:
        _running -= 1
        if not _running:
            _idle_event().set()


async def reads_may_start() -> bool:
    """Wait until no entry is running (at most ``READ_DEFER_LONGEST`` seconds); whether it
    waited (this load is part of a burst of entries)."""
    if not _running:
        return False
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_idle_event().wait(), READ_DEFER_LONGEST)
    return True
