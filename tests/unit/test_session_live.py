"""Scheduled sessions meet the rest of the app: the live room a session opens as (and who the
room admits), account export and deletion, the public numbers broadcast to viewers, the
"not in the past" tolerance, and the URL helpers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from sessions_app import routes
from sessions_app.db import session_scope
from sessions_app.models import ChatMessage, Room, RoomMember, SessionParticipant, StudySession
from sessions_app.services import account_data, rooms, scheduled
from sessions_app.services.errors import ServiceError
from sessions_app.state import scheduled as scheduled_state
from tests.support.factories import NOW, make_user, plan_session, session_form

# The default session (see test_scheduled.form): 2026-03-10 12:00–12:47 Europe/Berlin.
START = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
DURING = START + timedelta(minutes=5)


def test_route_helpers_spell_the_session_urls():
    assert routes.session(42) == "/sessions/42"
    assert routes.session_edit(42) == "/sessions/42/edit"
    assert scheduled_state.session_id_from_path(routes.session_edit(7)) == 7


# --- "not in the past" with a minute of tolerance --------------------------------------------------


def test_a_start_in_the_previous_minute_is_accepted_and_earlier_is_refused(db):
    creator = make_user(db, "Ada").id
    now = datetime(2026, 3, 10, 10, 35, 5, tzinfo=UTC)  # 11:35:05 in Berlin
    ok = plan_session(db, creator, now=now, start="11:34", end="12:00")
    assert ok.starts_at == datetime(2026, 3, 10, 10, 34, tzinfo=UTC)
    with pytest.raises(ServiceError, match="in the past") as caught:
        plan_session(db, creator, now=now, start="11:33", end="12:00")
    assert caught.value.field == "start"


def test_next_change_is_chat_opening_then_start_then_end():
    start, end = START, START + timedelta(minutes=47)
    at = lambda now: scheduled.next_change(start, end, cancelled=False, now=now)  # noqa: E731
    assert at(START - timedelta(hours=1)) == START - timedelta(minutes=15)
    assert at(START - timedelta(minutes=15)) == START
    assert at(START) == end
    assert at(end) is None
    assert scheduled.next_change(start, end, cancelled=True, now=NOW) is None


# --- the live room ---------------------------------------------------------------------------------------


def test_live_room_is_created_once_private_named_after_the_session_and_hosted_by_its_creator(db):
    creator, bea, cem = make_user(db, "Ada").id, make_user(db, "Bea").id, make_user(db, "Cem").id
    session = plan_session(db, creator, title="Linear algebra: eigenvalues and eigenvectors, exercises 5.1 to 5.12")
    for uid in (bea, cem):
        scheduled.join_session(db, session_id=session.id, user_id=uid, now=NOW)

    first = scheduled.open_live_room(db, session_id=session.id, user_id=bea, now=DURING)
    assert first.created
    room = db.get(Room, first.room_id)
    # Private, and without a join code: its people get in through the session, nobody needs one.
    assert room.is_private and room.code is None and room.discipline == "Other"
    assert room.name == session.title[:59] + "…" and len(room.name) == 60
    # Bea opened it before the host arrived: she holds the role meanwhile.
    assert room.host_id == bea and rooms.is_member(db, room.id, bea)

    again = scheduled.open_live_room(db, session_id=session.id, user_id=cem, now=DURING)
    assert again == scheduled.LiveRoom(first.room_id, False, None)
    host = scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=DURING)
    assert host.room_id == first.room_id
    db.refresh(room)
    assert room.host_id == creator  # the creator hosts as soon as they arrive
    assert {m.user_id for m in rooms.members(db, room.id)} == {creator, bea, cem}
    assert db.get(StudySession, session.id).room_id == room.id
    assert len(db.exec(select(Room)).all()) == 1


def test_live_room_when_the_creator_opens_it_first(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    live = scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=START)
    room = db.get(Room, live.room_id)
    assert live.created and room.host_id == creator and rooms.is_member(db, room.id, creator)


def test_the_live_room_s_timer_runs_from_the_scheduled_minute(db):
    # PRODUCT.md: "the timer starts on the scheduled minute" — not when someone presses Start.
    creator, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    session = plan_session(db, creator)
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    live = scheduled.open_live_room(db, session_id=session.id, user_id=bea, now=DURING)  # 5 minutes late
    anchors = rooms.timer_of(db.get(Room, live.room_id))
    assert anchors.phase == "focus" and anchors.running
    assert anchors.started_at == START and anchors.ends_at == START + timedelta(minutes=25)
    assert live.running == (anchors.seq, anchors.ends_at)  # what the server schedules
    assert anchors.remaining_ms(DURING) == 20 * 60_000
    # Whoever comes next joins that same block; nothing restarts it.
    again = scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=DURING + timedelta(minutes=1))
    assert not again.created and again.running is None
    assert rooms.timer_of(db.get(Room, live.room_id)) == anchors


def test_a_live_room_opened_after_its_first_block_starts_a_block_then(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    late = START + timedelta(minutes=30)  # the first 25-minute block is over: nobody sat through it
    live = scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=late)
    anchors = rooms.timer_of(db.get(Room, live.room_id))
    assert anchors.phase == "focus" and anchors.started_at == late
    assert anchors.ends_at == late + timedelta(minutes=25)


def test_a_test_time_scale_shortens_the_live_room_s_first_block(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    live = scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=START, time_scale=60)
    anchors = rooms.timer_of(db.get(Room, live.room_id))
    assert anchors.ends_at == START + timedelta(seconds=25)


def test_live_room_refuses_outsiders_the_waitlist_and_the_wrong_time(db):
    creator, bea, cem, eve = (make_user(db, n).id for n in ("Ada", "Bea", "Cem", "Eve"))
    session = plan_session(db, creator, capacity="1")
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    scheduled.join_session(db, session_id=session.id, user_id=cem, now=NOW)  # waitlisted
    for uid in (eve, cem):
        with pytest.raises(ServiceError, match="Only people who joined"):
            scheduled.open_live_room(db, session_id=session.id, user_id=uid, now=DURING)
    with pytest.raises(ServiceError, match="opens at the start"):
        scheduled.open_live_room(db, session_id=session.id, user_id=bea, now=START - timedelta(seconds=1))
    with pytest.raises(ServiceError, match="ended"):
        scheduled.open_live_room(db, session_id=session.id, user_id=bea, now=session.ends_at)
    scheduled.cancel_session(db, session_id=session.id, user_id=creator, now=NOW)
    with pytest.raises(ServiceError, match="cancelled"):
        scheduled.open_live_room(db, session_id=session.id, user_id=bea, now=DURING)
    assert db.exec(select(Room)).all() == []


def test_a_closed_live_room_is_replaced_by_a_new_one(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    first = scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=DURING)
    assert rooms.leave(db, room_id=first.room_id, user_id=creator).closed
    second = scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=DURING)
    assert second.created and second.room_id != first.room_id
    assert db.get(StudySession, session.id).room_id == second.room_id


def test_live_room_is_created_exactly_once_when_everyone_presses_at_once(engine):
    with session_scope(engine) as db:
        creator = make_user(db, "Host").id
        people = [make_user(db, f"Student {i}").id for i in range(8)]
        session_id = plan_session(db, creator, capacity="").id
        for uid in people:
            scheduled.join_session(db, session_id=session_id, user_id=uid, now=NOW)
    barrier = threading.Barrier(len(people) + 1)
    results: list[scheduled.LiveRoom] = []
    errors: list[BaseException] = []

    def press(uid: int) -> None:
        try:
            barrier.wait()
            with session_scope(engine) as db:
                results.append(scheduled.open_live_room(db, session_id=session_id, user_id=uid, now=DURING))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=press, args=(uid,)) for uid in (creator, *people)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sum(r.created for r in results) == 1 and len({r.room_id for r in results}) == 1
    with Session(engine) as db:
        assert len(db.exec(select(Room)).all()) == 1
        assert len(db.exec(select(RoomMember)).all()) == len(people) + 1


def test_the_linked_room_admits_the_sessions_people_without_a_code(db):
    creator, bea, cem, eve = (make_user(db, n).id for n in ("Ada", "Bea", "Cem", "Eve"))
    session = plan_session(db, creator, capacity="1")
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    scheduled.join_session(db, session_id=session.id, user_id=cem, now=NOW)  # waitlisted
    room = db.get(Room, scheduled.open_live_room(db, session_id=session.id, user_id=creator, now=DURING).room_id)

    assert rooms.has_access(db, room, creator) and rooms.has_access(db, room, bea)
    assert not rooms.has_access(db, room, cem) and not rooms.has_access(db, room, eve)
    room_id, _ = rooms.enter(db, room_id=room.id, user_id=bea)
    assert room_id.id == room.id
    with pytest.raises(ServiceError, match="private"):
        rooms.enter(db, room_id=room.id, user_id=eve)
    # It has no code, so no code (not even "none") lets an outsider in.
    for code in (None, "", room.code):
        with pytest.raises(ServiceError, match="private"):
            rooms.enter(db, room_id=room.id, user_id=eve, code=code)
    # A cancelled session admits nobody new through it; another private room is untouched.
    scheduled.cancel_session(db, session_id=session.id, user_id=creator, now=NOW)
    assert not rooms.admitted_by_session(db, room.id, creator)
    other = rooms.create_room(db, host_id=eve, name="Other", discipline="Law", is_private=True)
    assert not rooms.has_access(db, other, bea)


# --- the public numbers broadcast to viewers ----------------------------------------------------------------


def test_public_places_and_the_list_broadcast_hold_numbers_only(db):
    creator, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    small = plan_session(db, creator, capacity="1", title="Small")
    open_ = plan_session(db, creator, capacity="", title="Open", meeting_link="https://secret.example.com/x")
    gone = plan_session(db, creator, title="Gone")
    old = plan_session(db, creator, title="Old", date="2026-03-03")
    scheduled.join_session(db, session_id=small.id, user_id=bea, now=NOW)
    scheduled.cancel_session(db, session_id=gone.id, user_id=creator, now=NOW)
    later = datetime(2026, 3, 5, tzinfo=UTC)

    places = scheduled.public_places(db, now=later)
    assert places == {small.id: (0, "upcoming"), open_.id: (None, "upcoming"), gone.id: (6, "cancelled")}
    assert old.id not in places
    with_now = scheduled_state.live_places(db, now=later)
    assert with_now[str(small.id)] == "Full · waitlist open"
    assert with_now[str(open_.id)] == "Unlimited places" and with_now[str(gone.id)] == "Cancelled"
    assert "secret" not in repr(with_now) and "Bea" not in repr(with_now)


def test_standing_names_the_viewers_relation(db):
    creator, bea, cem, eve = (make_user(db, n).id for n in ("Ada", "Bea", "Cem", "Eve"))
    session = plan_session(db, creator, capacity="1")
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    scheduled.join_session(db, session_id=session.id, user_id=cem, now=NOW)
    standing = lambda uid, sid=session.id: scheduled.standing(db, session_id=sid, user_id=uid)  # noqa: E731
    assert [standing(u) for u in (creator, bea, cem, eve, None)] == [
        "creator", "participant", "waitlisted", "none", "none"]
    assert standing(bea, 999) == "none"


def test_revisions_name_their_kind_and_are_unique():
    a, b = scheduled_state.new_rev("places"), scheduled_state.new_rev("places")
    assert a != b and scheduled_state.rev_kind(a) == "places"
    assert scheduled_state.rev_kind("garbage") == "" and scheduled_state.rev_kind(None) == ""
    assert scheduled_state.public_channel(7) == "session-7"


# --- account export and deletion ----------------------------------------------------------------------------


def test_export_has_the_users_sessions_signups_and_notes(db):
    ada, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    hosted = plan_session(db, ada, title="Ada's session")
    other = plan_session(db, bea, title="Bea's session")
    scheduled.join_session(db, session_id=other.id, user_id=ada, now=NOW)
    scheduled.save_note(db, session_id=other.id, user_id=ada, body="Good one", is_public=False,
                        now=other.ends_at + timedelta(hours=1))
    data = account_data.export_data(db, user_id=ada)
    assert [s["title"] for s in data["scheduled_sessions"]] == ["Ada's session"]
    assert data["scheduled_sessions"][0]["id"] == hosted.id
    assert [(s["session_id"], s["waitlisted"]) for s in data["session_signups"]] == [(other.id, False)]
    assert [n["body"] for n in data["session_notes"]] == ["Good one"]
    assert "Bea's session" not in repr(data)


def test_deleting_a_host_cancels_their_sessions_with_people_and_frees_their_places(db):
    ada, bea, cem = make_user(db, "Ada").id, make_user(db, "Bea").id, make_user(db, "Cem").id
    with_people = plan_session(db, ada, title="With people")
    plan_session(db, ada, title="Alone")
    full = plan_session(db, bea, title="Full one", capacity="1")
    scheduled.join_session(db, session_id=with_people.id, user_id=bea, now=NOW)
    scheduled.join_session(db, session_id=full.id, user_id=ada, now=NOW)
    scheduled.join_session(db, session_id=full.id, user_id=cem, now=NOW)  # waitlisted behind Ada
    db.add(ChatMessage(channel=scheduled.chat_channel(with_people.id), user_id=bea, body="hi"))
    db.commit()

    departure = account_data.delete_account(db, user_id=ada, now=NOW)
    assert departure == scheduled.Departure((with_people.id,), (full.id,))
    # Before the rows went, the session was cancelled (what open pages are told) and Cem,
    # first on the waitlist, got Ada's place.
    assert with_people.cancelled_at == NOW
    db.commit()
    assert {s.title for s in db.exec(select(StudySession))} == {"Full one"}
    assert [(r.user_id, r.waitlisted) for r in db.exec(select(SessionParticipant))] == [(cem, False)]
    assert db.exec(select(ChatMessage)).all() == []  # Bea's message in Ada's session went with it


def test_deleting_an_unknown_account_changes_nothing(db):
    assert account_data.delete_account(db, user_id=12345) == scheduled.Departure((), ())


def test_form_defaults_fill_every_field():
    assert set(session_form()) >= {"title", "date", "start", "end", "capacity", "timezone"}
