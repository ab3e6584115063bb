"""The benchmark counts a server's CPU per thread in nanoseconds (``bench.servers.CpuSample``):
a process's own count moves in 10 ms ticks, which made the ratio of a small scenario jump by
a quarter between runs. A thread that ends between two samples takes its count with it, so
the difference falls back to the ticks then."""

from __future__ import annotations

import os
import threading
import time

import psutil

from bench.servers import CpuSample


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_few_milliseconds_of_work_are_counted_finer_than_a_tick():
    me = [psutil.Process()]
    # Another thread of this process may end between the samples (the rate limiter's first
    # expiry timer, in a fresh test process): that sample falls back to ticks, so take another.
    for _ in range(5):
        before = CpuSample(me)
        _spin(0.003)  # under a third of a tick
        after = CpuSample(me)
        if after.precise_since(before):
            break
    assert after.precise_since(before)
    assert 0.003 <= after - before < 0.003 + 0.05  # the test's own sampling, not ten ms steps


def test_a_thread_that_ends_between_samples_falls_back_to_the_ticks():
    me = [psutil.Process()]
    started, finish = threading.Event(), threading.Event()
    tid: list[int] = []

    def work() -> None:
        tid.append(threading.get_native_id())
        started.set()
        finish.wait()
        _spin(0.2)

    worker = threading.Thread(target=work)
    worker.start()
    started.wait()
    before = CpuSample(me)  # sees the worker thread
    finish.set()
    worker.join()
    # ``join`` returns when the Python thread is done; the OS thread exits a moment later
    # (under load, after the next sample had still counted it precisely).
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/self/task/{tid[0]}") and time.monotonic() < deadline:
        time.sleep(0.001)
    after = CpuSample(me)  # the worker, and its 200 ms, are gone from the per-thread counts
    assert not after.precise_since(before)
    # The process's own count kept them, in ticks (which may lag a tick or two under load).
    assert after - before >= 0.17
