"""The injectable test clock: ``/_test/clock`` moves ``utcnow`` only under ``SESSIONS_ENV=test``
(the route is absent and the handler refuses anywhere else), and scheduled runs wake at the
moved time instead of the wall clock's."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from sessions_app import realtime, testclock
from sessions_app.models import base, utcnow
from sessions_app.settings import get_settings

STRONG_SECRET = "x" * 40


@pytest.fixture(autouse=True)
def _wall_clock():
    """Every test starts and ends on the wall clock."""
    base.set_clock_offset(timedelta(0))
    realtime.clock_moved()  # a fresh event, not bound to an earlier test's loop
    yield
    base.set_clock_offset(timedelta(0))


def request(method: str, **kwargs) -> httpx.Response:
    """One request to an app that serves the clock handler whatever the settings say."""
    app = Starlette(routes=[Route(testclock.PATH, testclock.clock, methods=["GET", "POST"])])

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as client:
            return await client.request(method, testclock.PATH, **kwargs)

    return asyncio.run(send())


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_outside_tests_the_route_is_absent_and_the_handler_refuses(settings_env, env):
    settings_env(SESSIONS_ENV=env, SECRET_KEY=STRONG_SECRET)
    assert testclock.routes() == []
    before = utcnow()
    assert request("POST", json={"offset_seconds": 3600}).status_code == 404
    assert request("GET").status_code == 404
    assert base.clock_offset() == timedelta(0)
    assert abs((utcnow() - before).total_seconds()) < 5


def test_in_tests_the_clock_moves_ahead_and_back(settings_env):
    settings_env(SESSIONS_ENV="test")
    assert [r.path for r in testclock.routes()] == ["/_test/clock"]
    wall = utcnow()
    answer = request("POST", json={"offset_seconds": 90})
    assert answer.status_code == 200 and answer.json()["offset_seconds"] == 90
    assert 89 <= (utcnow() - wall).total_seconds() <= 95
    assert request("GET").json()["offset_seconds"] == 90
    assert request("POST", json={"offset_seconds": 0}).json()["offset_seconds"] == 0
    assert abs((utcnow() - wall).total_seconds()) < 5


def test_the_app_starts_with_the_configured_offset_in_tests_only(settings_env):
    """TEST_CLOCK_OFFSET_SECONDS: a restarted test server comes back as if it had been down."""
    settings_env(SESSIONS_ENV="test", TEST_CLOCK_OFFSET_SECONDS="120")
    testclock.routes()
    assert base.clock_offset() == timedelta(seconds=120)
    settings_env(SESSIONS_ENV="dev", TEST_CLOCK_OFFSET_SECONDS="120")
    with pytest.raises(ValueError, match="TEST_CLOCK_OFFSET_SECONDS is a test-only setting"):
        get_settings()


@pytest.mark.parametrize("body", [{}, {"offset_seconds": "soon"}, {"offset_seconds": None},
                                  {"offset_seconds": 8 * 86400}, {"offset_seconds": "nan"}, [1]])
def test_bad_input_is_refused_and_changes_nothing(settings_env, body):
    settings_env(SESSIONS_ENV="test")
    request("POST", json={"offset_seconds": 30})
    answer = request("POST", json=body)
    assert answer.status_code == 400 and "offset_seconds" in answer.json()["error"]
    assert base.clock_offset() == timedelta(seconds=30)


def test_a_scheduled_run_wakes_at_the_moved_time_not_the_wall_clocks():
    async def scenario() -> tuple[float, float]:
        ran: dict[str, float] = {}

        async def mark(key: str) -> None:
            ran[key] = time.monotonic()

        start = time.monotonic()
        far_at = utcnow() + timedelta(minutes=10)
        realtime.schedule("test-far", far_at, lambda: mark("far"))
        realtime.schedule("test-near", utcnow() + timedelta(seconds=0.3), lambda: mark("near"))
        await asyncio.sleep(0.6)
        assert "near" in ran and "far" not in ran  # the wall clock still counts
        # The clock jumps to half a second before the far run: it waits only that half second.
        base.set_clock_offset(far_at - timedelta(seconds=0.5) - datetime.now(UTC))
        realtime.clock_moved()
        await asyncio.sleep(0.2)
        assert "far" not in ran  # not early either
        for _ in range(50):
            if "far" in ran:
                break
            await asyncio.sleep(0.05)
        return ran["near"] - start, ran["far"] - start

    near, far = asyncio.run(scenario())
    assert 0.25 <= near < 0.6
    assert 0.9 <= far < 2.5
