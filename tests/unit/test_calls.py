"""The call rules (services/calls.py): who may join, where a signal may go, host moderation,
signal sanitizing and TURN REST credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest

from sessions_app.services import calls, rooms, scheduled
from sessions_app.services.calls import CallRef
from sessions_app.services.errors import ServiceError
from tests.support.factories import NOW, make_room, make_user, plan_session

OFFER = {"type": "offer", "sdp": "v=0\r\n"}


@pytest.fixture
def room_call(db):
    host, guest, outsider = make_user(db, "Hana"), make_user(db, "Gus"), make_user(db, "Olga")
    room = make_room(db, host.id, private=True)
    rooms.enter(db, room_id=room.id, user_id=guest.id, code=room.code)
    db.commit()
    return CallRef("room", room.id), host, guest, outsider


def _join(db, ref, user, sid, max_size=12):
    return calls.join(db, ref, user_id=user.id, sid=sid, token=f"tok-{sid}", max_size=max_size)


def test_members_join_and_signal_only_each_other(db, room_call):
    ref, host, guest, outsider = room_call
    assert calls.access(db, ref, host.id).is_host and not calls.access(db, ref, guest.id).is_host
    _join(db, ref, host, "s-host")
    result = _join(db, ref, guest, "s-guest")
    assert [p.name for p in result.peers] == ["Hana", "Gus"]
    assert calls.route_signal(db, ref, user_id=host.id, sid="s-host", to_user=guest.id) == "s-guest"
    with pytest.raises(ServiceError):  # the outsider may not join
        _join(db, ref, outsider, "s-out")
    with pytest.raises(ServiceError):  # nor signal, whatever socket they claim
        calls.route_signal(db, ref, user_id=outsider.id, sid="s-host", to_user=host.id)
    with pytest.raises(ServiceError):  # a member's other tab (another socket) is not in the call
        calls.route_signal(db, ref, user_id=host.id, sid="s-other", to_user=guest.id)
    with pytest.raises(ServiceError):  # to someone outside the call
        calls.route_signal(db, ref, user_id=host.id, sid="s-host", to_user=outsider.id)


def test_leaving_the_room_ends_the_right_to_signal(db, room_call):
    ref, host, guest, _ = room_call
    _join(db, ref, host, "s-host")
    _join(db, ref, guest, "s-guest")
    rooms.leave(db, room_id=ref.ref_id, user_id=guest.id)
    with pytest.raises(ServiceError):
        calls.route_signal(db, ref, user_id=guest.id, sid="s-guest", to_user=host.id)
    assert calls.drop_unauthorized(db, ref) == [(guest.id, "s-guest")]
    assert [p.user_id for p in calls.peers(db, ref)] == [host.id]


def test_a_second_tab_takes_over_and_a_reload_leaves(db, room_call):
    ref, host, _, _ = room_call
    _join(db, ref, host, "s-1")
    assert _join(db, ref, host, "s-2").replaced_sid == "s-1"
    assert not calls.leave(db, ref, user_id=host.id, sid="s-1")  # the old tab cannot end the new one
    assert calls.rebind(db, ref, user_id=host.id, token="tok-s-2", sid="s-3")  # same tab, new socket
    assert calls.member_sid(db, ref, host.id) == "s-3"
    assert calls.leave_tab(db, "tok-s-2") == [(ref, host.id, "")]
    assert calls.peers(db, ref) == []


def test_host_mutes_and_removes_for_good(db, room_call):
    ref, host, guest, _ = room_call
    _join(db, ref, host, "s-host")
    _join(db, ref, guest, "s-guest")
    with pytest.raises(ServiceError):
        calls.host_mute(db, ref, host_id=guest.id, target=host.id)
    assert calls.host_mute(db, ref, host_id=host.id, target=guest.id) == "s-guest"
    with pytest.raises(ServiceError):
        calls.host_remove(db, ref, host_id=guest.id, target=host.id)
    assert calls.host_remove(db, ref, host_id=host.id, target=guest.id) == (guest.id, "s-guest")
    with pytest.raises(ServiceError, match="removed"):
        _join(db, ref, guest, "s-guest-2")
    with pytest.raises(ServiceError):
        calls.route_signal(db, ref, user_id=guest.id, sid="s-guest", to_user=host.id)
    assert [p.user_id for p in calls.peers(db, ref)] == [host.id]


def test_a_full_call_refuses_newcomers(db, room_call):
    ref, host, guest, _ = room_call
    _join(db, ref, host, "s-host", max_size=1)
    with pytest.raises(ServiceError, match="full"):
        _join(db, ref, guest, "s-guest", max_size=1)


def test_cameras_on_focus_is_the_room_hosts_reminder(db, room_call):
    ref, host, guest, _ = room_call
    with pytest.raises(ServiceError):
        calls.set_cameras_on_focus(db, ref, host_id=guest.id, on=True)
    calls.set_cameras_on_focus(db, ref, host_id=host.id, on=True)
    assert calls.cameras_on_focus(db, ref)


def test_session_call_opens_with_the_chat_for_participants(db):
    creator, guest, outsider = make_user(db, "Sue"), make_user(db, "Sam"), make_user(db, "Otto")
    session = plan_session(db, creator.id)
    scheduled.join_session(db, session_id=session.id, user_id=guest.id, now=NOW)
    ref = CallRef("session", session.id)
    soon = session.starts_at - timedelta(minutes=10)
    assert not calls.access(db, ref, guest.id, now=session.starts_at - timedelta(minutes=30)).may_join
    assert calls.access(db, ref, guest.id, now=soon).may_join
    assert calls.access(db, ref, creator.id, now=soon).is_host
    assert not calls.access(db, ref, outsider.id, now=soon).may_join
    assert not calls.access(db, ref, guest.id, now=session.ends_at + timedelta(minutes=1)).may_join


def test_bad_references_and_signals_are_refused():
    for kind, ref_id in [("room", "x"), ("room", 0), ("lobby", 1), ("room", None), ("session", 2**40)]:
        with pytest.raises(ServiceError):
            calls.parse_ref(kind, ref_id)
    assert calls.clean_signal("offer", {**OFFER, "evil": "<script>"}) == OFFER
    for kind, data in [("offer", {"type": "answer", "sdp": "v=0"}), ("offer", {"type": "offer", "sdp": "x" * 30_000}),
                       ("ice", {"candidate": 5}), ("ice", {"candidate": "c", "sdpMLineIndex": True}), ("bye", {}),
                       ("offer", "v=0")]:
        with pytest.raises(ServiceError):
            calls.clean_signal(kind, data)


def test_turn_rest_credentials_follow_coturn():
    servers = calls.ice_servers(stun_urls=["stun:stun.example.org:3478"], turn_urls=["turn:turn.example.org:3478"],
                                turn_secret="s3cret", ttl_seconds=600, user_id=7, now=1_000_000)
    assert servers[0] == {"urls": ["stun:stun.example.org:3478"]}
    turn = servers[1]
    assert turn["username"] == "1000600:7"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1000600:7", hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected
    assert calls.ice_servers(stun_urls=[], turn_urls=["turn:x"], turn_secret="", ttl_seconds=600, user_id=1) == []
