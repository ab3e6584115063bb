"""The injectable test clock: ``/_test/clock``, served only when ``SESSIONS_ENV=test``.

A scheduled session changes by itself at whole minutes (its chat opens 15 minutes before the
start, it ends at its end). An end-to-end test moves this worker's "now" instead of waiting for
the wall clock: ``POST /_test/clock`` with ``{"offset_seconds": 42.5}`` makes ``utcnow()`` run
that far ahead of the wall clock (0 puts it back); every scheduled run (session clocks, timer
phase ends) re-checks its time at once. ``GET`` answers ``{"now": ..., "offset_seconds": ...}``.

Outside ``SESSIONS_ENV=test`` the route is not registered at all, and the handler refuses as
well, so no deployment can move its clock. It moves one worker's clock: tests use it against
a single-worker app. ``TEST_CLOCK_OFFSET_SECONDS`` (also test-only) is the offset the app
starts with: a test that stops the server can bring it back as if it had been down that long,
instead of waiting for the wall clock.
"""

from __future__ import annotations

import math
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sessions_app import realtime
from sessions_app.models import base
from sessions_app.settings import get_settings

PATH = "/_test/clock"
MAX_OFFSET_SECONDS = 7 * 86400


def _enabled() -> bool:
    return get_settings().sessions_env == "test"


async def clock(request: Request) -> Response:
    """Read the app's clock, or (POST) set how far it runs ahead of the wall clock."""
    if not _enabled():
        return PlainTextResponse("Not Found", status_code=404)
    if request.method == "POST":
        try:
            offset = float((await request.json())["offset_seconds"])
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"error": 'send {"offset_seconds": <number>}'}, status_code=400)
        if not math.isfinite(offset) or abs(offset) > MAX_OFFSET_SECONDS:
            return JSONResponse({"error": f"offset_seconds must be within ±{MAX_OFFSET_SECONDS}"}, status_code=400)
        base.set_clock_offset(timedelta(seconds=offset))
        realtime.clock_moved()
    return JSONResponse({"now": base.utcnow().isoformat(), "offset_seconds": base.clock_offset().total_seconds()})


def routes() -> list[Route]:
    """The clock route in tests (the clock set to its start offset), nothing anywhere else."""
    if not _enabled():
        return []
    # Set while the app is built, before its lifespan tasks catch up the phases that ended.
    base.set_clock_offset(timedelta(seconds=get_settings().test_clock_offset_seconds))
    return [Route(PATH, clock, methods=["GET", "POST"])]
