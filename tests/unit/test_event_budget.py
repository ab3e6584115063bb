"""The per-socket event budget's token bucket (``realtime.guards._Bucket``): a burst at once, then
the refill rate; a socket that stops sending gets its budget back."""

from __future__ import annotations

from sessions_app.realtime.guards import _Bucket


def test_a_burst_passes_then_the_rate_applies_and_the_bucket_refills():
    burst, rate = 60.0, 20.0
    bucket = _Bucket(burst, now=0.0)
    assert all(bucket.take(burst, rate, now=0.0) for _ in range(60))
    assert not bucket.take(burst, rate, now=0.0)
    # One second later: 20 more, not 21.
    assert sum(bucket.take(burst, rate, now=1.0) for _ in range(100)) == 20
    # A quiet socket refills up to the burst, never beyond.
    assert sum(bucket.take(burst, rate, now=100.0) for _ in range(1000)) == 60


def test_typing_at_fifteen_keys_a_second_for_a_minute_is_never_refused():
    burst, rate = 60.0, 20.0
    bucket = _Bucket(burst, now=0.0)
    assert all(bucket.take(burst, rate, now=i / 15) for i in range(15 * 60))


def test_a_costly_event_uses_more_of_the_budget():
    burst, rate = 60.0, 20.0
    bucket = _Bucket(burst, now=0.0)
    assert sum(bucket.take(burst, rate, now=0.0, cost=10) for _ in range(20)) == 6
    # Keystrokes still get the remainder, and 10 tokens (a second sign-up) come back in 0.5 s.
    assert bucket.take(burst, rate, now=0.5, cost=10)
