"""A host's timer action on its Core statements (``services.rooms.timing.control_timer``):
the row holds exactly what the action returned, and every caller or input the rules refuse
changes nothing — the one read and one compare-and-set must be as strict as the ORM path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sessions_app.models import Room
from sessions_app.services import rooms
from sessions_app.services.errors import ServiceError
from sessions_app.services.rooms.timing import timer_of
from tests.support.factories import make_room, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _row_timer(db, room_id):
    db.expire_all()
    return timer_of(db.get(Room, room_id))


def test_each_action_writes_what_it_returns(db):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada, focus_minutes=25)
    now = T0
    for action in ("start", "pause", "resume", "skip", "reset"):
        now += timedelta(minutes=1)
        returned = rooms.control_timer(db, room_id=room.id, user_id=ada, action=action, now=now)
        assert _row_timer(db, room.id) == returned, action
    assert returned.phase == "idle"


def test_a_room_this_session_loaded_earlier_shows_the_new_anchors(db):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    loaded = db.get(Room, room.id)
    assert loaded.phase == "idle"
    started = rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    assert (loaded.phase, loaded.phase_seq, loaded.phase_ends_at) == ("focus", started.seq, started.ends_at)


@pytest.mark.parametrize("who", ["member", "stranger", "host_who_left"])
def test_only_the_present_host_controls_and_a_refusal_changes_nothing(db, who):
    ada, bob = make_user(db, "Ada").id, make_user(db, "Bob").id
    room = make_room(db, ada)
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    if who == "member":
        rooms.enter(db, room_id=room.id, user_id=bob)
    if who == "host_who_left":
        rooms.enter(db, room_id=room.id, user_id=bob)  # the room stays open with Bob in it
        rooms.leave(db, room_id=room.id, user_id=ada, now=T0 + timedelta(minutes=1))
        db.get(Room, room.id).host_id = ada  # even if the row still names Ada as its host
        db.flush()
    caller = ada if who == "host_who_left" else bob
    before = _row_timer(db, room.id)
    with pytest.raises(ServiceError, match="Only the host"):
        rooms.control_timer(db, room_id=room.id, user_id=caller, action="pause", now=T0 + timedelta(minutes=2))
    assert _row_timer(db, room.id) == before


@pytest.mark.parametrize("room_id", ["abc", True, 0, -1, None, 10**30, "1; DROP TABLE room", 999])
def test_a_bad_or_unknown_room_id_is_refused_clearly(db, room_id):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    before = _row_timer(db, room.id)
    with pytest.raises(ServiceError, match="closed or does not exist"):
        rooms.control_timer(db, room_id=room_id, user_id=ada, action="start", now=T0)
    assert _row_timer(db, room.id) == before


def test_a_closed_room_is_refused(db):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    rooms.leave(db, room_id=room.id, user_id=ada, now=T0)  # the last one out closes it
    with pytest.raises(ServiceError, match="closed or does not exist"):
        rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)


@pytest.mark.parametrize("action", ["stop", "", None, ["start"], "START"])
def test_an_unknown_action_changes_nothing(db, action):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    with pytest.raises(ServiceError, match="Unknown timer action"):
        rooms.control_timer(db, room_id=room.id, user_id=ada, action=action, now=T0)
    assert _row_timer(db, room.id).phase == "idle"


def test_a_change_made_meanwhile_wins_over_a_stale_action(db, monkeypatch):
    """The compare-and-set: another worker moved the timer between this action's read and
    write; the action is refused instead of overwriting it."""
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    from sessions_app.services.rooms import timing

    real_pause = timing.timer.pause

    def pause_while_someone_skips(t, now):
        rooms.control_timer(db, room_id=room.id, user_id=ada, action="skip", now=now)
        return real_pause(t, now)

    monkeypatch.setattr(timing.timer, "pause", pause_while_someone_skips)
    with pytest.raises(ServiceError, match="just changed"):
        rooms.control_timer(db, room_id=room.id, user_id=ada, action="pause", now=T0 + timedelta(minutes=1))
    assert _row_timer(db, room.id).phase == "short_break"
