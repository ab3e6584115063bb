"""Background runs replaced before they start leave nothing behind: no "coroutine was never
awaited" warning in the server log (a page load and a timer action scheduling the same
phase end in one moment did)."""

from __future__ import annotations

import asyncio
import gc
import warnings
from datetime import timedelta

from sessions_app.models import utcnow
from sessions_app.realtime import timing


def test_a_schedule_replaced_in_the_same_moment_warns_of_nothing():
    ran = []

    async def scenario():
        async def fn():
            ran.append(1)

        when = utcnow() + timedelta(seconds=0.05)
        timing.schedule("t-replaced", when, fn)  # queued, then replaced before it ever ran
        timing.schedule("t-replaced", when, fn)
        await asyncio.sleep(0.3)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(scenario())
        gc.collect()
    assert ran == [1]  # the replacement ran, once
    assert not [w for w in caught if "never awaited" in str(w.message)]
