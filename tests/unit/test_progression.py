"""Progression: level curve, block EXP, presence, streaks (time zones, DST), credits, heatmap."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, select

from sessions_app.models import FocusCredit, Room, RoomMember, User, utcnow
from sessions_app.services import progression as prog
from tests.support.factories import make_room, make_user

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)  # a Tuesday
BLOCK = timedelta(minutes=25)


# --- helpers --------------------------------------------------------------------------------


def stint(db: Session, room: Room, user: User, joined: datetime, left: datetime | None = None) -> None:
    db.add(RoomMember(room_id=room.id, user_id=user.id, joined_at=joined, left_at=left))
    db.flush()


def credit(db: Session, room: Room, seq: int, start: datetime = T0, length: timedelta = BLOCK,
           minutes: float = 25) -> list[prog.CreditResult]:
    return prog.credit_block(db, room_id=room.id, phase_seq=seq, block_start=start,
                             block_end=start + length, block_minutes=minutes)


def credits_of(db: Session, user: User) -> list[FocusCredit]:
    return list(db.exec(select(FocusCredit).where(FocusCredit.user_id == user.id)).all())


def exp_of(db: Session, user: User) -> int:
    return db.exec(select(User.exp_total).where(User.id == user.id)).one()


# --- level curve ----------------------------------------------------------------------------


def test_level_curve_values():
    assert prog.exp_for_level(0) == 0
    assert prog.exp_for_level(1) == 100
    assert prog.exp_for_level(5) == 3850
    assert prog.exp_for_level(10) == 127_850
    assert prog.level_for(0) == 0
    assert prog.level_for(99) == 0
    assert prog.level_for(100) == 1
    assert prog.level_for(3849) == 4
    assert prog.level_for(3850) == 5
    assert prog.level_for(127_850) == 10


def test_level_curve_has_no_cap():
    assert prog.level_for(prog.exp_for_level(60)) == 60
    assert prog.level_for(10**30) > 60


@given(st.integers(min_value=0, max_value=200))
def test_level_curve_is_strictly_increasing(level):
    assert prog.exp_for_level(level + 1) > prog.exp_for_level(level)


@given(st.integers(min_value=0, max_value=10**12))
def test_level_for_is_the_inverse_of_the_curve(exp):
    level = prog.level_for(exp)
    assert prog.exp_for_level(level) <= exp < prog.exp_for_level(level + 1)
    assert 0.0 <= prog.progress_in_level(exp) < 1.0


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_level_is_monotonic_in_exp(a, b):
    lo, hi = sorted((a, b))
    assert prog.level_for(lo) <= prog.level_for(hi)


# --- block EXP ------------------------------------------------------------------------------


def test_block_exp_values():
    assert prog.block_exp(25, 25) == 200
    assert prog.block_exp(50, 50) == 300
    assert prog.block_exp(25, 12.5) == 100  # half the block, half the EXP
    assert prog.block_exp(25, 5) == 40
    assert prog.block_exp(25, 4.99) == 0  # under 5 minutes earns nothing
    assert prog.block_exp(25, 1) == 0
    assert prog.block_exp(25, 90) == 200  # capped at the block
    assert prog.block_exp(0, 10) == 0


@given(st.floats(min_value=5, max_value=180), st.floats(min_value=0, max_value=200),
       st.floats(min_value=0, max_value=200))
def test_block_exp_is_monotonic_and_bounded(block, a, b):
    lo, hi = sorted((a, b))
    full = 100 + 4 * block
    assert 0 <= prog.block_exp(block, lo) <= prog.block_exp(block, hi) <= round(full)


@given(st.floats(min_value=5, max_value=180), st.floats(min_value=0, max_value=1))
def test_block_exp_is_proportional(block, fraction):
    present = block * fraction
    expected = 0 if present < 5 else (100 + 4 * block) * fraction
    assert abs(prog.block_exp(block, present) - expected) <= 0.5 + 1e-9


# --- presence -------------------------------------------------------------------------------


def test_present_minutes_overlap_open_and_merged_stints():
    end = T0 + BLOCK
    assert prog.present_minutes([(T0 - timedelta(hours=1), None)], T0, end) == 25
    assert prog.present_minutes([(T0 + timedelta(minutes=10), None)], T0, end) == 15
    assert prog.present_minutes([(T0 - timedelta(minutes=5), T0 + timedelta(minutes=5))], T0, end) == 5
    assert prog.present_minutes([(end, None)], T0, end) == 0  # joined as it ended
    assert prog.present_minutes([(T0 - timedelta(hours=2), T0 - timedelta(hours=1))], T0, end) == 0
    # Two tabs at once are not two people: the overlap is counted once.
    two_tabs = [(T0, T0 + timedelta(minutes=20)), (T0 + timedelta(minutes=10), None)]
    assert prog.present_minutes(two_tabs, T0, end) == 25
    gaps = [(T0, T0 + timedelta(minutes=5)), (T0 + timedelta(minutes=10), T0 + timedelta(minutes=15))]
    assert prog.present_minutes(gaps, T0, end) == 10


def test_present_minutes_scales_to_the_configured_block_length():
    # A time scale where a "minute" lasts a second: 25 "minutes" take 25 real seconds.
    end = T0 + timedelta(seconds=25)
    joined = T0 + timedelta(seconds=12.5)
    assert prog.present_minutes([(joined, None)], T0, end, block_minutes=25) == pytest.approx(12.5)
    assert prog.present_minutes([(joined, None)], T0, end) == pytest.approx(12.5 / 60)


_offsets = st.integers(min_value=-3600, max_value=3600)


@given(st.lists(st.tuples(_offsets, st.one_of(st.none(), st.integers(min_value=0, max_value=3600))),
                max_size=6))
def test_present_minutes_is_within_the_block(raw):
    stints = [(T0 + timedelta(seconds=a), None if d is None else T0 + timedelta(seconds=a + d))
              for a, d in raw]
    got = prog.present_minutes(stints, T0, T0 + BLOCK)
    assert 0 <= got <= 25 + 1e-9
    # Order never matters; adding a stint never lowers presence.
    assert got == pytest.approx(prog.present_minutes(list(reversed(stints)), T0, T0 + BLOCK))
    more = prog.present_minutes([*stints, (T0 + timedelta(minutes=3), T0 + timedelta(minutes=4))],
                                T0, T0 + BLOCK)
    assert more >= got - 1e-9


# --- streaks --------------------------------------------------------------------------------


def d(s: str) -> date:
    return date.fromisoformat(s)


def test_streaks_basic():
    today = d("2026-11-10")
    assert prog.streaks([], today) == (0, 0)
    assert prog.streaks([today], today) == (1, 1)
    run = [d("2026-11-07"), d("2026-11-08"), d("2026-11-09")]
    assert prog.streaks(run, today) == (3, 3)  # yesterday still counts: today is not over
    assert prog.streaks([*run, today, today], today) == (4, 4)
    assert prog.streaks(run, d("2026-11-11")) == (0, 3)  # a whole day missed
    older = [d("2026-10-01") + timedelta(days=i) for i in range(5)]
    assert prog.streaks([*older, *run], today) == (3, 5)


def test_streaks_cross_month_and_year_ends():
    days = [d("2026-12-30"), d("2026-12-31"), d("2027-01-01")]
    assert prog.streaks(days, d("2027-01-01")) == (3, 3)
    leap = [d("2028-02-28"), d("2028-02-29"), d("2028-03-01")]
    assert prog.streaks(leap, d("2028-03-02")) == (3, 3)


@given(st.lists(st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)), max_size=40),
       st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)))
def test_streak_properties(days, today):
    current, best = prog.streaks(days, today)
    assert 0 <= current <= best <= len(set(days))
    assert prog.streaks(list(reversed(days)), today) == (current, best)
    if days:
        assert best >= 1


def test_local_day_follows_the_zone_across_dst():
    # New York springs forward on 2026-03-08 (EST −5 → EDT −4).
    assert prog.local_day(datetime(2026, 3, 8, 4, 30, tzinfo=UTC), "America/New_York") == d("2026-03-07")
    # 04:30 UTC on 9 March is 00:30 EDT on the 9th (a fixed −5 offset would say the 8th).
    assert prog.local_day(datetime(2026, 3, 9, 4, 30, tzinfo=UTC), "America/New_York") == d("2026-03-09")
    # Berlin falls back on 2026-10-25 (CEST +2 → CET +1): 22:30 UTC is 23:30 on the 25th.
    assert prog.local_day(datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "Europe/Berlin") == d("2026-10-25")
    assert prog.local_day(datetime(2026, 10, 24, 22, 30, tzinfo=UTC), "Europe/Berlin") == d("2026-10-25")
    assert prog.local_day(T0, "Not/AZone") == T0.date()  # unknown zones fall back to UTC


def _late_block(db: Session, room: Room, seq: int, end: datetime) -> None:
    credit(db, room, seq, start=end - BLOCK)


def test_streak_across_spring_forward_in_new_york(db):
    user = make_user(db, tz="America/New_York")
    room = make_room(db)
    stint(db, room, user, datetime(2026, 3, 1, tzinfo=UTC))
    # 23:45 local on 7, 8 and 9 March: the UTC hour of "23:45" moves by one with DST.
    ends = [datetime(2026, 3, 8, 4, 45, tzinfo=UTC),   # 23:45 EST, 7 March
            datetime(2026, 3, 9, 3, 45, tzinfo=UTC),   # 23:45 EDT, 8 March
            datetime(2026, 3, 10, 3, 45, tzinfo=UTC)]  # 23:45 EDT, 9 March
    for seq, end in enumerate(ends, start=1):
        _late_block(db, room, seq, end)
    assert sorted(c.local_day for c in credits_of(db, user)) == ["2026-03-07", "2026-03-08", "2026-03-09"]
    s = prog.stats(db, user_id=user.id, today=d("2026-03-10"))
    assert (s.current_streak, s.best_streak) == (3, 3)
    # 10 March missed: that week's freeze bridges it (services/streaks.py); two missed days
    # in one week break the streak.
    assert prog.stats(db, user_id=user.id, today=d("2026-03-11")).current_streak == 3
    assert prog.stats(db, user_id=user.id, today=d("2026-03-12")).current_streak == 0


def test_streak_across_fall_back_in_berlin(db):
    user = make_user(db, tz="Europe/Berlin")
    room = make_room(db)
    stint(db, room, user, datetime(2026, 10, 20, tzinfo=UTC))
    ends = [datetime(2026, 10, 24, 21, 50, tzinfo=UTC),  # 23:50 CEST, 24 Oct
            datetime(2026, 10, 25, 22, 50, tzinfo=UTC),  # 23:50 CET, 25 Oct (a fixed +2 says 26th)
            datetime(2026, 10, 26, 22, 50, tzinfo=UTC)]  # 23:50 CET, 26 Oct
    for seq, end in enumerate(ends, start=1):
        _late_block(db, room, seq, end)
    assert sorted(c.local_day for c in credits_of(db, user)) == ["2026-10-24", "2026-10-25", "2026-10-26"]
    s = prog.stats(db, user_id=user.id, today=d("2026-10-27"))
    assert (s.current_streak, s.best_streak) == (3, 3)


def test_same_blocks_are_different_days_in_different_zones(db):
    tokyo = make_user(db, "Kenji", tz="Asia/Tokyo")
    la = make_user(db, "Lupe", tz="America/Los_Angeles")
    room = make_room(db)
    for user in (tokyo, la):
        stint(db, room, user, datetime(2026, 6, 1, tzinfo=UTC))
    # Blocks ending 16:00 UTC on two consecutive days: 01:00 next day in Tokyo, 09:00 in LA.
    for seq, day in enumerate((1, 2), start=1):
        _late_block(db, room, seq, datetime(2026, 6, day, 16, 0, tzinfo=UTC))
    assert sorted(c.local_day for c in credits_of(db, tokyo)) == ["2026-06-02", "2026-06-03"]
    assert sorted(c.local_day for c in credits_of(db, la)) == ["2026-06-01", "2026-06-02"]
    # On 3 June the LA student's last day (the 2nd) was yesterday; the Tokyo one studied today.
    assert prog.stats(db, user_id=la.id, today=d("2026-06-03")).current_streak == 2
    assert prog.stats(db, user_id=tokyo.id, today=d("2026-06-04")).current_streak == 2
    # The 3rd missed: the week's freeze keeps it alive; the 3rd and 4th missed end it.
    assert prog.stats(db, user_id=la.id, today=d("2026-06-04")).current_streak == 2
    assert prog.stats(db, user_id=la.id, today=d("2026-06-05")).current_streak == 0


# --- crediting blocks -----------------------------------------------------------------------


def test_full_block_credits_200_and_levels_up(db):
    user = make_user(db)
    room = make_room(db)
    stint(db, room, user, T0 - timedelta(minutes=3))
    [result] = credit(db, room, seq=1)
    assert result == prog.CreditResult(user_id=user.id, exp=200, minutes=25, new_total=200, level_up=True)
    [row] = credits_of(db, user)
    assert (row.exp, row.minutes_present, row.local_day, row.phase_seq) == (200, 25, "2026-11-03", 1)
    assert exp_of(db, user) == 200


def test_level_up_only_when_a_level_boundary_is_crossed(db):
    user = make_user(db, exp=200)  # level 1; level 2 needs 350
    room = make_room(db)
    stint(db, room, user, T0)
    [first] = credit(db, room, seq=1, length=timedelta(minutes=10), minutes=10)  # 140 EXP → 340
    assert (first.exp, first.new_total, first.level_up) == (140, 340, False)
    [second] = credit(db, room, seq=2, start=T0 + timedelta(hours=1), length=timedelta(minutes=10), minutes=10)
    assert (second.new_total, second.level_up) == (480, True)


def test_crediting_the_same_block_twice_credits_once(db):
    user = make_user(db)
    room = make_room(db)
    stint(db, room, user, T0)
    assert len(credit(db, room, seq=7)) == 1
    db.commit()
    assert credit(db, room, seq=7) == []
    db.commit()
    assert len(credits_of(db, user)) == 1
    assert exp_of(db, user) == 200
    # The same phase number in another room is another block.
    other = make_room(db)
    stint(db, other, user, T0)
    assert len(credit(db, other, seq=7)) == 1
    assert exp_of(db, user) == 400


def test_the_unique_constraint_is_the_guarantee(db):
    """Even past the fast-path check, a duplicate insert adds nothing and keeps exp_total."""
    user = make_user(db)
    room = make_room(db)
    kwargs = dict(user_id=user.id, room_id=room.id, phase_seq=1, block_end=T0 + BLOCK, minutes=25.0, exp=200)
    assert prog._credit_one(db, **kwargs) is not None
    assert prog._credit_one(db, **kwargs) is None
    db.commit()
    assert len(credits_of(db, user)) == 1
    assert exp_of(db, user) == 200


def test_concurrent_credits_of_one_block_credit_once(engine):
    with Session(engine) as setup:
        users = [make_user(setup, f"S{i}") for i in range(3)]
        room = make_room(setup)
        for user in users:
            stint(setup, room, user, T0)
        setup.commit()
        room_id, user_ids = room.id, [u.id for u in users]

    barrier = threading.Barrier(4)
    results: list[list[prog.CreditResult]] = []
    errors: list[BaseException] = []

    def worker():
        try:
            with Session(engine, expire_on_commit=False) as db:
                barrier.wait()
                got = prog.credit_block(db, room_id=room_id, phase_seq=1, block_start=T0,
                                        block_end=T0 + BLOCK, block_minutes=25)
                db.commit()
                results.append(got)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(r.user_id for got in results for r in got) == sorted(user_ids)
    with Session(engine) as db:
        assert len(db.exec(select(FocusCredit)).all()) == 3
        assert set(db.exec(select(User.exp_total)).all()) == {200}


def test_joining_halfway_earns_half(db):
    user = make_user(db)
    room = make_room(db)
    stint(db, room, user, T0 + timedelta(minutes=12, seconds=30))
    [result] = credit(db, room, seq=1)
    assert (result.exp, result.minutes) == (100, 12.5)


def test_leaving_halfway_earns_half_and_rejoining_adds_up(db):
    leaver, rejoiner = make_user(db, "L"), make_user(db, "R")
    room = make_room(db)
    stint(db, room, leaver, T0 - timedelta(minutes=1), T0 + timedelta(minutes=12, seconds=30))
    stint(db, room, rejoiner, T0, T0 + timedelta(minutes=10))
    stint(db, room, rejoiner, T0 + timedelta(minutes=15), None)
    got = {r.user_id: r for r in credit(db, room, seq=1)}
    assert got[leaver.id].exp == 100
    assert (got[rejoiner.id].minutes, got[rejoiner.id].exp) == (20, 160)


def test_a_tab_that_joined_for_the_last_minute_earns_nothing(db):
    late, early = make_user(db, "Late"), make_user(db, "Early")
    room = make_room(db)
    stint(db, room, late, T0 + timedelta(minutes=24))
    stint(db, room, early, T0)
    results = credit(db, room, seq=1)
    assert [r.user_id for r in results] == [early.id]
    assert credits_of(db, late) == []
    assert exp_of(db, late) == 0


def test_stints_outside_the_block_and_other_rooms_earn_nothing(db):
    user = make_user(db)
    room, other = make_room(db), make_room(db)
    stint(db, room, user, T0 - timedelta(hours=2), T0 - timedelta(hours=1))
    stint(db, room, user, T0 + BLOCK, None)  # joined as the block ended
    stint(db, other, user, T0)
    assert credit(db, room, seq=1) == []


def test_time_scaled_block_credits_by_configured_minutes(db):
    # e2e tests run 25-"minute" blocks that last 25 seconds.
    full, half = make_user(db, "Full"), make_user(db, "Half")
    room = make_room(db)
    stint(db, room, full, T0)
    stint(db, room, half, T0 + timedelta(seconds=12.5))
    got = {r.user_id: r for r in credit(db, room, seq=1, length=timedelta(seconds=25), minutes=25)}
    assert (got[full.id].exp, got[full.id].minutes) == (200, 25)
    assert got[half.id].exp == 100


def test_credit_block_refuses_naive_times_and_ignores_empty_blocks(db):
    room = make_room(db)
    with pytest.raises(ValueError):
        prog.credit_block(db, room_id=room.id, phase_seq=1, block_start=T0.replace(tzinfo=None),
                          block_end=(T0 + BLOCK).replace(tzinfo=None), block_minutes=25)
    assert prog.credit_block(db, room_id=room.id, phase_seq=1, block_start=T0, block_end=T0,
                             block_minutes=25) == []


# --- stats and heatmap ----------------------------------------------------------------------


def test_stats_of_a_new_student_are_zero(db):
    user = make_user(db)
    s = prog.stats(db, user_id=user.id, today=d("2026-11-03"))
    assert s == prog.Stats(focus_hours=0.0, blocks_completed=0, current_streak=0, best_streak=0,
                           exp_total=0, level=0, progress=0.0)


def test_stats_sum_present_minutes_and_blocks(db):
    user = make_user(db)
    room = make_room(db)
    stint(db, room, user, T0 + timedelta(minutes=5))  # 20 min of the first block
    credit(db, room, seq=1)
    credit(db, room, seq=3, start=T0 + timedelta(minutes=30))
    credit(db, room, seq=5, start=T0 + timedelta(days=1))
    s = prog.stats(db, user_id=user.id, today=d("2026-11-04"))
    assert s.blocks_completed == 3
    assert s.focus_hours == round(70 / 60, 1)
    assert (s.current_streak, s.best_streak) == (2, 2)
    assert s.exp_total == 160 + 200 + 200
    assert s.level == prog.level_for(560)
    assert s.progress == pytest.approx(prog.progress_in_level(560))


def test_stats_default_today_is_the_students_local_day(db):
    user = make_user(db, tz="Pacific/Kiritimati")  # UTC+14: rarely the same day as UTC
    room = make_room(db)
    now = utcnow()
    stint(db, room, user, now - timedelta(hours=1))
    credit(db, room, seq=1, start=now - BLOCK)
    assert prog.stats(db, user_id=user.id).current_streak == 1


def test_heatmap_shape_and_buckets(db):
    user = make_user(db)
    room = make_room(db)
    stint(db, room, user, T0 - timedelta(days=400))
    credit(db, room, seq=1)                                                 # 25 min on 3 Nov
    credit(db, room, seq=2, start=T0 + timedelta(minutes=30), length=timedelta(minutes=20), minutes=20)
    credit(db, room, seq=3, start=T0 - timedelta(days=2))                   # 25 min on 1 Nov
    credit(db, room, seq=4, start=T0 - timedelta(days=380))                 # too old to show
    today = d("2026-11-05")  # a Thursday
    days = prog.heatmap(db, user_id=user.id, today=today)
    first, last = d(days[0].date), d(days[-1].date)
    assert first.weekday() == 6  # columns start on Sunday
    assert last == today
    assert len(days) == 52 * 7 + 5  # 52 full weeks + Sunday..Thursday
    assert (len(days) + 6) // 7 == 53
    by_date = {h.date: h for h in days}
    assert by_date["2026-11-03"] == prog.HeatDay("2026-11-03", 45, 2, "45 min on Tue 3 Nov 2026")
    assert by_date["2026-11-01"].minutes == 25
    # Missed between two studied days: that week's streak freeze bridged it (services/streaks.py).
    assert by_date["2026-11-02"] == prog.HeatDay("2026-11-02", 0, 0,
                                                 "No focus on Mon 2 Nov 2026, bridged by a streak freeze", True)
    assert [h.date for h in days if h.frozen] == ["2026-11-02"]
    assert sum(h.minutes for h in days) == 70
    assert [prog.heat_level(m) for m in (0, 1, 24, 25, 49, 50, 119, 120, 600)] == [0, 1, 1, 2, 2, 3, 3, 4, 4]


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)))
def test_heatmap_always_has_53_columns_starting_sunday(today):
    start = prog.heatmap_start(today)
    assert start.weekday() == 6
    assert 52 * 7 < (today - start).days + 1 <= 53 * 7
    labels = prog.month_labels(today)
    assert len(labels) == 53
    assert 11 <= sum(1 for x in labels if x) <= 13


def test_credits_roll_back_with_the_callers_transaction(db):
    """Called after the timer's compare-and-set write, credits share its fate."""
    user = make_user(db)
    room = make_room(db)
    stint(db, room, user, T0)
    db.commit()
    room.phase_seq = 1  # stands in for the timer's compare-and-set on the phase
    db.add(room)
    db.flush()
    assert len(credit(db, room, seq=1)) == 1
    db.rollback()
    assert credits_of(db, user) == []
    assert exp_of(db, user) == 0
    assert len(credit(db, room, seq=1)) == 1  # the retried transition credits it then
