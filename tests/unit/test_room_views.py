"""What services hand the room page and the other states: the room snapshot with its timer
(``services.rooms.views``), the entry result, and the small reads that left ``state/`` (a
student's cosmetics, the host's name on a mute, the focus-chat switch, the OAuth zone)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from sessions_app.live.rooms import snapshot_vars, timer_vars
from sessions_app.models import User
from sessions_app.services import accounts, calls, cosmetics, quiet_focus, rooms
from sessions_app.services.errors import ServiceError
from sessions_app.services.timer import PHASE_LABELS
from tests.support.factories import make_room, make_user

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_snapshot_carries_the_room_its_timer_and_members(db):
    ada, bob = make_user(db, "Ada").id, make_user(db, "Bob").id
    room = make_room(db, ada, name="Algebra")
    rooms.enter(db, room_id=room.id, user_id=bob)
    snap = rooms.snapshot(db, room.id)
    assert (snap.room_id, snap.name, snap.host_id, snap.closed) == (room.id, "Algebra", ada, False)
    assert [m.name for m in snap.members] == ["Ada", "Bob"]
    assert snap.timer == rooms.TimerView()  # idle
    assert snap.running is None
    assert rooms.snapshot(db, room.id, with_members=False).members is None
    assert rooms.snapshot(db, 999_999) is None


def test_timer_view_spells_the_store_vars_and_follows_the_anchor(db):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    started = rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    view = rooms.timer_view(started)
    assert view.phase == "focus" and view.phase_label == PHASE_LABELS["focus"]
    assert view.ends_at_ms == round((T0 + timedelta(minutes=25)).timestamp() * 1000)
    assert view.paused_remaining_ms == -1
    assert rooms.running_anchor(started) == (started.seq, started.ends_at)
    # The service's returned timer is what the room row now holds (no second read needed).
    assert rooms.snapshot(db, room.id).timer == view
    paused = rooms.control_timer(db, room_id=room.id, user_id=ada, action="pause", now=T0 + timedelta(minutes=5))
    view = rooms.timer_view(paused)
    assert (view.ends_at_ms, view.paused_remaining_ms) == (0, 20 * 60_000)
    assert rooms.running_anchor(paused) is None
    # The store's var names ARE the fields: one spelling.
    assert set(timer_vars(view)) == {f.name for f in dataclasses.fields(rooms.TimerView)}
    assert set(timer_vars(view)) <= set(snapshot_vars(rooms.snapshot(db, room.id)))


def test_closed_room_snapshot_has_nothing_to_schedule(db):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    rooms.leave(db, room_id=room.id, user_id=ada, now=T0 + timedelta(minutes=1))
    snap = rooms.snapshot(db, room.id)
    assert snap.closed and snap.running is None and snap.members == []


def test_enter_room_says_whether_the_stint_is_new_and_refuses_like_enter(db):
    ada, bob = make_user(db, "Ada").id, make_user(db, "Bob").id
    public = make_room(db, ada)
    assert rooms.enter_room(db, room_id=public.id, user_id=bob) == rooms.Entry(public.id, True)
    assert rooms.enter_room(db, room_id=str(public.id), user_id=bob) == rooms.Entry(public.id, False)
    private = make_room(db, ada, private=True)
    with pytest.raises(ServiceError):
        rooms.enter_room(db, room_id=private.id, user_id=bob)
    assert rooms.enter_room(db, room_id=private.id, user_id=bob, code=private.code).is_new


def test_lobby_cards_use_the_same_anchors(db):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    paused = rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    paused = rooms.control_timer(db, room_id=room.id, user_id=ada, action="pause", now=T0 + timedelta(minutes=1))
    card = rooms.lobby_rooms(db)[0]
    view = rooms.timer_view(paused)
    assert (card.ends_at_ms, card.paused_remaining_ms, card.count) == (0, view.paused_remaining_ms, 1)


def test_wardrobe_is_the_level_and_the_looks_shown(db):
    low, high = make_user(db, "Low"), make_user(db, "High", exp=100_000)
    assert cosmetics.wardrobe(db, user_id=None) == cosmetics.Wardrobe()
    unlocked = next(o for o in cosmetics.options(cosmetics.NAME_COLOR, 99) if o.key)
    cosmetics.choose(db, user_id=high.id, kind=cosmetics.NAME_COLOR, key=unlocked.key)
    mine = cosmetics.wardrobe(db, user_id=high.id)
    assert mine.level > cosmetics.wardrobe(db, user_id=low.id).level
    assert mine.looks.name_color == unlocked.key


def test_focus_chat_switch_reads_the_room(db):
    ada = make_user(db, "Ada").id
    room = make_room(db, ada)
    assert quiet_focus.focus_chat_open(db, room.id) is False
    quiet_focus.set_focus_chat(db, room_id=room.id, user_id=ada, open_=True)
    assert quiet_focus.focus_chat_open(db, room.id) is True
    assert quiet_focus.focus_chat_open(db, 999_999) is False


def test_ask_to_mute_names_the_host_and_is_host_only(db):
    host, guest = make_user(db, "Hana"), make_user(db, "Gus")
    room = make_room(db, host.id)
    rooms.enter(db, room_id=room.id, user_id=guest.id)
    ref = calls.parse_ref("room", room.id)
    calls.join(db, ref, user_id=host.id, sid="s-host", token="t-host", max_size=8)
    calls.join(db, ref, user_id=guest.id, sid="s-guest", token="t-guest", max_size=8)
    assert calls.ask_to_mute(db, ref, host_id=host.id, target=guest.id) == calls.MuteAsk("s-guest", "Hana")
    with pytest.raises(ServiceError):
        calls.ask_to_mute(db, ref, host_id=guest.id, target=host.id)


def test_adopt_timezone_only_for_an_account_still_on_utc(db):
    fresh, set_ = make_user(db, "Fresh"), make_user(db, "Set", tz="Europe/Paris")
    accounts.adopt_timezone(db, user_id=fresh.id, timezone="Asia/Tokyo")
    accounts.adopt_timezone(db, user_id=set_.id, timezone="Asia/Tokyo")
    accounts.adopt_timezone(db, user_id=fresh.id, timezone="Not/AZone")  # ignored, not raised
    accounts.adopt_timezone(db, user_id=999_999, timezone="Asia/Tokyo")
    assert db.get(User, fresh.id).timezone == "Asia/Tokyo"
    assert db.get(User, set_.id).timezone == "Europe/Paris"
