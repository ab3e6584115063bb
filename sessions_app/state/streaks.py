"""Forgiving streaks in the browser: the settings form (start of day, weekly goal) and the
profile's weekly goal, freeze and personal bests.

Thin: every handler finds the student from the login cookie on the server and calls
``services.streaks``; the drafts are whatever the browser typed and are checked on save (bad
input gets the service's message and changes nothing).
"""

from __future__ import annotations

from datetime import date

import reflex as rx

from sessions_app import routes
from sessions_app.services import streaks, text
from sessions_app.state.base import REFUSED, Handler, in_db


def _day(iso: str) -> str:
    return streaks.day_label(date.fromisoformat(iso)) if iso else ""


class StreaksState(Handler, rx.State):
    """The logged-in student's streak settings and their overview."""

    day_start_draft: str = "00:00"
    weekly_goal_draft: str = "0"
    error: str = ""
    message: str = ""
    # The overview (profile).
    day_start: str = "00:00"
    weekly_goal: int = 0
    week_minutes: int = 0
    goal_percent: int = 0
    goal_label: str = ""
    freeze_available: bool = True
    freeze_used_label: str = ""
    freezes_in_streak: int = 0
    best_streak: int = 0
    best_week_label: str = ""
    best_week_minutes_label: str = ""
    best_day_label: str = ""
    best_day_minutes_label: str = ""

    @rx.event
    async def load_settings(self):
        """on_load of /settings: the saved values in the form."""
        self.error = self.message = ""
        uid = await self._caller_id()
        if uid is None:
            return  # AccountState.load sends strangers to the login page
        prefs = await self._attempt(in_db, streaks.prefs, user_id=uid)
        if prefs is REFUSED:
            return
        self.day_start_draft = streaks.format_day_start(prefs.day_start)
        self.weekly_goal_draft = str(prefs.weekly_goal)

    @rx.event
    def set_day_start_draft(self, value: str):
        """Choosing a start of day."""
        self.day_start_draft = text.draft(value, 8)

    @rx.event
    def set_weekly_goal_draft(self, value: str):
        """Typing the weekly goal."""
        self.weekly_goal_draft = text.draft(value, 12)

    @rx.event
    async def save(self):
        """Save both settings at once (either bad: nothing changes)."""
        uid = await self._caller_id()
        if uid is None:
            return rx.redirect(routes.LOGIN)
        self.error = self.message = ""
        prefs = await self._attempt(in_db, streaks.set_prefs, user_id=uid, day_start=self.day_start_draft,
                                    weekly_goal=self.weekly_goal_draft)
        if prefs is REFUSED:
            return
        self.day_start_draft = streaks.format_day_start(prefs.day_start)
        self.weekly_goal_draft = str(prefs.weekly_goal)
        goal = f"a weekly goal of {streaks.minutes_label(prefs.weekly_goal)}" if prefs.weekly_goal else "no weekly goal"
        self.message = f"Saved: your day starts at {self.day_start_draft}, {goal}."

    @rx.event
    async def load_profile(self):
        """on_load of /profile: this week, the freeze and personal bests."""
        uid = await self._caller_id()
        if uid is None:
            return
        view = await self._attempt(in_db, streaks.overview, user_id=uid)
        if view is REFUSED:
            return
        self.day_start = view.day_start
        self.weekly_goal = view.weekly_goal
        self.week_minutes = view.week_minutes
        self.goal_percent = view.goal_percent
        self.goal_label = (f"{streaks.minutes_label(view.week_minutes)} of {streaks.minutes_label(view.weekly_goal)}"
                           if view.weekly_goal else f"{streaks.minutes_label(view.week_minutes)} this week")
        self.freeze_available = view.freeze_available
        self.freeze_used_label = _day(view.freeze_used_on)
        self.freezes_in_streak = view.freezes_in_streak
        self.best_streak = view.best_streak
        self.best_week_label = f"week of {_day(view.best_week_start)}" if view.best_week_start else "—"
        self.best_week_minutes_label = streaks.minutes_label(view.best_week_minutes) if view.best_week_start else ""
        self.best_day_label = _day(view.best_day) or "—"
        self.best_day_minutes_label = streaks.minutes_label(view.best_day_minutes) if view.best_day else ""
