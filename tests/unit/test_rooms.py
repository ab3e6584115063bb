"""Rooms service: validation, codes, access, presence, host transfer, closing, timer control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from sessions_app.models import Room, Task, User
from sessions_app.services import rooms
from sessions_app.services.errors import ServiceError
from sessions_app.settings import Settings
from tests.support.factories import make_user

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_create_room_defaults_and_host_is_first_member(db):
    ada = make_user(db).id
    room = rooms.create_room(db, host_id=ada, name="  Linear   algebra ", discipline="Mathematics", is_private=False)
    assert (room.name, room.focus_minutes, room.short_break_minutes, room.long_break_minutes,
            room.blocks_before_long_break) == ("Linear algebra", 25, 5, 15, 4)
    assert room.host_id == ada and [m.user_id for m in rooms.members(db, room.id)] == [ada]
    assert room.code is None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("focus_minutes", "14", "Focus must be between 15 and 60 minutes."),
    ("focus_minutes", "61", "Focus must be between 15 and 60 minutes."),
    ("short_break_minutes", "2", "Short break must be between 3 and 15 minutes."),
    ("long_break_minutes", "31", "Long break must be between 10 and 30 minutes."),
    ("blocks_before_long_break", "7", "Focus blocks before a long break must be between 2 and 6."),
    ("focus_minutes", "abc", "Focus must be a whole number of minutes."),
    ("focus_minutes", "2.5", "Focus must be a whole number of minutes."),
])
def test_out_of_range_values_are_refused_clearly(db, field, value, message):
    ada = make_user(db).id
    with pytest.raises(ServiceError) as err:
        rooms.create_room(db, host_id=ada, name="R", discipline="Law", is_private=False, **{field: value})
    assert err.value.message == message


def test_bad_name_and_discipline_are_refused(db):
    ada = make_user(db).id
    with pytest.raises(ServiceError, match="name"):
        rooms.create_room(db, host_id=ada, name="   ", discipline="Law", is_private=False)
    with pytest.raises(ServiceError, match="at most 60"):
        rooms.create_room(db, host_id=ada, name="x" * 61, discipline="Law", is_private=False)
    with pytest.raises(ServiceError, match="discipline"):
        rooms.create_room(db, host_id=ada, name="R", discipline="Astrology", is_private=False)


def test_private_codes_use_the_unambiguous_alphabet_and_are_case_insensitive(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = rooms.create_room(db, host_id=ada, name="Secret", discipline="Law", is_private=True)
    assert len(room.code) == 6 and not set(room.code) & set("01I")
    assert rooms.room_for_code(db, room.code.lower()).id == room.id
    with pytest.raises(ServiceError, match="private"):
        rooms.enter(db, room_id=room.id, user_id=bob)  # no code: refused
    rooms.enter(db, room_id=room.id, user_id=bob, code=room.code.lower())
    assert rooms.is_member(db, room.id, bob)
    with pytest.raises(ServiceError, match="No open room"):
        rooms.room_for_code(db, "ZZZZZZ")
    assert rooms.normalize_code("AB0CDE") is None  # a look-alike cannot be in a code


def test_host_passes_to_earliest_member_and_last_leave_closes_and_clears_tasks(db):
    ada, bob, cy = make_user(db).id, make_user(db, "Bob").id, make_user(db, "Cy").id
    room = rooms.create_room(db, host_id=ada, name="R", discipline="Law", is_private=True, now=T0)
    code = room.code
    rooms.enter(db, room_id=room.id, user_id=bob, code=code, now=T0 + timedelta(minutes=1))
    rooms.enter(db, room_id=room.id, user_id=cy, code=code, now=T0 + timedelta(minutes=2))
    db.add(Task(user_id=bob, room_id=room.id, text="chapter 3"))
    db.flush()
    result = rooms.leave(db, room_id=room.id, user_id=ada)
    assert result.new_host_id == bob and not result.closed
    assert rooms.leave(db, room_id=room.id, user_id=cy).new_host_id is None  # host stays Bob
    result = rooms.leave(db, room_id=room.id, user_id=bob)
    assert result.closed
    closed = db.get(Room, room.id)
    assert not closed.is_open and closed.code is None
    assert db.exec(select(Task).where(Task.room_id == room.id)).all() == []
    with pytest.raises(ServiceError, match="closed"):
        rooms.enter(db, room_id=room.id, user_id=ada)


def test_only_the_host_controls_the_timer(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = rooms.create_room(db, host_id=ada, name="R", discipline="Law", is_private=False)
    rooms.enter(db, room_id=room.id, user_id=bob)
    with pytest.raises(ServiceError, match="Only the host"):
        rooms.control_timer(db, room_id=room.id, user_id=bob, action="start", now=T0)
    with pytest.raises(ServiceError, match="Unknown"):
        rooms.control_timer(db, room_id=room.id, user_id=ada, action="explode", now=T0)
    started = rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    assert started.phase == "focus" and db.get(Room, room.id).phase_ends_at == T0 + timedelta(minutes=25)


def test_phase_advances_exactly_once_and_credits_present_members(db):
    ada = make_user(db).id
    room = rooms.create_room(db, host_id=ada, name="R", discipline="Law", is_private=False, now=T0)
    timer = rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    end = T0 + timedelta(minutes=25)
    assert rooms.advance_due(db, room_id=room.id, expected_seq=timer.seq, now=end - timedelta(seconds=1)) is None
    first = rooms.advance_due(db, room_id=room.id, expected_seq=timer.seq, now=end)
    assert first.timer.phase == "short_break" and len(first.completed) == 1
    assert [c.exp for c in first.credits] == [200]
    # A second worker with the same expected seq finds the work done.
    assert rooms.advance_due(db, room_id=room.id, expected_seq=timer.seq, now=end) is None
    assert db.get(User, ada).exp_total == 200


def test_time_scale_shortens_phases():
    room = Room(name="R", discipline="Law", focus_minutes=25, short_break_minutes=5, long_break_minutes=15)
    assert rooms.timer_config(room, 60).focus_ms == 25_000


def test_time_scale_is_refused_outside_test_mode():
    with pytest.raises(ValueError, match="TIME_SCALE"):
        Settings(sessions_env="dev", time_scale=60)
    with pytest.raises(ValueError):
        Settings(sessions_env="prod", time_scale=60, secret_key="x" * 40)
    assert Settings(sessions_env="test", time_scale=60).time_scale == 60


def test_production_refuses_the_default_secret():
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(sessions_env="prod")


def test_lobby_lists_public_open_rooms_with_counts(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    public = rooms.create_room(db, host_id=ada, name="Open", discipline="Law", is_private=False)
    rooms.create_room(db, host_id=bob, name="Hidden", discipline="Law", is_private=True)
    rooms.enter(db, room_id=public.id, user_id=bob)
    cards = rooms.lobby_rooms(db)
    assert [(c.name, c.count) for c in cards] == [("Open", 2)]


def test_code_guessing_is_rate_limited_per_user_and_client(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = rooms.create_room(db, host_id=ada, name="Secret", discipline="Law", is_private=True)
    for _ in range(3):
        with pytest.raises(ServiceError, match="No open room"):
            rooms.join_by_code(db, user_id=bob, code="ZZZZZZ", client="1.2.3.4", rate_limit="3/minute")
    with pytest.raises(ServiceError, match="Too many room codes"):
        rooms.join_by_code(db, user_id=bob, code=room.code, client="1.2.3.4", rate_limit="3/minute")
    assert not rooms.is_member(db, room.id, bob)  # refused even with the right code
