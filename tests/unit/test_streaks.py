"""Forgiving streaks (``services/streaks.py``): the start of day (DST nights included), one
automatic freeze per ISO week, the weekly goal and personal bests, and the settings checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from sessions_app.models import FocusCredit, User
from sessions_app.services import progression, streaks
from sessions_app.services.errors import ServiceError
from tests.support.factories import make_user
from tests.support.focus_history import add_focus_blocks


def d(text: str) -> date:
    return date.fromisoformat(text)


def at(text: str, tz: str = "UTC") -> datetime:
    """A local wall-clock time in ``tz`` as an aware datetime (``"2026-11-03 01:30"``)."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "minutes"), [("00:00", 0), ("04:00", 240), ("4:30", 270), (" 01:15 ", 75),
                                               ("06:00", 360)])
def test_day_start_accepts_quarter_hours_up_to_six(text, minutes):
    assert streaks.parse_day_start(text) == minutes
    assert streaks.format_day_start(minutes) == f"{minutes // 60:02d}:{minutes % 60:02d}"


@pytest.mark.parametrize("text", ["", "06:15", "07:00", "04:10", "4", "04:60", "-1:00", "24:00", "04:00:00",
                                  "four", None, 240, "０４:００"])
def test_day_start_refuses_anything_else(text):
    with pytest.raises(ServiceError) as info:
        streaks.parse_day_start(text)
    assert info.value.message == streaks.ERR_DAY_START


def test_day_start_choices_are_every_quarter_hour():
    assert streaks.DAY_START_CHOICES[:3] == ["00:00", "00:15", "00:30"]
    assert streaks.DAY_START_CHOICES[-1] == "06:00" and len(streaks.DAY_START_CHOICES) == 25
    assert all(streaks.parse_day_start(c) is not None for c in streaks.DAY_START_CHOICES)


@pytest.mark.parametrize(("value", "minutes"), [("0", 0), ("15", 15), (" 300 ", 300), ("4200", 4200), (600, 600)])
def test_weekly_goal_accepts_zero_or_a_sane_range(value, minutes):
    assert streaks.parse_weekly_goal(value) == minutes


@pytest.mark.parametrize("value", ["", "14", "4201", "-5", "2.5", "1e3", "abc", "99999999", None, True, 10**9])
def test_weekly_goal_refuses_anything_else(value):
    with pytest.raises(ServiceError) as info:
        streaks.parse_weekly_goal(value)
    assert info.value.message == streaks.ERR_WEEKLY_GOAL


def test_bad_settings_change_nothing(db):
    user = make_user(db)
    streaks.set_prefs(db, user_id=user.id, day_start="04:00", weekly_goal="300")
    for day_start, goal in [("07:00", "300"), ("02:00", "lots"), ("nope", "nope")]:
        with pytest.raises(ServiceError):
            streaks.set_prefs(db, user_id=user.id, day_start=day_start, weekly_goal=goal)
    db.refresh(user)
    assert (user.day_start_minutes, user.weekly_goal_minutes) == (240, 300)
    assert streaks.prefs(db, user_id=user.id) == streaks.Prefs("UTC", 240, 300)


# --- start of day -----------------------------------------------------------------------------


def test_a_night_owls_block_counts_for_the_day_before():
    # 01:30 with the day starting at 04:00: still Monday's evening.
    assert streaks.counted_day(d("2026-11-03"), 90, 240) == d("2026-11-02")
    assert streaks.counted_day(d("2026-11-03"), 240, 240) == d("2026-11-03")  # 04:00 starts the day
    assert streaks.counted_day(d("2026-11-03"), 90, 0) == d("2026-11-03")  # midnight: as before
    assert streaks.counted_day(d("2026-11-03"), None, 240) == d("2026-11-03")  # old rows: calendar day


def test_today_moves_with_the_start_of_day():
    now = at("2026-11-03 02:00", "Europe/Berlin")
    assert streaks.today(now, "Europe/Berlin", 240) == d("2026-11-02")
    assert streaks.today(now, "Europe/Berlin", 0) == d("2026-11-03")
    assert streaks.today(at("2026-11-03 04:00", "Europe/Berlin"), "Europe/Berlin", 240) == d("2026-11-03")
    # The zone matters: 02:00 in Berlin is 01:00 UTC.
    assert streaks.today(now, "UTC", 60) == d("2026-11-03")
    assert streaks.today(now, "UTC", 75) == d("2026-11-02")


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # Berlin springs forward on 29 March 2026 (02:00 CET → 03:00 CEST): a 23-hour night.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "2026-03-28"),  # 01:30 CET
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "2026-03-28"),  # 03:30 CEST (02:30 never happens)
        (datetime(2026, 3, 29, 2, 0, tzinfo=UTC), "2026-03-29"),   # 04:00 CEST starts the day
        # Berlin falls back on 25 October 2026 (03:00 CEST → 02:00 CET): 02:30 happens twice.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "2026-10-24"),  # 02:30 CEST
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "2026-10-24"),  # 02:30 CET, an hour later
        (datetime(2026, 10, 25, 2, 30, tzinfo=UTC), "2026-10-24"),  # 03:30 CET
        (datetime(2026, 10, 25, 3, 0, tzinfo=UTC), "2026-10-25"),   # 04:00 CET
    ],
)
def test_start_of_day_on_dst_nights_uses_the_wall_clock(utc, expected):
    minute = streaks.local_minute(utc, "Europe/Berlin")
    calendar = progression.local_day(utc, "Europe/Berlin")
    assert streaks.counted_day(calendar, minute, 240) == d(expected)
    assert streaks.today(utc, "Europe/Berlin", 240) == d(expected)


def test_credits_store_the_local_minute_and_count_with_the_start_of_day(db):
    user = make_user(db, tz="America/New_York")
    # 01:30 EDT on Tuesday 3 Nov... New York fell back on 1 Nov 2026, so 01:30 EST = 06:30 UTC.
    add_focus_blocks(db, user.id, [datetime(2026, 11, 3, 6, 30, tzinfo=UTC)])
    row = db.exec(select(FocusCredit).where(FocusCredit.user_id == user.id)).one()
    assert (row.local_day, row.local_minute) == ("2026-11-03", 90)
    assert streaks.minutes_by_day(db, user_id=user.id) == {d("2026-11-03"): 25}
    streaks.set_prefs(db, user_id=user.id, day_start="04:00", weekly_goal="0")
    # The whole history follows the new start of day, the heatmap too.
    assert streaks.minutes_by_day(db, user_id=user.id) == {d("2026-11-02"): 25}
    heat = {h.date: h.minutes for h in progression.heatmap(db, user_id=user.id, today=d("2026-11-03"))}
    assert heat["2026-11-02"] == 25 and heat["2026-11-03"] == 0


def test_the_start_of_day_joins_a_late_night_into_a_streak(db):
    user = make_user(db, tz="Europe/Berlin")
    # Monday 20:00, then Wednesday 01:30 (Tuesday's night), then Wednesday 20:00.
    add_focus_blocks(db, user.id, [at("2026-11-02 20:00", "Europe/Berlin"), at("2026-11-04 01:30", "Europe/Berlin"),
                                   at("2026-11-04 20:00", "Europe/Berlin")])
    now = at("2026-11-04 21:00", "Europe/Berlin")
    # Midnight start: Monday, (Tuesday missed, frozen), Wednesday → 2 days, freeze used on Tuesday.
    assert streaks.overview(db, user_id=user.id, now=now).current_streak == 2
    assert streaks.overview(db, user_id=user.id, now=now).freeze_used_on == "2026-11-03"
    streaks.set_prefs(db, user_id=user.id, day_start="04:00", weekly_goal="0")
    view = streaks.overview(db, user_id=user.id, now=now)
    assert (view.current_streak, view.freeze_available, view.freeze_used_on) == (3, True, "")
    stats = progression.stats(db, user_id=user.id, today=progression.today_for(db, user_id=user.id, now=now))
    assert (stats.current_streak, stats.best_streak) == (3, 3)


# --- freezes ----------------------------------------------------------------------------------


def days(*texts: str) -> list[date]:
    return [d(t) for t in texts]


def test_one_missed_day_is_bridged_but_not_counted():
    # Mon 2 .. Thu 5 Nov 2026 with Tuesday missed.
    run = streaks.streak_run(days("2026-11-02", "2026-11-04", "2026-11-05"), d("2026-11-05"))
    assert (run.current, run.best, run.frozen) == (3, 3, (d("2026-11-03"),))
    assert run.freeze_used_in(d("2026-11-08")) == d("2026-11-03")  # same ISO week (Sunday 8th)
    assert run.freeze_used_in(d("2026-11-09")) is None  # Monday: a new week, a new freeze


def test_a_second_missed_day_in_the_same_week_breaks_the_streak():
    run = streaks.streak_run(days("2026-11-02", "2026-11-04", "2026-11-06"), d("2026-11-06"))
    # Tue bridged (Mon, Wed: 2); Thu missed with the week's freeze spent: Fri starts over.
    assert (run.current, run.best) == (1, 2)
    assert run.frozen == (d("2026-11-03"),)


def test_two_missed_days_in_a_row_break_it_within_a_week():
    run = streaks.streak_run(days("2026-11-02", "2026-11-05"), d("2026-11-05"))
    assert (run.current, run.best, run.frozen) == (1, 1, ())  # no freeze is spent on a lost cause


def test_missed_sunday_and_monday_are_two_weeks_two_freezes():
    # Sat 7, (Sun 8, Mon 9 missed), Tue 10 Nov: the week boundary falls between the two.
    run = streaks.streak_run(days("2026-11-07", "2026-11-10"), d("2026-11-10"))
    assert (run.current, run.frozen) == (2, (d("2026-11-08"), d("2026-11-09")))


def test_iso_weeks_across_the_new_year():
    # 31 Dec 2026 is a Thursday in ISO week 53 of 2026; 1 Jan 2027 is in that week too.
    assert streaks.iso_week(d("2026-12-31")) == streaks.iso_week(d("2027-01-01")) == (2026, 53)
    run = streaks.streak_run(days("2026-12-29", "2026-12-31", "2027-01-02"), d("2027-01-02"))
    assert (run.current, run.frozen) == (1, (d("2026-12-30"),))  # 1 Jan: same week, no freeze left


def test_yesterday_missed_keeps_the_streak_alive_with_this_weeks_freeze():
    history = days("2026-11-02", "2026-11-03")
    assert streaks.streak_run(history, d("2026-11-04")).current == 2  # yesterday studied: alive
    run = streaks.streak_run(history, d("2026-11-05"))  # Wednesday missed, Thursday not over
    assert (run.current, run.frozen) == (2, (d("2026-11-04"),))
    assert streaks.streak_run(history, d("2026-11-06")).current == 0  # Wed and Thu missed
    # The freeze of a week is spent once: a second gap in it breaks the run.
    run = streaks.streak_run(days("2026-11-02", "2026-11-04"), d("2026-11-06"))
    assert run.current == 0 and run.frozen == (d("2026-11-03"),)


def test_days_after_today_extend_the_latest_run():
    # A move west can leave a credit dated "tomorrow".
    assert streaks.streak_run(days("2026-11-04", "2026-11-05"), d("2026-11-04")).current == 2


@given(st.lists(st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)), max_size=40),
       st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)))
def test_freezes_only_ever_help_and_at_most_one_per_week(history, today):
    run = streaks.streak_run(history, today)
    plain_current, plain_best = progression.streaks(history, today)
    assert run.current >= plain_current and run.best >= plain_best
    assert 0 <= run.current <= run.best <= len(set(history))
    weeks = [streaks.iso_week(day) for day in run.frozen]
    assert len(weeks) == len(set(weeks))
    assert not set(run.frozen) & set(history)
    assert streaks.streak_run(list(reversed(history)), today) == run


# --- weekly goal and bests --------------------------------------------------------------------


def test_week_minutes_follow_the_iso_week_and_the_start_of_day(db):
    user = make_user(db, tz="Europe/Berlin")
    streaks.set_prefs(db, user_id=user.id, day_start="04:00", weekly_goal="100")
    # Sunday 8 Nov 22:00, then Monday 9 Nov 01:30 (still Sunday's night: last week), Monday 20:00.
    add_focus_blocks(db, user.id, [at("2026-11-08 22:00", "Europe/Berlin"), at("2026-11-09 01:30", "Europe/Berlin"),
                                   at("2026-11-09 20:00", "Europe/Berlin")])
    monday_night = streaks.overview(db, user_id=user.id, now=at("2026-11-09 21:00", "Europe/Berlin"))
    assert (monday_night.week_minutes, monday_night.weekly_goal, monday_night.goal_percent) == (25, 100, 25)
    # Monday 03:00 is still Sunday for this student: last week's 50 minutes are "this week".
    sunday_night = streaks.overview(db, user_id=user.id, now=at("2026-11-09 03:00", "Europe/Berlin"))
    assert (sunday_night.today, sunday_night.week_minutes) == ("2026-11-08", 50)
    assert sunday_night.best_week_minutes == 50 and sunday_night.best_week_start == "2026-11-02"


def test_goal_progress_caps_at_100_and_no_goal_is_zero(db):
    user = make_user(db)
    add_focus_blocks(db, user.id, [at(f"2026-11-03 {h:02d}:00") for h in (9, 10, 11, 12)])
    now = at("2026-11-03 13:00")
    assert streaks.overview(db, user_id=user.id, now=now).goal_percent == 0
    streaks.set_prefs(db, user_id=user.id, day_start="00:00", weekly_goal="60")
    view = streaks.overview(db, user_id=user.id, now=now)
    assert (view.week_minutes, view.goal_percent) == (100, 100)


def test_personal_bests(db):
    user = make_user(db)
    add_focus_blocks(db, user.id, [
        at("2026-10-05 10:00"), at("2026-10-06 10:00"), at("2026-10-07 10:00"),  # week of 5 Oct: 75
        at("2026-10-14 10:00"), at("2026-10-14 11:00"), at("2026-10-14 12:00"),  # one day: 75
        at("2026-10-14 13:00"),                                                  # → 100 that day
    ])
    view = streaks.overview(db, user_id=user.id, now=at("2026-11-03 12:00"))
    assert (view.best_day, view.best_day_minutes) == ("2026-10-14", 100)
    assert (view.best_week_start, view.best_week_minutes) == ("2026-10-12", 100)
    assert view.best_streak == 3 and view.current_streak == 0
    empty = streaks.overview(db, user_id=make_user(db, "Bo").id, now=at("2026-11-03 12:00"))
    assert (empty.best_day, empty.best_week_start, empty.best_streak, empty.freeze_available) == ("", "", 0, True)


def test_bests_ties_go_to_the_earlier_and_labels_read_well():
    got = streaks.bests({d("2026-11-03"): 50, d("2026-11-10"): 50})
    assert (got.best_day, got.best_week_start) == (d("2026-11-03"), d("2026-11-02"))
    assert streaks.minutes_label(75) == "1 h 15 min" and streaks.minutes_label(120) == "2 h"
    assert streaks.minutes_label(40) == "40 min" and streaks.day_label(d("2026-11-03")) == "Tue 3 Nov"


def test_freezes_in_the_current_streak_are_counted(db):
    user = make_user(db)
    add_focus_blocks(db, user.id, [at("2026-11-02 10:00"), at("2026-11-04 10:00"), at("2026-11-05 10:00")])
    # Tue 3 (week 45) missed and bridged.
    view = streaks.overview(db, user_id=user.id, now=at("2026-11-05 18:00"))
    assert (view.current_streak, view.freezes_in_streak, view.freeze_used_on) == (3, 1, "2026-11-03")
    # Fri 6..Mon 9 missed: the run ends; Tue 10 starts again, with the new week's freeze unused.
    add_focus_blocks(db, user.id, [at("2026-11-10 10:00")])
    view = streaks.overview(db, user_id=user.id, now=at("2026-11-10 18:00"))
    assert (view.current_streak, view.freezes_in_streak, view.freeze_available) == (1, 0, True)


def test_account_columns_default_to_no_shift_and_no_goal(db):
    user = make_user(db)
    fresh = db.exec(select(User).where(User.id == user.id)).one()
    assert (fresh.day_start_minutes, fresh.weekly_goal_minutes) == (0, 0)
