"""Scheduled sessions: validation, UTC conversion, privacy, authorization, waitlist, notes, chat."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from sessions_app.db import session_scope
from sessions_app.models import SessionNote, SessionParticipant, StudySession
from sessions_app.services import account_data, scheduled
from sessions_app.services.errors import ServiceError
from tests.support.factories import NOW, make_user, plan_session, session_form

# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"title": "   "}, "title", "Enter a title"),
        ({"title": "x" * 121}, "title", "at most 120"),
        ({"description": "y" * 1001}, "description", "at most 1000"),
        ({"meeting_link": "javascript:alert(1)"}, "link", "https://"),
        ({"meeting_link": "ftp://files.example.com"}, "link", "https://"),
        ({"meeting_link": "https://"}, "link", "https://"),
        ({"meeting_link": "https://x.com/" + "a" * 500}, "link", "at most 500"),
        ({"date": ""}, "date", "Choose a date"),
        ({"date": "10/03/2026"}, "date", "YYYY-MM-DD"),
        ({"date": "2026-02-30"}, "date", "YYYY-MM-DD"),
        ({"start": ""}, "start", "start time"),
        ({"start": "25:00"}, "start", "HH:MM"),
        ({"end": "noon"}, "end", "HH:MM"),
        ({"end": "11:00"}, "end", "after the start"),
        ({"end": "12:00"}, "end", "after the start"),
        ({"date": "2026-03-01"}, "start", "in the past"),
        ({"start": "06:00", "end": "18:01"}, "end", "at most 12 hours"),
        ({"capacity": "0"}, "capacity", "1 to 1000"),
        ({"capacity": "1001"}, "capacity", "1 to 1000"),
        ({"capacity": "2.5"}, "capacity", "1 to 1000"),
        ({"capacity": "-3"}, "capacity", "1 to 1000"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone"),
    ],
)
def test_each_bad_field_is_refused_with_its_own_message(db, overrides, field, fragment):
    creator = make_user(db, "Ada").id
    with pytest.raises(ServiceError) as caught:
        plan_session(db, creator, **overrides)
    assert caught.value.field == field
    assert fragment in caught.value.message
    assert db.exec(select(StudySession)).all() == []


def test_valid_session_is_stored_in_utc_and_capacity_limits_are_inclusive(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator, capacity="1000", title="  Eigen  values ", meeting_link="")
    assert session.title == "Eigen values"
    assert session.meeting_link is None
    assert session.capacity == 1000
    # Berlin is UTC+1 in early March.
    assert session.starts_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert session.ends_at == datetime(2026, 3, 10, 11, 47, tzinfo=UTC)
    assert plan_session(db, creator, capacity="").capacity is None
    assert plan_session(db, creator, capacity=None).capacity is None
    assert plan_session(db, creator, capacity="1").capacity == 1
    longest = plan_session(db, creator, start="06:00", end="18:00")
    assert longest.ends_at - longest.starts_at == timedelta(hours=12)


def test_a_session_can_start_in_the_current_minute(db):
    creator = make_user(db, "Ada").id
    now = datetime(2026, 3, 10, 11, 0, 40, tzinfo=UTC)  # 12:00:40 in Berlin
    assert plan_session(db, creator, now=now).starts_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


# --- time zones ----------------------------------------------------------------------------------


def test_summer_time_offsets_are_applied(db):
    creator = make_user(db, "Ada").id
    summer = plan_session(db, creator, date="2026-07-14")
    assert summer.starts_at == datetime(2026, 7, 14, 10, 0, tzinfo=UTC)  # CEST, UTC+2
    new_york = plan_session(db, creator, date="2026-07-14", timezone="America/New_York")
    assert new_york.starts_at == datetime(2026, 7, 14, 16, 0, tzinfo=UTC)  # EDT, UTC-4


def test_a_session_across_the_spring_dst_change_has_its_real_length(db):
    creator = make_user(db, "Ada").id
    # Europe switches to summer time on 2026-03-29 at 02:00 local: 01:00–04:00 lasts 2 real hours.
    session = plan_session(db, creator, date="2026-03-29", start="01:00", end="04:00")
    assert session.starts_at == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    assert session.ends_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    # Noon that day is already summer time (UTC+2).
    assert plan_session(db, creator, date="2026-03-29").starts_at == datetime(2026, 3, 29, 10, 0, tzinfo=UTC)


def test_a_local_time_skipped_by_dst_is_refused(db):
    creator = make_user(db, "Ada").id
    with pytest.raises(ServiceError) as caught:
        plan_session(db, creator, date="2026-03-29", start="02:30", end="04:00")
    assert caught.value.field == "start"
    assert "does not exist" in caught.value.message


def test_a_repeated_local_time_means_its_first_occurrence(db):
    creator = make_user(db, "Ada").id
    # New York falls back on 2026-11-01: 01:30 happens twice; the first is EDT (UTC-4).
    session = plan_session(db, creator, date="2026-11-01", start="01:30", end="03:00", timezone="America/New_York",
                   now=datetime(2026, 10, 1, tzinfo=UTC))
    assert session.starts_at == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert session.ends_at == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # 03:00 EST


def test_times_are_formatted_in_the_viewers_zone_with_its_name():
    start, end = datetime(2026, 3, 10, 11, 0, tzinfo=UTC), datetime(2026, 3, 10, 11, 47, tzinfo=UTC)
    assert scheduled.format_time_range(start, end, "Europe/Berlin") == "Tue 10 Mar 2026 · 12:00–12:47 · Europe/Berlin (CET)"
    assert scheduled.format_time_range(start, end, "UTC") == "Tue 10 Mar 2026 · 11:00–11:47 · UTC"
    # In Tokyo (UTC+9) the same session runs 20:00–20:47.
    assert "20:00–20:47" in scheduled.format_time_range(start, end, "Asia/Tokyo")
    # Crossing midnight in the viewer's zone shows both days; an unknown zone falls back to UTC.
    late = scheduled.format_time_range(datetime(2026, 3, 10, 14, 30, tzinfo=UTC),
                                       datetime(2026, 3, 10, 15, 30, tzinfo=UTC), "Asia/Tokyo")
    assert late.startswith("Tue 10 Mar 2026 23:30 – Wed 11 Mar 00:30")
    assert scheduled.format_time_range(start, end, "Nowhere/Land").endswith("· UTC")


def test_edit_form_shows_times_in_the_editors_zone(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    values = scheduled.form_values(db, session_id=session.id, user_id=creator, tz_name="America/New_York")
    assert (values.date, values.start, values.end) == ("2026-03-10", "07:00", "07:47")  # EDT since 8 March
    assert values.capacity == "6" and values.meeting_link == "https://discord.gg/abc123"


# --- privacy ------------------------------------------------------------------------------------------


def test_the_public_sees_only_public_facts(db):
    creator = make_user(db, "Ada").id
    bea = make_user(db, "Bea").id
    stranger = make_user(db, "Stranger").id
    session = plan_session(db, creator)
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    for viewer in (None, stranger):
        detail = scheduled.session_detail(db, session_id=session.id, viewer_id=viewer, now=NOW)
        assert detail.title == session.title and detail.description == session.description
        assert detail.places_left == 5
        assert detail.meeting_link is None
        assert detail.participants == ()
        assert not detail.is_participant and not detail.chat_readable
        assert "Bea" not in repr(detail) and "Ada" not in repr(detail)
        assert "discord" not in repr(detail)
    assert scheduled.session_detail(db, session_id=session.id, viewer_id=stranger, now=NOW).can_join
    assert not scheduled.session_detail(db, session_id=session.id, viewer_id=None, now=NOW).can_join


def test_participants_and_the_host_see_names_and_link(db):
    creator = make_user(db, "Ada").id
    bea = make_user(db, "Bea").id
    session = plan_session(db, creator)
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    for viewer in (creator, bea):
        detail = scheduled.session_detail(db, session_id=session.id, viewer_id=viewer, now=NOW)
        assert detail.meeting_link == "https://discord.gg/abc123"
        assert [(p.display_name, p.is_creator) for p in detail.participants] == [("Ada", True), ("Bea", False)]
    assert scheduled.session_detail(db, session_id=session.id, viewer_id=creator, now=NOW).can_edit
    assert not scheduled.session_detail(db, session_id=session.id, viewer_id=bea, now=NOW).can_edit


def test_a_waitlisted_user_does_not_see_private_parts(db):
    creator = make_user(db, "Ada").id
    bea, cem = make_user(db, "Bea").id, make_user(db, "Cem").id
    session = plan_session(db, creator, capacity="1")
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    result = scheduled.join_session(db, session_id=session.id, user_id=cem, now=NOW)
    assert result.waitlisted and result.waitlist_position == 1
    detail = scheduled.session_detail(db, session_id=session.id, viewer_id=cem, now=NOW)
    assert detail.is_waitlisted and not detail.is_participant
    assert detail.meeting_link is None and detail.participants == ()
    assert detail.waitlist_position == 1 and detail.places_left == 0 and detail.can_leave


def test_an_unknown_session_is_a_clear_error(db):
    with pytest.raises(ServiceError, match="does not exist"):
        scheduled.session_detail(db, session_id=999, viewer_id=None, now=NOW)
    with pytest.raises(ServiceError, match="does not exist"):
        scheduled.join_session(db, session_id="1; drop table", user_id=1, now=NOW)  # type: ignore[arg-type]


# --- edit / cancel authorization ------------------------------------------------------------------------


def test_only_the_creator_can_edit_or_cancel(db):
    creator = make_user(db, "Ada").id
    mallory = make_user(db, "Mallory").id
    session = plan_session(db, creator)
    with pytest.raises(ServiceError, match="Only the person who planned"):
        scheduled.update_session(db, session_id=session.id, user_id=mallory, now=NOW, **session_form(title="Mine now"))
    with pytest.raises(ServiceError, match="Only the person who planned"):
        scheduled.cancel_session(db, session_id=session.id, user_id=mallory, now=NOW)
    with pytest.raises(ServiceError, match="Only the person who planned"):
        scheduled.form_values(db, session_id=session.id, user_id=mallory, tz_name="UTC")
    db.refresh(session)
    assert session.title == "Linear algebra: eigenvalues" and session.cancelled_at is None

    later = NOW + timedelta(minutes=5)
    edited = scheduled.update_session(db, session_id=session.id, user_id=creator, now=later,
                                      **session_form(title="Eigenvalues, part 2", end="13:30"))
    assert edited.title == "Eigenvalues, part 2"
    assert edited.ends_at == datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
    assert edited.updated_at == later
    cancelled = scheduled.cancel_session(db, session_id=session.id, user_id=creator, now=later)
    assert cancelled.cancelled_at == later
    with pytest.raises(ServiceError, match="cancelled"):
        scheduled.update_session(db, session_id=session.id, user_id=creator, now=later, **session_form())
    with pytest.raises(ServiceError, match="cancelled"):
        scheduled.join_session(db, session_id=session.id, user_id=mallory, now=later)
    detail = scheduled.session_detail(db, session_id=session.id, viewer_id=None, now=later)
    assert detail.status == "cancelled" and not detail.can_join


def test_ended_sessions_cannot_be_edited_or_cancelled(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    after = session.ends_at + timedelta(minutes=1)
    with pytest.raises(ServiceError, match="ended"):
        scheduled.update_session(db, session_id=session.id, user_id=creator, now=after, **session_form())
    with pytest.raises(ServiceError, match="ended"):
        scheduled.cancel_session(db, session_id=session.id, user_id=creator, now=after)


def test_a_running_session_keeps_its_start_when_edited(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    during = session.starts_at + timedelta(minutes=10)
    edited = scheduled.update_session(db, session_id=session.id, user_id=creator, now=during,
                                      **session_form(description="Room changed"))
    assert edited.description == "Room changed" and edited.starts_at == session.starts_at
    with pytest.raises(ServiceError, match="in the past") as caught:
        scheduled.update_session(db, session_id=session.id, user_id=creator, now=during, **session_form(start="11:00"))
    assert caught.value.field == "start"


def test_capacity_cannot_drop_below_people_already_in_and_raising_it_promotes(db):
    creator = make_user(db, "Ada").id
    people = [make_user(db, f"P{i}").id for i in range(4)]
    session = plan_session(db, creator, capacity="2")
    for uid in people:
        scheduled.join_session(db, session_id=session.id, user_id=uid, now=NOW)
    with pytest.raises(ServiceError) as caught:
        scheduled.update_session(db, session_id=session.id, user_id=creator, now=NOW, **session_form(capacity="1"))
    assert caught.value.field == "capacity" and "2 people" in caught.value.message
    scheduled.update_session(db, session_id=session.id, user_id=creator, now=NOW, **session_form(capacity="3"))
    rows = {r.user_id: r.waitlisted for r in db.exec(select(SessionParticipant))}
    assert rows == {people[0]: False, people[1]: False, people[2]: False, people[3]: True}
    scheduled.update_session(db, session_id=session.id, user_id=creator, now=NOW, **session_form(capacity=""))
    assert not any(r.waitlisted for r in db.exec(select(SessionParticipant)))


# --- join / leave / waitlist ---------------------------------------------------------------------------


def test_waitlist_is_first_come_first_served_and_promoted_automatically(db):
    creator = make_user(db, "Ada").id
    a, b, c = make_user(db, "A").id, make_user(db, "B").id, make_user(db, "C").id
    session = plan_session(db, creator, capacity="1")
    assert not scheduled.join_session(db, session_id=session.id, user_id=a, now=NOW).waitlisted
    assert scheduled.join_session(db, session_id=session.id, user_id=b, now=NOW).waitlist_position == 1
    assert scheduled.join_session(db, session_id=session.id, user_id=c, now=NOW).waitlist_position == 2
    # Joining again changes nothing.
    assert scheduled.join_session(db, session_id=session.id, user_id=c, now=NOW).waitlist_position == 2

    assert scheduled.leave_session(db, session_id=session.id, user_id=a, now=NOW) == [b]
    assert scheduled.session_detail(db, session_id=session.id, viewer_id=b, now=NOW).is_participant
    assert scheduled.session_detail(db, session_id=session.id, viewer_id=c, now=NOW).waitlist_position == 1
    # Leaving the waitlist frees no place and promotes nobody.
    assert scheduled.leave_session(db, session_id=session.id, user_id=c, now=NOW) == []
    assert scheduled.session_detail(db, session_id=session.id, viewer_id=None, now=NOW).places_left == 0


def test_the_host_neither_joins_nor_leaves(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    with pytest.raises(ServiceError, match="hosting"):
        scheduled.join_session(db, session_id=session.id, user_id=creator, now=NOW)
    with pytest.raises(ServiceError, match="Cancel it instead"):
        scheduled.leave_session(db, session_id=session.id, user_id=creator, now=NOW)


def test_joining_an_ended_session_is_refused(db):
    creator, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    session = plan_session(db, creator)
    with pytest.raises(ServiceError, match="ended"):
        scheduled.join_session(db, session_id=session.id, user_id=bea, now=session.ends_at)
    # A running session can still be joined.
    assert not scheduled.join_session(db, session_id=session.id, user_id=bea,
                                      now=session.starts_at + timedelta(minutes=5)).waitlisted


def test_capacity_holds_when_twenty_join_at_the_same_instant(engine):
    with session_scope(engine) as db:
        creator = make_user(db, "Host").id
        joiners = [make_user(db, f"Student {i}").id for i in range(20)]
        session_id = plan_session(db, creator, capacity="5").id
    barrier = threading.Barrier(len(joiners))
    errors: list[BaseException] = []

    def join(uid: int) -> None:
        try:
            barrier.wait()
            with session_scope(engine) as db:
                scheduled.join_session(db, session_id=session_id, user_id=uid, now=NOW)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=join, args=(uid,)) for uid in joiners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with Session(engine) as db:
        rows = db.exec(select(SessionParticipant).where(SessionParticipant.session_id == session_id)).all()
    assert len(rows) == 20
    assert sum(not r.waitlisted for r in rows) == 5
    assert sum(r.waitlisted for r in rows) == 15


def test_the_database_refuses_a_double_signup(db):
    creator, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    session = plan_session(db, creator)
    db.add(SessionParticipant(session_id=session.id, user_id=bea))
    db.flush()
    db.add(SessionParticipant(session_id=session.id, user_id=bea))
    with pytest.raises(Exception, match="(?i)unique"):
        db.flush()


# --- listing ----------------------------------------------------------------------------------------------


def test_listing_search_only_mine_past_and_cancelled(db):
    ada, bea, cem = make_user(db, "Ada").id, make_user(db, "Bea").id, make_user(db, "Cem").id
    algebra = plan_session(db, ada, title="Linear algebra", description="eigenvalues")
    law = plan_session(db, bea, title="Contract law", description="Offer and acceptance", date="2026-03-09")
    old = plan_session(db, bea, title="Old physics", date="2026-03-03")
    gone = plan_session(db, ada, title="Cancelled chemistry")
    scheduled.join_session(db, session_id=law.id, user_id=cem, now=NOW)
    scheduled.cancel_session(db, session_id=gone.id, user_id=ada, now=NOW)
    later = datetime(2026, 3, 5, tzinfo=UTC)

    everyone = scheduled.list_sessions(db, viewer_id=cem, now=later)
    assert [s.id for s in everyone.upcoming] == [law.id, algebra.id]  # soonest first, cancelled hidden
    assert [s.id for s in everyone.past] == [old.id]
    assert everyone.upcoming[0].is_participant and everyone.upcoming[0].places_left == 5

    assert [s.id for s in scheduled.list_sessions(db, viewer_id=cem, search="EIGEN", now=later).upcoming] == [algebra.id]
    assert scheduled.list_sessions(db, viewer_id=cem, search="100%", now=later).upcoming == ()
    assert [s.id for s in scheduled.list_sessions(db, viewer_id=cem, only_mine=True, now=later).upcoming] == [law.id]

    hosting = scheduled.list_sessions(db, viewer_id=ada, only_mine=True, now=later)
    assert {s.id for s in hosting.upcoming} == {algebra.id, gone.id}
    assert next(s for s in hosting.upcoming if s.id == gone.id).status == "cancelled"
    assert all(s.is_creator for s in hosting.upcoming)


# --- chat window ---------------------------------------------------------------------------------------------


def test_chat_opens_fifteen_minutes_before_start_and_is_read_only_after_the_end(db):
    creator, bea, stranger = make_user(db, "Ada").id, make_user(db, "Bea").id, make_user(db, "Eve").id
    session = plan_session(db, creator)
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    start, end = session.starts_at, session.ends_at
    assert not scheduled.chat_open(session, start - timedelta(minutes=15, seconds=1))
    assert scheduled.chat_open(session, start - timedelta(minutes=15))
    assert scheduled.chat_open(session, end - timedelta(seconds=1))
    assert not scheduled.chat_open(session, end)
    assert scheduled.chat_readable(session, end + timedelta(days=3))
    assert not scheduled.chat_readable(session, start - timedelta(minutes=16))

    during = start + timedelta(minutes=1)
    assert scheduled.chat_access(db, session_id=session.id, user_id=bea, now=during) == scheduled.ChatAccess(
        f"session:{session.id}", True, True)
    assert scheduled.chat_access(db, session_id=session.id, user_id=creator, now=during).can_write
    assert scheduled.chat_access(db, session_id=session.id, user_id=stranger, now=during) == scheduled.ChatAccess(
        f"session:{session.id}", False, False)
    after = scheduled.chat_access(db, session_id=session.id, user_id=bea, now=end + timedelta(minutes=1))
    assert after.can_read and not after.can_write

    scheduled.cancel_session(db, session_id=session.id, user_id=creator, now=NOW)
    db.refresh(session)
    assert not scheduled.chat_open(session, during) and not scheduled.chat_readable(session, during)


# --- notes ----------------------------------------------------------------------------------------------------


def test_notes_only_after_the_end_and_only_by_participants(db):
    creator, bea, cem, eve = (make_user(db, n).id for n in ("Ada", "Bea", "Cem", "Eve"))
    session = plan_session(db, creator, capacity="1")
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    scheduled.join_session(db, session_id=session.id, user_id=cem, now=NOW)  # waitlisted
    after = session.ends_at + timedelta(minutes=5)

    with pytest.raises(ServiceError, match="when the session has ended"):
        scheduled.save_note(db, session_id=session.id, user_id=bea, body="Too early", is_public=True,
                            now=session.ends_at - timedelta(minutes=1))
    for outsider in (eve, cem):
        with pytest.raises(ServiceError, match="Only people who took part"):
            scheduled.save_note(db, session_id=session.id, user_id=outsider, body="I was there", is_public=True,
                                now=after)
    with pytest.raises(ServiceError, match="Enter a note"):
        scheduled.save_note(db, session_id=session.id, user_id=bea, body="   ", is_public=True, now=after)
    with pytest.raises(ServiceError, match="at most 2000"):
        scheduled.save_note(db, session_id=session.id, user_id=bea, body="n" * 2001, is_public=True, now=after)

    scheduled.save_note(db, session_id=session.id, user_id=bea, body="Finished 5.1–5.4", is_public=False, now=after)
    scheduled.save_note(db, session_id=session.id, user_id=bea, body="Finished 5.1–5.6", is_public=True, now=after)
    scheduled.save_note(db, session_id=session.id, user_id=creator, body="Private thoughts", is_public=False,
                        now=after)
    assert len(db.exec(select(SessionNote).where(SessionNote.user_id == bea)).all()) == 1  # one per person

    inside = scheduled.session_detail(db, session_id=session.id, viewer_id=creator, now=after)
    assert [(n.author_name, n.body) for n in inside.public_notes] == [("Bea", "Finished 5.1–5.6")]
    assert inside.my_note is not None and inside.my_note.body == "Private thoughts"
    assert inside.can_write_note

    outside = scheduled.session_detail(db, session_id=session.id, viewer_id=eve, now=after)
    assert [(n.author_name, n.body) for n in outside.public_notes] == [("A participant", "Finished 5.1–5.6")]
    assert outside.my_note is None and not outside.can_write_note
    assert "Private thoughts" not in repr(outside)

    scheduled.delete_note(db, session_id=session.id, user_id=bea)
    assert scheduled.session_detail(db, session_id=session.id, viewer_id=None, now=after).public_notes == ()


def test_no_notes_on_a_cancelled_session(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    scheduled.cancel_session(db, session_id=session.id, user_id=creator, now=NOW)
    with pytest.raises(ServiceError, match="cancelled"):
        scheduled.save_note(db, session_id=session.id, user_id=creator, body="x", is_public=False,
                            now=session.ends_at + timedelta(hours=1))


def test_planning_is_rate_limited(db):
    creator = make_user(db, "Ada").id
    for _ in range(20):
        plan_session(db, creator)
    with pytest.raises(ServiceError, match=r"Try again in (\d+ minutes|an hour|a minute)\.$"):
        plan_session(db, creator)


def test_deleting_an_account_removes_its_sessions_signups_notes_and_feed(db):
    from sessions_app.models import CalendarFeed
    from sessions_app.services import calendar

    ada, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    hosted = plan_session(db, ada)
    other = plan_session(db, bea, title="Bea's session")
    scheduled.join_session(db, session_id=other.id, user_id=ada, now=NOW)
    scheduled.join_session(db, session_id=hosted.id, user_id=bea, now=NOW)
    scheduled.save_note(db, session_id=other.id, user_id=ada, body="Good one", is_public=True,
                        now=other.ends_at + timedelta(hours=1))
    calendar.create_feed_token(db, user_id=ada)
    db.commit()

    account_data.delete_account(db, user_id=ada)
    db.commit()
    assert db.exec(select(StudySession.id)).all() == [other.id]
    assert db.exec(select(SessionParticipant)).all() == []
    assert db.exec(select(SessionNote)).all() == []
    assert db.exec(select(CalendarFeed)).all() == []
