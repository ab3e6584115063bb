"""The shared Pomodoro timer as pure maths over anchors (no I/O, no clock reads).

A timer is never a ticking counter. It is a few anchors: the phase, a sequence number that
grows on every change, when the phase ends (while running) or the time left (while paused),
the phase length, and how many focus blocks are done. Everyone computes the remaining time
from these; the server moves a phase on at its end time (``advance``), starting the next
phase at the previous one's end so the schedule never drifts and a catch-up after downtime
lands where an uninterrupted timer would be.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

IDLE, FOCUS, SHORT_BREAK, LONG_BREAK = "idle", "focus", "short_break", "long_break"
PHASE_LABELS = {IDLE: "idle", FOCUS: "focus", SHORT_BREAK: "short break", LONG_BREAK: "long break"}


@dataclass(frozen=True)
class TimerConfig:
    """Phase lengths in milliseconds (already divided by any test time scale)."""

    focus_ms: int
    short_break_ms: int
    long_break_ms: int
    blocks_before_long_break: int

    def length(self, phase: str) -> int:
        """The length of ``phase`` in milliseconds."""
        return {FOCUS: self.focus_ms, SHORT_BREAK: self.short_break_ms, LONG_BREAK: self.long_break_ms}.get(phase, 0)


@dataclass(frozen=True)
class Timer:
    """The anchors. Running: ``ends_at`` set. Paused: ``paused_remaining_ms`` set. Idle: neither."""

    phase: str = IDLE
    seq: int = 0
    length_ms: int = 0
    started_at: datetime | None = None
    ends_at: datetime | None = None
    paused_remaining_ms: int | None = None
    cycles_completed: int = 0

    @property
    def running(self) -> bool:
        """Whether the phase is counting down now."""
        return self.ends_at is not None and self.paused_remaining_ms is None

    @property
    def paused(self) -> bool:
        """Whether the phase is paused."""
        return self.paused_remaining_ms is not None

    def remaining_ms(self, now: datetime) -> int:
        """Milliseconds left in the phase at ``now``."""
        if self.paused_remaining_ms is not None:
            return self.paused_remaining_ms
        if self.ends_at is None:
            return 0
        return max(0, round((self.ends_at - now).total_seconds() * 1000))


@dataclass(frozen=True)
class CompletedFocus:
    """A focus block that ran to its end (what EXP is credited for)."""

    seq: int
    started_at: datetime
    ended_at: datetime
    length_ms: int


def _begin(timer: Timer, phase: str, cfg: TimerConfig, at: datetime, **changes) -> Timer:
    length = cfg.length(phase)
    return replace(timer, phase=phase, seq=timer.seq + 1, length_ms=length, started_at=at,
                   ends_at=at + timedelta(milliseconds=length), paused_remaining_ms=None, **changes)


def next_phase(timer: Timer, cfg: TimerConfig, *, focus_completed: bool) -> tuple[str, int]:
    """The phase after the current one and the cycle count that goes with it.

    After focus comes a break — a long one after every N completed blocks; after any break
    comes focus. A skipped focus block does not count as completed.
    """
    if timer.phase == FOCUS:
        cycles = timer.cycles_completed + (1 if focus_completed else 0)
        long_due = focus_completed and cycles % cfg.blocks_before_long_break == 0
        return (LONG_BREAK if long_due else SHORT_BREAK), cycles
    return FOCUS, timer.cycles_completed


def start(timer: Timer, cfg: TimerConfig, now: datetime) -> Timer:
    """Start focus from idle; resume if paused; no change if already running."""
    if timer.phase == IDLE:
        return _begin(timer, FOCUS, cfg, now)
    if timer.paused:
        return resume(timer, now)
    return timer


def pause(timer: Timer, now: datetime) -> Timer:
    """Freeze the remaining time. No change unless running."""
    if not timer.running:
        return timer
    return replace(timer, seq=timer.seq + 1, paused_remaining_ms=timer.remaining_ms(now), ends_at=None)


def resume(timer: Timer, now: datetime) -> Timer:
    """Continue a paused phase from the time it had left."""
    if not timer.paused:
        return timer
    remaining = timer.paused_remaining_ms or 0
    # started_at moves by the paused time, so "time in this phase" stays true for EXP.
    elapsed = timer.length_ms - remaining
    return replace(timer, seq=timer.seq + 1, ends_at=now + timedelta(milliseconds=remaining),
                   started_at=now - timedelta(milliseconds=elapsed), paused_remaining_ms=None)


def reset(timer: Timer) -> Timer:
    """Back to idle with no blocks counted."""
    return Timer(seq=timer.seq + 1)


def halt(timer: Timer) -> Timer:
    """Back to idle, keeping the blocks done: a timer left running through a long outage
    stops instead of replaying phases nobody sat through."""
    return Timer(seq=timer.seq + 1, cycles_completed=timer.cycles_completed)


def skip(timer: Timer, cfg: TimerConfig, now: datetime) -> Timer:
    """Go to the next phase now (a skipped focus block earns nothing). From idle: start focus."""
    if timer.phase == IDLE:
        return _begin(timer, FOCUS, cfg, now)
    phase, cycles = next_phase(timer, cfg, focus_completed=False)
    return _begin(timer, phase, cfg, now, cycles_completed=cycles)


def advance(timer: Timer, cfg: TimerConfig, now: datetime, max_steps: int = 10_000) -> tuple[Timer, list[CompletedFocus]]:
    """Move past every phase that has ended by ``now``; return the new anchors and the
    focus blocks that completed on the way (in order).

    Idempotent: advancing a timer that is not due changes nothing.
    """
    completed: list[CompletedFocus] = []
    steps = 0
    while timer.running and timer.ends_at is not None and timer.ends_at <= now and steps < max_steps:
        steps += 1
        end = timer.ends_at
        if timer.phase == FOCUS:
            completed.append(CompletedFocus(timer.seq, timer.started_at or end - timedelta(milliseconds=timer.length_ms),
                                            end, timer.length_ms))
        phase, cycles = next_phase(timer, cfg, focus_completed=timer.phase == FOCUS)
        timer = _begin(timer, phase, cfg, end, cycles_completed=cycles)
    return timer, completed
