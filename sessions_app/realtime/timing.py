"""Background tasks and timing for ``realtime``: batched calls, runs at an anchor's end time.

    ``coalesce(key, delay, fn)``   batch bursts into one call
    ``debounce(key, quiet, longest, fn)``  one call once a burst pauses (or has lasted ``longest``)
    ``schedule(key, when, fn)``    run at an anchor's end time (re-checked when the test clock moves)
    ``cancel(key)``                drop a scheduled run

Every task runs as the system (it acts for no user) and logs its failure instead of vanishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sessions_app import db
from sessions_app.models.base import utcnow

log = logging.getLogger("sessions.realtime")

_coalesced: dict[str, asyncio.Task] = {}
# key → [when its burst's first request came, when its last one came] (loop time).
_debounced: dict[str, list] = {}
_scheduled: dict[str, asyncio.Task] = {}
_background: set[asyncio.Task] = set()
# Set (and replaced) whenever the test clock moves, so scheduled runs re-check their time.
_clock_moved = asyncio.Event()


async def _as_system(coro):
    # Background work (presence after a disconnect, phase ends, batched pushes, periodic jobs)
    # acts for no user: its transactions run as the system (db.py, docs/rls.md).
    with db.as_system("background work started by realtime"):
        return await coro


def _spawn(coro) -> asyncio.Task:
    task = asyncio.create_task(_as_system(coro))
    _background.add(task)
    task.add_done_callback(_finished)
    # A task cancelled before its first step (``schedule`` replacing a run it queued in the
    # same moment) never starts ``coro``: close it, or Python warns "never awaited" in the log.
    task.add_done_callback(lambda t: coro.close() if t.cancelled() else None)
    return task


def _finished(task: asyncio.Task) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("realtime task failed", exc_info=task.exception())


def coalesce(key: str, delay: float, fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn`` once, ``delay`` seconds from the first request under ``key``: a burst of
    joins becomes one member-list broadcast."""
    if key in _coalesced and not _coalesced[key].done():
        return

    async def run() -> None:
        await asyncio.sleep(delay)
        _coalesced.pop(key, None)
        await fn()

    _coalesced[key] = _spawn(run())


def debounce(key: str, quiet: float, longest: float, fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn`` once the requests under ``key`` pause for ``quiet`` seconds, or ``longest``
    seconds after the first request of the burst, whichever comes first. A request made while
    ``fn`` runs starts the next burst. A join storm of 200 sends a member list about once a
    second while the joins keep coming and one ``quiet`` after the last, not one every
    ``quiet``: each list goes to every tab already there."""
    now = asyncio.get_running_loop().time()
    if (entry := _debounced.get(key)) is not None:
        entry[1] = now
        return
    entry = _debounced[key] = [now, now]

    async def run() -> None:
        loop = asyncio.get_running_loop()
        try:
            while (wait := min(entry[1] + quiet, entry[0] + longest) - loop.time()) > 0:
                await asyncio.sleep(wait)
        finally:
            if _debounced.get(key) is entry:
                del _debounced[key]
        await fn()

    _spawn(run())


def schedule(key: str, when: datetime, fn: Callable[[], Awaitable[None]]) -> None:
    """Run ``fn`` at ``when`` (replacing any earlier schedule under ``key``): phase ends
    happen on time without polling."""
    if (old := _scheduled.pop(key, None)) is not None:
        old.cancel()

    async def run() -> None:
        await _sleep_until(when)
        _scheduled.pop(key, None)
        await fn()

    _scheduled[key] = _spawn(run())


async def _sleep_until(when: datetime) -> None:
    """Sleep until ``utcnow()`` reaches ``when``, re-checking whenever the test clock moves."""
    while (left := (when - utcnow()).total_seconds()) > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_clock_moved.wait(), left)


def clock_moved() -> None:
    """The test clock jumped: every scheduled run re-checks how long it still has to wait."""
    global _clock_moved
    moved, _clock_moved = _clock_moved, asyncio.Event()
    moved.set()


def cancel(key: str) -> None:
    """Drop a scheduled run (a room closed)."""
    if (old := _scheduled.pop(key, None)) is not None:
        old.cancel()
