"""End to end: forgiving streaks. The start of day and the weekly goal set on /settings change
what /profile shows (streak, freeze, this week's goal, best day), and bad input changes nothing.

The focus history is credited in the app's database through ``progression.credit_block``
(``tests/support/focus_history.py``). The student's zone is chosen so that it is about noon
for them while the test runs, so the "today" of the checks does not depend on the hour.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from sessions_app.models import User
from tests.e2e.conftest import goto
from tests.support.factories import app_db
from tests.support.focus_history import add_focus_blocks


def _noon_zone(now: datetime) -> str:
    """A fixed-offset zone in which ``now`` is between 12:00 and 13:00 ("Etc/GMT-5" is UTC+5)."""
    offset = 12 - now.hour  # -11 .. +12
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _at(day: date, hour: int, minute: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz))


def _save(page: Page, day_start: str, goal: str) -> None:
    page.select_option("#settings-day-start", day_start)
    page.fill("#settings-weekly-goal", goal)
    page.click("#settings-streaks-save")


def test_day_start_and_weekly_goal_change_the_profile(student, app_server):
    ada = student("Night Owl", at=None)
    page = ada.page
    tz = _noon_zone(datetime.now(UTC))
    today = datetime.now(ZoneInfo(tz)).date()
    # Day D-3 22:00, D-1 22:00 and D 01:30 (the night after D-1).
    with app_db(app_server.database_url) as db:
        db.get(User, ada.user_id).timezone = tz
        add_focus_blocks(db, ada.user_id, [_at(today - timedelta(days=3), 22, 0, tz),
                                           _at(today - timedelta(days=1), 22, 0, tz), _at(today, 1, 30, tz)])
    monday = today - timedelta(days=today.weekday())

    def week(*days: date) -> int:
        return 25 * sum(1 for d in days if monday <= d <= today)

    # Day starts at midnight: D-3, D-1, D studied; D-2 bridged by the freeze.
    goto(page, "/profile")
    expect(page.locator("#profile-streak")).to_have_text("3")
    frozen_this_week = monday <= today - timedelta(days=2)
    expect(page.locator("#profile-freezes")).to_have_attribute("data-available", str(not frozen_this_week).lower())
    expect(page.locator("#profile-best-day")).to_have_text("25 min")
    bridged = page.locator(f".heat-cell[data-date='{(today - timedelta(days=2)).isoformat()}']")
    expect(bridged).to_have_attribute("data-frozen", "true")
    expect(bridged).to_have_attribute("title", re.compile("bridged by a streak freeze"))
    expect(page.locator("#profile-weekly-goal")).to_contain_text("No weekly goal yet")

    goto(page, "/settings")
    expect(page.locator("#settings-day-start")).to_have_value("00:00")
    expect(page.locator("#settings-weekly-goal")).to_have_value("0")
    _save(page, "04:00", "100")
    expect(page.locator("#settings-streaks-message")).to_contain_text("your day starts at 04:00")

    # 01:30 now counts for D-1: D-3, D-1 (50 min); today not studied yet, yesterday was.
    goto(page, "/profile")
    expect(page.locator("#profile-streak")).to_have_text("2")
    expect(page.locator("#profile-best-day")).to_have_text("50 min")
    minutes = week(today - timedelta(days=3), today - timedelta(days=1), today - timedelta(days=1))
    goal = page.locator("#profile-weekly-goal")
    expect(goal).to_have_attribute("data-percent", str(minutes))  # a 100-minute goal
    expect(goal).to_have_attribute("data-goal", "100")
    expect(goal).to_contain_text("of 1 h 40 min")
    expect(page.locator("#profile-freezes")).to_contain_text("starts at 04:00")


def test_bad_settings_show_a_message_and_change_nothing(student):
    bo = student("Bo Settings", at="/settings")
    page = bo.page
    _save(page, "05:30", "300")
    expect(page.locator("#settings-streaks-message")).to_be_visible()
    for day_start, goal in [("05:30", "5000"), ("05:30", "-3"), ("05:30", "")]:
        _save(page, day_start, goal)
        expect(page.locator("#settings-streaks-error")).to_contain_text("weekly goal as a whole number")
    # A crafted value the select does not offer is refused by the server too.
    page.evaluate("""() => { const s = document.querySelector('#settings-day-start');
                             const o = document.createElement('option'); o.value = o.text = '09:00'; s.add(o); }""")
    _save(page, "09:00", "300")
    expect(page.locator("#settings-streaks-error")).to_contain_text("between 00:00 and 06:00")
    goto(page, "/settings")
    expect(page.locator("#settings-day-start")).to_have_value("05:30")
    expect(page.locator("#settings-weekly-goal")).to_have_value("300")
