"""Progression maths: EXP for a focus block and the level curve (pure functions)."""

from __future__ import annotations

MIN_CREDIT_MINUTES = 5.0


def exp_for_level(level: int) -> int:
    """Total EXP needed to reach ``level``: 125·2ⁿ − 150 (level 1: 100, 5: 3,850, 10: 127,850)."""
    if level <= 0:
        return 0
    return 125 * 2**level - 150


def level_for(exp_total: int) -> int:
    """The level a student with ``exp_total`` EXP has reached (no cap)."""
    exp_total = max(0, int(exp_total))
    level = 0
    while exp_for_level(level + 1) <= exp_total:
        level += 1
    return level


def progress_in_level(exp_total: int) -> float:
    """How far (0.0–1.0) the student is from their level to the next one."""
    lvl = level_for(exp_total)
    lo, hi = exp_for_level(lvl), exp_for_level(lvl + 1)
    return (max(0, exp_total) - lo) / (hi - lo)


def block_exp(block_minutes: float, present_minutes: float) -> int:
    """EXP for a focus block of ``block_minutes`` with ``present_minutes`` spent in it.

    A full block earns 100 + 4·m; part of it earns in proportion; under 5 minutes earns 0.
    """
    if block_minutes <= 0:
        return 0
    present = max(0.0, min(present_minutes, block_minutes))
    if present < MIN_CREDIT_MINUTES:
        return 0
    return round((100 + 4 * block_minutes) * present / block_minutes)
