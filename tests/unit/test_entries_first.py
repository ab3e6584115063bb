"""``live.entries``: in a join storm the entries (all the member list needs) run before the
page reads. A read waits while any entry runs, at most ``READ_DEFER_LONGEST`` seconds; a
lone join's read never waits."""

from __future__ import annotations

import asyncio

from sessions_app.live import entries


def test_a_read_waits_for_the_entries_running_and_a_lone_read_does_not():
    order: list[str] = []

    async def scenario():
        release = asyncio.Event()

        async def entry(name: str):
            async with entries.entering():
                await release.wait()
                order.append(name)

        async def read():
            await entries.reads_may_start()
            order.append("read")

        tasks = [asyncio.create_task(entry("entry 1")), asyncio.create_task(entry("entry 2"))]
        await asyncio.sleep(0)
        reader = asyncio.create_task(read())
        await asyncio.sleep(0.05)
        assert order == []  # the read is waiting for both entries
        release.set()
        await asyncio.gather(*tasks, reader)
        await read()  # nothing running: at once

    asyncio.run(scenario())
    assert order == ["entry 1", "entry 2", "read", "read"]


def test_a_read_waits_at_most_the_longest_time(monkeypatch):
    monkeypatch.setattr(entries, "READ_DEFER_LONGEST", 0.05)
    order: list[str] = []

    async def scenario():
        stuck = asyncio.Event()

        async def entry():
            async with entries.entering():
                await stuck.wait()

        task = asyncio.create_task(entry())
        await asyncio.sleep(0)
        await entries.reads_may_start()
        order.append("read went on")
        stuck.set()
        await task

    asyncio.run(scenario())
    assert order == ["read went on"]
    assert entries._running == 0


def test_a_failed_entry_does_not_hold_the_reads():
    async def scenario():
        try:
            async with entries.entering():
                raise RuntimeError("the entry failed")
        except RuntimeError:
            pass
        await asyncio.wait_for(entries.reads_may_start(), 1)

    asyncio.run(scenario())
    assert entries._running == 0
