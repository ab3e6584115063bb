"""A lane: ONE worker thread that runs one kind of blocking work, in order, off the event loop.

The handler pool (``state.base.off_loop``) hands each job to whichever of its threads is idle,
so consecutive chat posts ran on four threads in turn, each of which had to fetch a pooled
database connection (SQLAlchemy's checkout, then its reset on return) and ran with cold
caches. SQLite takes one writer at a time anyway, so the chat's writes lose nothing by
queueing on one thread; that thread keeps one connection of the app's engine checked out
(``HeldConnection``) and hands each job's result back with a single loop wake-up
(``loop.call_soon_threadsafe``), without ``concurrent.futures``' future and its chaining.

A job runs in a copy of the caller's context (as ``off_loop`` does): what it sets stays
behind in the job. The thread starts on first use and is a daemon (nothing to join at exit).
A job whose awaiting task is cancelled still runs to its end (as in any thread pool); its
result is dropped.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")
log = logging.getLogger("sessions.lane")


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting task was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Lane:
    """One named worker thread and its queue of jobs."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def run(self, fn: Callable[..., T], /, *args, **kwargs) -> T:
        """``fn(*args, **kwargs)`` on the lane's thread, after the jobs queued before it."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if self._thread is None:
            self._start()
        self._jobs.put((loop, future, contextvars.copy_context(), fn, args, kwargs))
        return await future

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                thread.start()
                self._thread = thread

    def _work(self) -> None:
        while True:
            loop, future, ctx, fn, args, kwargs = self._jobs.get()
            result, error = None, None
            try:
                result = ctx.run(fn, *args, **kwargs)
            except BaseException as err:  # handed to the awaiting task, as a pool would
                error = err
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the loop is closed: nobody waits any more
                log.debug("lane %s: a job finished after its loop closed", self.name)
            del loop, future, ctx, fn, args, kwargs, result, error


class HeldConnection:
    """A pooled DB-API connection of an engine that one thread keeps checked out between jobs
    (for a lane's thread only: it is not shared between threads).

    ``get(engine)`` returns the held connection (the engine's connect-time pragmas applied
    when the pool made it), taking a fresh one when none is held or the engine changed (tests
    swap engines); ``drop()`` gives it back to its pool — after a failed job, whose connection
    may be broken or inside a transaction (the pool's reset on return rolls it back)."""

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._conn = None

    def get(self, engine: Engine):
        if self._conn is None or self._engine is not engine:
            self.drop()
            self._conn, self._engine = engine.raw_connection(), engine
        return self._conn

    def drop(self) -> None:
        conn, self._conn, self._engine = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a broken connection: the pool discards it
                log.warning("lane: closing a held connection failed", exc_info=True)
