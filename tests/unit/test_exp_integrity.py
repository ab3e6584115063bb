"""EXP integrity: one room at a time, no EXP for time the server could not see, bounded
catch-up after a long outage. Every test drives the real services with explicit times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from sessions_app.models import FocusCredit, Room, ServerHeartbeat, ServerOutage, User
from sessions_app.services import progression, rooms, timer, uptime
from tests.support import factories

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
FULL_BLOCK_EXP = progression.block_exp(25, 25)  # 200


def make_user(db, name="Ada") -> int:
    return factories.make_user(db, name).id


def open_room(db, host: int, *, at: datetime, name="Algebra") -> int:
    room = rooms.create_room(db, host_id=host, name=name, discipline="Mathematics", is_private=False, now=at)
    return room.id


def start(db, room_id: int, host: int, at: datetime) -> int:
    started = rooms.control_timer(db, room_id=room_id, user_id=host, action="start", now=at)
    return started.seq


def advance(db, room_id: int, seq: int, at: datetime) -> rooms.Advance | None:
    return rooms.advance_due(db, room_id=room_id, expected_seq=seq, now=at)


def credits_of(db, user_id: int) -> list[FocusCredit]:
    return list(db.exec(select(FocusCredit).where(FocusCredit.user_id == user_id)).all())


# --- one room at a time -------------------------------------------------------------------------


def test_three_rooms_at_once_earn_one_blocks_worth(db):
    """The attack: one account present in three rooms whose blocks run side by side."""
    ada = make_user(db)
    room_ids = [open_room(db, ada, at=T0 - timedelta(minutes=3 - i), name=f"Room {i}") for i in range(3)]
    seqs = [start(db, rid, ada, T0) for rid in room_ids]
    for rid, seq in zip(room_ids, seqs, strict=True):
        advance(db, rid, seq, T0 + timedelta(minutes=25, seconds=1))
    db.commit()

    earned = credits_of(db, ada)
    assert sum(c.exp for c in earned) == FULL_BLOCK_EXP  # not 3 × 200
    assert db.get(User, ada).exp_total == FULL_BLOCK_EXP
    # The room entered last is where the student is.
    assert [c.room_id for c in earned] == [room_ids[-1]]


def test_minutes_before_entering_another_room_still_count(db):
    """Opening a second room ten minutes into a block moves the earning there from then on."""
    ada, bea = make_user(db), make_user(db, "Bea")
    first = open_room(db, ada, at=T0 - timedelta(minutes=1))
    second = open_room(db, bea, at=T0 - timedelta(minutes=1), name="Physics")
    seq_first, seq_second = start(db, first, ada, T0), start(db, second, bea, T0)
    rooms.enter(db, room_id=second, user_id=ada, now=T0 + timedelta(minutes=10))
    end = T0 + timedelta(minutes=25, seconds=1)
    advance(db, first, seq_first, end)
    advance(db, second, seq_second, end)
    db.commit()

    by_room = {c.room_id: c.minutes_present for c in credits_of(db, ada)}
    assert by_room == {first: 10.0, second: 15.0}
    assert sum(c.minutes_present for c in credits_of(db, bea)) == 25.0  # Bea is unaffected


stint_times = st.tuples(st.integers(0, 60), st.integers(1, 60))  # (join minute, length)


@settings(max_examples=300, deadline=None)
@given(
    stints=st.lists(st.tuples(st.integers(0, 2), stint_times), min_size=1, max_size=6),
    blocks=st.lists(st.integers(0, 40), min_size=3, max_size=3),
)
def test_earning_spans_of_different_rooms_never_overlap(stints, blocks):
    """Whatever the stints and however the rooms' blocks are placed, no instant is credited
    in two rooms."""
    keyed = [(room, ((T0 + timedelta(minutes=j), i), T0 + timedelta(minutes=j),
                     T0 + timedelta(minutes=j + length)))
             for i, (room, (j, length)) in enumerate(stints)]
    def total_minutes(spans) -> float:  # merged length: overlaps counted once
        return progression.present_minutes(spans, T0 - timedelta(days=1), T0 + timedelta(days=1))

    per_room = []
    for room in range(3):
        start_at = T0 + timedelta(minutes=blocks[room])
        own = [s for r, s in keyed if r == room]
        elsewhere = [s for r, s in keyed if r != room]
        per_room.append(progression.earning_spans(own, elsewhere, [], start_at, start_at + timedelta(minutes=25)))
    # No overlap across rooms: the rooms' separate totals add up to the total of them all.
    assert abs(sum(total_minutes(spans) for spans in per_room) - total_minutes(sum(per_room, []))) < 1e-6


# --- the server's heartbeat and outages ----------------------------------------------------------


def test_heartbeat_is_written_rarely_and_a_short_gap_is_no_outage(db):
    assert uptime.note_alive(db, now=T0) is None
    for second in (1, 5, 14):  # within HEARTBEAT_EVERY: no write at all
        assert uptime.note_alive(db, now=T0 + timedelta(seconds=second)) is None
        assert db.get(ServerHeartbeat, 1).alive_at == T0
    assert uptime.note_alive(db, now=T0 + timedelta(seconds=50)) is None  # a slow loop, not an outage
    db.expire_all()
    assert db.get(ServerHeartbeat, 1).alive_at == T0 + timedelta(seconds=50)
    assert db.exec(select(ServerOutage)).all() == []


def test_a_long_gap_is_recorded_once(db):
    uptime.note_alive(db, now=T0)
    gap = uptime.note_alive(db, now=T0 + timedelta(minutes=40))
    assert gap == (T0, T0 + timedelta(minutes=40))
    assert uptime.note_alive(db, now=T0 + timedelta(minutes=40, seconds=1)) is None
    assert len(db.exec(select(ServerOutage)).all()) == 1


def test_a_block_that_ended_during_an_outage_credits_only_presence_seen(db):
    """The server saw Ada for the first 5 minutes of the block, then went down for 35
    minutes; the block ended while it was down. Ada earns for 5 minutes, not 25."""
    ada = make_user(db)
    room_id = open_room(db, ada, at=T0 - timedelta(minutes=1))
    seq = start(db, room_id, ada, T0)
    for second in range(0, 5 * 60 + 1, 15):  # the catch-up loop's heartbeat while up
        uptime.note_alive(db, now=T0 + timedelta(seconds=second))
    db.commit()

    back = T0 + timedelta(minutes=40)
    assert uptime.note_alive(db, now=back) == (T0 + timedelta(minutes=5), back)  # on restart
    advanced = advance(db, room_id, seq, back)
    db.commit()

    assert [c.user_id for c in advanced.credits] == [ada]
    (credit,) = credits_of(db, ada)
    assert credit.minutes_present == 5.0
    assert credit.exp == progression.block_exp(25, 5) < FULL_BLOCK_EXP
    assert db.get(User, ada).exp_total == credit.exp


def test_no_credit_at_all_for_a_block_entirely_inside_an_outage(db):
    ada = make_user(db)
    room_id = open_room(db, ada, at=T0 - timedelta(minutes=1))
    seq = start(db, room_id, ada, T0)
    uptime.note_alive(db, now=T0)
    back = T0 + timedelta(minutes=90)
    uptime.note_alive(db, now=back)
    advance(db, room_id, seq, back)
    db.commit()
    assert credits_of(db, ada) == []
    assert db.get(User, ada).exp_total == 0


# --- bounded catch-up ----------------------------------------------------------------------------


def test_catch_up_after_a_long_outage_is_bounded_and_stops_the_timer(db):
    """Three days down (no heartbeat recorded at all, e.g. a database from before heartbeats):
    the timer moves on through at most one cycle, then stops, instead of replaying ~140
    blocks and crediting every one of them."""
    ada = make_user(db)
    room_id = open_room(db, ada, at=T0 - timedelta(minutes=1))
    seq = start(db, room_id, ada, T0)
    advanced = advance(db, room_id, seq, T0 + timedelta(days=3))
    db.commit()

    room = db.get(Room, room_id)
    assert len(advanced.completed) <= room.blocks_before_long_break
    assert len(credits_of(db, ada)) <= room.blocks_before_long_break
    assert advanced.timer.phase == timer.IDLE and room.phase == timer.IDLE
    assert room.phase_ends_at is None  # nothing left to schedule
    assert room.cycles_completed == len(advanced.completed)


def test_a_normal_phase_end_still_moves_on_as_before(db):
    ada = make_user(db)
    room_id = open_room(db, ada, at=T0 - timedelta(minutes=1))
    seq = start(db, room_id, ada, T0)
    advanced = advance(db, room_id, seq, T0 + timedelta(minutes=25))
    assert advanced.timer.phase == timer.SHORT_BREAK
    assert advanced.timer.ends_at == T0 + timedelta(minutes=30)
    assert [c.exp for c in advanced.credits] == [FULL_BLOCK_EXP]
