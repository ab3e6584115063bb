"""The logged-in student's own progression: lifetime stats, streaks and the focus heatmap.

Read-only for the browser: ``load`` finds the student from the login cookie on the server and
asks ``services.progression``; nothing a client sends picks whose stats are shown.
"""

from __future__ import annotations

from datetime import date

import reflex as rx

from sessions_app.services import progression
from sessions_app.services.progression import HeatDay, Stats
from sessions_app.state.base import REFUSED, Handler, in_db


def _profile(db, *, user_id: int) -> tuple[date, Stats, list[HeatDay]]:
    """The student's today, lifetime stats and heatmap, in one transaction."""
    today = progression.today_for(db, user_id=user_id)
    return (today, progression.stats(db, user_id=user_id, today=today),
            progression.heatmap(db, user_id=user_id, today=today))


class ProgressionState(Handler, rx.State):
    """Stats and heatmap of the student viewing their own profile."""

    focus_hours: float = 0.0
    blocks_completed: int = 0
    current_streak: int = 0
    best_streak: int = 0
    heatmap: list[HeatDay] = []
    # One label per heatmap column ("" where no month starts), drawn above the grid.
    month_labels: list[str] = []
    loaded: bool = False

    @rx.var
    def focus_hours_label(self) -> str:
        """Focus hours with one decimal ("0.0", "12.5"): JavaScript would print 1.0 as "1"."""
        return f"{self.focus_hours:.1f}"

    def _reset(self) -> None:
        self.focus_hours = 0.0
        self.blocks_completed = self.current_streak = self.best_streak = 0
        self.heatmap = []
        self.month_labels = []
        self.loaded = False

    @rx.event
    async def load(self):
        """on_load of /profile: fill the stats of the logged-in student (or nothing)."""
        uid = await self._caller_id()
        if uid is None:
            self._reset()  # AccountState.load sends strangers to the login page
            return
        loaded = await self._attempt(in_db, _profile, user_id=uid)
        if loaded is REFUSED:
            return
        today, stats, days = loaded
        self.focus_hours = stats.focus_hours
        self.blocks_completed = stats.blocks_completed
        self.current_streak = stats.current_streak
        self.best_streak = stats.best_streak
        self.heatmap = days
        self.month_labels = progression.month_labels(today)
        self.loaded = True
