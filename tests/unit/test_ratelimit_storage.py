"""The in-memory rate-limit storage counts as ``limits``' own does, without starting a thread
per hit (that thread was the dearest step of a chat post)."""

from __future__ import annotations

import threading

from limits import parse
from limits.strategies import MovingWindowRateLimiter

from sessions_app.services.ratelimit import SweptMemoryStorage


def test_hits_start_no_threads_and_the_limit_holds(monkeypatch):
    limiter = MovingWindowRateLimiter(SweptMemoryStorage())
    started: list[threading.Thread] = []
    original = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self), original(self))[1])
    rule = parse("5/minute")
    assert all(limiter.hit(rule, "chat:user:1") for _ in range(5))
    assert not limiter.hit(rule, "chat:user:1")  # the sixth in the window is refused
    assert limiter.hit(rule, "chat:user:2")  # counted per key
    assert started == []


def test_expired_entries_are_swept(monkeypatch):
    storage = SweptMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    clock = [1000.0]
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock[0])
    monkeypatch.setattr("sessions_app.services.ratelimit.time.monotonic", lambda: clock[0])
    rule = parse("2/second")
    assert limiter.hit(rule, "k") and limiter.hit(rule, "k") and not limiter.hit(rule, "k")
    clock[0] += 5  # the window has moved on, and a sweep is due
    assert limiter.hit(rule, "k")
    assert sum(len(v) for v in storage.events.values()) == 1  # the old entries were dropped


def test_a_refusal_says_how_long_to_wait(monkeypatch):
    from sessions_app.services import ratelimit
    from sessions_app.services.errors import RateLimited

    ratelimit.reset()
    ratelimit.hit("1/10minute", "wait-test", message="Slow down. Try again in {wait}.")
    try:
        ratelimit.hit("1/10minute", "wait-test", message="Slow down. Try again in {wait}.")
    except RateLimited as err:
        assert err.message == "Slow down. Try again in 10 minutes."
    else:
        raise AssertionError("the second hit was allowed")
    ratelimit.reset()


def test_wait_text_rounds_up_in_words():
    from sessions_app.services.ratelimit import wait_text

    assert [wait_text(s) for s in (0, 59, 61, 600, 3599, 3600, 3601, 7300)] == [
        "a minute", "a minute", "2 minutes", "10 minutes", "an hour", "an hour", "2 hours", "3 hours"]
