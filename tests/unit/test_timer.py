"""Pure timer maths: phase order, long breaks, pause/resume arithmetic, catch-up, idempotence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sessions_app.services import timer as t

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CFG = t.TimerConfig(focus_ms=25 * 60_000, short_break_ms=5 * 60_000, long_break_ms=15 * 60_000,
                    blocks_before_long_break=4)
configs = st.builds(
    t.TimerConfig,
    focus_ms=st.integers(15, 60).map(lambda m: m * 60_000),
    short_break_ms=st.integers(3, 15).map(lambda m: m * 60_000),
    long_break_ms=st.integers(10, 30).map(lambda m: m * 60_000),
    blocks_before_long_break=st.integers(2, 6),
)


def ms(n: int) -> timedelta:
    return timedelta(milliseconds=n)


def test_start_runs_focus_for_its_length():
    timer = t.start(t.Timer(), CFG, T0)
    assert timer.phase == t.FOCUS and timer.running
    assert timer.ends_at == T0 + ms(CFG.focus_ms)
    assert timer.remaining_ms(T0 + timedelta(minutes=10)) == 15 * 60_000


def test_full_cycle_order_with_long_break_after_n_blocks():
    timer = t.start(t.Timer(), CFG, T0)
    phases = []
    now = T0
    for _ in range(9):
        now = timer.ends_at
        timer, _ = t.advance(timer, CFG, now)
        phases.append(timer.phase)
    assert phases == ["short_break", "focus", "short_break", "focus", "short_break", "focus",
                      "long_break", "focus", "short_break"]
    assert timer.cycles_completed == 5


def test_pause_freezes_and_resume_continues_from_the_same_time():
    timer = t.start(t.Timer(), CFG, T0)
    paused = t.pause(timer, T0 + timedelta(minutes=10))
    assert paused.paused and paused.remaining_ms(T0 + timedelta(hours=3)) == 15 * 60_000
    resumed = t.resume(paused, T0 + timedelta(hours=1))
    assert resumed.ends_at == T0 + timedelta(hours=1, minutes=15)
    # "time in this phase" excludes the pause (EXP uses started_at).
    assert resumed.ends_at - resumed.started_at == ms(CFG.focus_ms)


def test_skip_counts_no_block_and_reset_goes_idle():
    timer = t.start(t.Timer(), CFG, T0)
    skipped = t.skip(timer, CFG, T0 + timedelta(minutes=1))
    assert skipped.phase == t.SHORT_BREAK and skipped.cycles_completed == 0
    assert t.reset(skipped).phase == t.IDLE and t.reset(skipped).cycles_completed == 0


def test_actions_that_do_not_apply_change_nothing():
    idle = t.Timer()
    assert t.pause(idle, T0) == idle and t.resume(idle, T0) == idle
    running = t.start(idle, CFG, T0)
    assert t.start(running, CFG, T0 + ms(5)) == running


def test_catch_up_after_downtime_lands_on_the_uninterrupted_schedule():
    timer = t.start(t.Timer(), CFG, T0)
    later = T0 + timedelta(minutes=25 + 5 + 10)  # 10 minutes into the second focus block
    caught, completed = t.advance(timer, CFG, later)
    assert caught.phase == t.FOCUS and caught.remaining_ms(later) == 15 * 60_000
    assert [c.ended_at for c in completed] == [T0 + timedelta(minutes=25)]


@settings(max_examples=200, deadline=None)
@given(cfg=configs, minutes=st.integers(0, 24 * 60), step=st.integers(1, 97))
def test_advancing_in_steps_equals_advancing_at_once(cfg, minutes, step):
    """Catching up at any granularity gives the same anchors and the same completed blocks."""
    start = t.start(t.Timer(), cfg, T0)
    end = T0 + timedelta(minutes=minutes)
    at_once, blocks_once = t.advance(start, cfg, end)
    stepped, blocks_stepped, now = start, [], T0
    while now < end:
        now = min(end, now + timedelta(minutes=step))
        stepped, done = t.advance(stepped, cfg, now)
        blocks_stepped += done
    assert (stepped.phase, stepped.ends_at, stepped.cycles_completed) == (at_once.phase, at_once.ends_at, at_once.cycles_completed)
    assert [b.ended_at for b in blocks_stepped] == [b.ended_at for b in blocks_once]


@settings(max_examples=200, deadline=None)
@given(cfg=configs, minutes=st.integers(0, 24 * 60))
def test_advance_is_idempotent_and_long_breaks_follow_every_nth_block(cfg, minutes):
    now = T0 + timedelta(minutes=minutes)
    once, _ = t.advance(t.start(t.Timer(), cfg, T0), cfg, now)
    twice, again = t.advance(once, cfg, now)
    assert twice == once and again == []
    if once.phase == t.LONG_BREAK:
        assert once.cycles_completed % cfg.blocks_before_long_break == 0
    if once.phase == t.SHORT_BREAK:
        assert once.cycles_completed % cfg.blocks_before_long_break != 0
    assert once.ends_at > now  # never left in a phase that is already over


@settings(max_examples=200, deadline=None)
@given(cfg=configs, pause_at=st.integers(0, 10**7), pause_for=st.integers(0, 10**8))
def test_pause_resume_preserves_remaining_time(cfg, pause_at, pause_for):
    running = t.start(t.Timer(), cfg, T0)
    at = T0 + ms(min(pause_at, cfg.focus_ms))
    paused = t.pause(running, at)
    resumed = t.resume(paused, at + ms(pause_for))
    assert resumed.remaining_ms(at + ms(pause_for)) == paused.paused_remaining_ms == running.remaining_ms(at)
    assert resumed.seq == running.seq + 2  # every change moves the sequence on
