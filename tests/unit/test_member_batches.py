"""Member lists of a room go out in batches (``realtime.debounce``): one list once the joins
pause, at most one every ``longest`` seconds while they keep coming — a join storm of 200
sends a few whole lists, not one every 0.1 s to every tab already there."""

from __future__ import annotations

import asyncio

from sessions_app.realtime import timing


def run(coro):
    return asyncio.run(coro)


def test_one_request_runs_once_after_the_quiet_time():
    calls = []

    async def scenario():
        loop = asyncio.get_running_loop()
        start = loop.time()

        async def fn():
            calls.append(loop.time() - start)

        timing.debounce("t-one", 0.05, 1.0, fn)
        await asyncio.sleep(0.3)

    run(scenario())
    assert len(calls) == 1 and calls[0] >= 0.05


def test_a_burst_without_pauses_becomes_one_run_after_its_last_request():
    calls, sent = [], []

    async def scenario():
        loop = asyncio.get_running_loop()

        async def fn():
            calls.append(loop.time())

        for _ in range(10):
            timing.debounce("t-burst", 0.3, 30.0, fn)
            sent.append(loop.time())
            await asyncio.sleep(0.01)
        while not calls:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)

    run(scenario())
    assert len(calls) == 1
    assert calls[0] >= sent[-1]  # it waited for the last request of the burst


def test_a_burst_that_never_pauses_still_runs_every_longest_seconds():
    calls, sent = [], []

    async def scenario():
        loop = asyncio.get_running_loop()

        async def fn():
            calls.append(loop.time())

        deadline = loop.time() + 0.6
        while loop.time() < deadline:
            timing.debounce("t-long", 0.2, 0.1, fn)
            sent.append(loop.time())
            await asyncio.sleep(0.01)
        last = sent[-1]
        while not calls or calls[-1] < last:
            await asyncio.sleep(0.05)

    run(scenario())
    during = [t for t in calls if t < sent[-1]]
    assert during, "no list went out while the joins kept coming"
    assert len(calls) < len(sent) / 2


def test_a_request_while_the_batch_runs_starts_the_next_batch():
    calls = []

    async def scenario():
        async def fn():
            calls.append(len(calls))
            if len(calls) == 1:
                timing.debounce("t-next", 0.02, 1.0, fn)  # a join lands while the list is sent

        timing.debounce("t-next", 0.02, 1.0, fn)
        while len(calls) < 2:
            await asyncio.sleep(0.02)

    run(scenario())
    assert calls == [0, 1]
    assert "t-next" not in timing._debounced


def test_a_load_can_wait_for_the_list_its_entry_asked_for(monkeypatch):
    """``presence.list_sent``: set once the requested batch has run (even when the room is
    gone), at once when none is due, and never longer than its timeout."""
    import contextlib

    from sessions_app import realtime
    from sessions_app.live import presence

    batches = []
    monkeypatch.setattr(realtime, "debounce", lambda key, quiet, longest, fn: batches.append(fn))

    @contextlib.asynccontextmanager
    async def no_room(room_id):
        yield None

    monkeypatch.setattr(presence, "locked_room", no_room)

    async def scenario():
        presence.refresh_members(7)
        waiter = asyncio.create_task(presence.list_sent(7, 30))
        await asyncio.sleep(0.02)
        assert not waiter.done()
        await batches[0]()
        await asyncio.wait_for(waiter, 5)
        assert 7 not in presence._lists_due
        await asyncio.wait_for(presence.list_sent(7, 30), 5)  # nothing due: at once
        presence.refresh_members(8)  # a batch that never runs: the wait still ends
        await asyncio.wait_for(presence.list_sent(8, 0.05), 5)

    asyncio.run(scenario())
    presence._lists_due.clear()
