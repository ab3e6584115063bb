"""Measuring helpers shared by every scenario module: percentiles, who saw which key when,
waiting for deliveries, opening and closing many clients, and a quiet server."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.client import BaseClient
from bench.servers import Stack, cpu_sample

OPEN_CONCURRENCY = 25  # clients opening at once (open_all)

def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


@dataclass
class Sent:
    key: str
    at: float
    sender: BaseClient | None
    receivers: list[BaseClient]


@dataclass
class Outcome:
    """What one measured phase produced."""

    latencies: list[float] = field(default_factory=list)
    expected: int = 0
    delivered: int = 0
    lost: int = 0
    duplicates: int = 0
    first_send: float = 0.0
    last_arrival: float = 0.0

    def add(self, other: Outcome) -> None:
        self.latencies += other.latencies
        self.expected += other.expected
        self.delivered += other.delivered
        self.lost += other.lost
        self.duplicates += other.duplicates


def outcome(sends: list[Sent]) -> Outcome:
    out = Outcome(first_send=min((s.at for s in sends), default=0.0))
    for s in sends:
        for r in s.receivers:
            if r is s.sender:
                continue
            out.expected += 1
            t = r.seen.get(s.key)
            if t is None:
                out.lost += 1
            else:
                out.delivered += 1
                out.latencies.append(t - s.at)
                out.last_arrival = max(out.last_arrival, t)
    return out


async def wait_for(pred: Callable[[], bool], timeout: float, poll: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(poll)
    return pred()


async def wait_delivered(sends: list[Sent], timeout: float, quiet: float = 1.5) -> None:
    """Until every receiver has every key, or nothing new arrived for ``quiet`` seconds after
    the expected time (what is still missing then counts as lost), or ``timeout``."""
    deadline = time.monotonic() + timeout
    last_total, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        total = sum(1 for s in sends for r in s.receivers if r is not s.sender and s.key in r.seen)
        expected = sum(1 for s in sends for r in s.receivers if r is not s.sender)
        if total >= expected:
            return
        if total != last_total:
            last_total, last_change = total, time.monotonic()
        elif time.monotonic() - last_change > quiet:
            return
        await asyncio.sleep(0.05)


async def open_all(clients: list, opener: Callable[[BaseClient], Awaitable[None]], ready: Callable[[BaseClient], bool],
                   concurrency: int = OPEN_CONCURRENCY, timeout: float = 120) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(c):
        async with sem:
            await opener(c)
            await wait_for(lambda: ready(c), 60)

    await asyncio.wait_for(asyncio.gather(*(one(c) for c in clients)), timeout)
    not_ready = [c for c in clients if not ready(c)]
    if not_ready:
        raise RuntimeError(f"{len(not_ready)} of {len(clients)} clients never became ready")


async def close_all(clients: list[BaseClient]) -> None:
    sem = asyncio.Semaphore(100)

    async def one(c):
        async with sem:
            await c.close()

    await asyncio.gather(*(one(c) for c in clients))


async def quiet_server(stack: Stack, target: str, limit: float = 40.0) -> None:
    """Wait until the server is idle (under 10 % of a core for a second), bounded."""
    procs = stack.processes(target)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        c0 = cpu_sample(procs)
        await asyncio.sleep(1.0)
        if cpu_sample(procs) - c0 < 0.10:
            return


def summary(out: Outcome, cpu: float | None = None, bytes_per_frame: float | None = None) -> dict:
    lat = out.latencies
    span = (out.last_arrival - out.first_send) if out.delivered else 0.0
    return {
        "p50_ms": percentile(lat, 0.50) * 1000, "p95_ms": percentile(lat, 0.95) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000, "max_ms": max(lat, default=float("nan")) * 1000,
        "expected": out.expected, "delivered": out.delivered, "lost": out.lost, "duplicates": out.duplicates,
        "deliveries_per_s": out.delivered / span if span > 0 else float("nan"),
        "cpu_s_per_1000": (cpu / out.delivered * 1000) if cpu is not None and out.delivered else float("nan"),
        "bytes_per_frame": bytes_per_frame if bytes_per_frame is not None else float("nan"),
    }


def frame_bytes(clients: list[BaseClient]) -> float:
    sample = [b for c in clients[:5] for b in c.bytes_sample]
    return statistics.mean(sample) if sample else float("nan")


