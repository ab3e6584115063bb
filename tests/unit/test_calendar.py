"""Calendar export: .ics files parse back with icalendar, Google links, the private feed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from icalendar import Calendar
from sqlmodel import select
from starlette.applications import Starlette

from sessions_app.models import CalendarFeed, utcnow
from sessions_app.services import calendar, scheduled
from tests.support.factories import NOW, make_user, plan_session


def events(ics: bytes) -> list:
    cal = Calendar.from_ical(ics)
    assert cal["VERSION"] == "2.0" and "PRODID" in cal
    return list(cal.walk("VEVENT"))


def test_single_session_ics_parses_with_utc_times_and_title(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator, title="Eigenvalues; part 1, revisited")
    detail = scheduled.session_detail(db, session_id=session.id, viewer_id=creator, now=NOW)
    (event,) = events(calendar.session_ics(detail, now=NOW))
    assert event.decoded("DTSTART") == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 3, 10, 11, 47, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Eigenvalues; part 1, revisited"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]) == f"study-session-{session.id}@localhost"
    assert "https://discord.gg/abc123" in str(event["DESCRIPTION"])
    assert str(event["LOCATION"]) == "https://discord.gg/abc123"
    assert f"/sessions/{session.id}" in str(event["URL"])


def test_the_public_ics_has_no_meeting_link(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator)
    public = scheduled.session_detail(db, session_id=session.id, viewer_id=None, now=NOW)
    ics = calendar.session_ics(public, now=NOW)
    assert b"discord" not in ics
    (event,) = events(ics)
    assert "LOCATION" not in event


def test_google_calendar_link_format(db):
    creator = make_user(db, "Ada").id
    session = plan_session(db, creator, title="Linear algebra & more")
    inside = scheduled.session_detail(db, session_id=session.id, viewer_id=creator, now=NOW)
    link = calendar.google_calendar_link(inside)
    assert link.startswith("https://calendar.google.com/calendar/render?action=TEMPLATE&text=")
    assert "&dates=20260310T110000Z/20260310T114700Z&" in link  # the slash stays literal
    query = parse_qs(urlsplit(link).query)
    assert query["text"] == ["Linear algebra & more"]
    assert query["dates"] == ["20260310T110000Z/20260310T114700Z"]
    assert "Chapter 5" in query["details"][0]
    assert query["location"] == ["https://discord.gg/abc123"]
    outside = scheduled.session_detail(db, session_id=session.id, viewer_id=None, now=NOW)
    assert "discord" not in calendar.google_calendar_link(outside)


def test_a_cancelled_session_offers_no_google_calendar_event(db):
    creator, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    session = plan_session(db, creator)
    scheduled.join_session(db, session_id=session.id, user_id=bea, now=NOW)
    scheduled.cancel_session(db, session_id=session.id, user_id=creator, now=NOW)
    seen = scheduled.session_detail(db, session_id=session.id, viewer_id=bea, now=NOW)
    assert seen.status == "cancelled"
    assert calendar.google_calendar_link(seen) == ""  # the page shows no link to add it
    (event,) = events(calendar.session_ics(seen, now=NOW))  # the .ics still says what happened
    assert event["STATUS"] == "CANCELLED"


def test_feed_lists_joined_sessions_and_marks_cancelled_ones(db):
    ada, bea = make_user(db, "Ada").id, make_user(db, "Bea").id
    joined = plan_session(db, ada, title="Joined one")
    cancelled = plan_session(db, ada, title="Dropped one", date="2026-03-11")
    hosted = plan_session(db, bea, title="Bea hosts", date="2026-03-12")
    plan_session(db, ada, title="Not joined", date="2026-03-13")
    full = plan_session(db, ada, title="Waitlisted", capacity="1", date="2026-03-14")
    other = make_user(db, "Cem").id
    for sid in (joined.id, cancelled.id):
        scheduled.join_session(db, session_id=sid, user_id=bea, now=NOW)
    scheduled.join_session(db, session_id=full.id, user_id=other, now=NOW)
    scheduled.join_session(db, session_id=full.id, user_id=bea, now=NOW)  # waitlisted: not in the feed
    scheduled.cancel_session(db, session_id=cancelled.id, user_id=ada, now=NOW)

    by_title = {str(e["SUMMARY"]): e for e in events(calendar.feed_ics(db, user_id=bea, now=NOW))}
    assert set(by_title) == {"Joined one", "Cancelled: Dropped one", "Bea hosts"}
    assert str(by_title["Cancelled: Dropped one"]["STATUS"]) == "CANCELLED"
    assert str(by_title["Joined one"]["STATUS"]) == "CONFIRMED"
    assert by_title["Bea hosts"].decoded("DTSTART") == hosted.starts_at
    # An edit raises SEQUENCE so subscribed calendars apply it.
    assert int(by_title["Cancelled: Dropped one"]["SEQUENCE"]) >= 0


def test_feed_token_is_stored_hashed_shown_once_regenerated_and_revoked(db):
    bea = make_user(db, "Bea").id
    assert not calendar.has_feed(db, user_id=bea)
    token = calendar.create_feed_token(db, user_id=bea)
    row = db.exec(select(CalendarFeed)).one()
    assert row.token_hash != token and len(row.token_hash) == 64
    assert calendar.feed_ics_for_token(db, token=token) is not None
    assert calendar.feed_url(token).endswith(f"/calendar/{token}.ics")

    fresh = calendar.regenerate_feed_token(db, user_id=bea)
    assert fresh != token
    assert calendar.feed_ics_for_token(db, token=token) is None
    assert calendar.feed_ics_for_token(db, token=fresh) is not None
    assert len(db.exec(select(CalendarFeed)).all()) == 1

    calendar.revoke_feed(db, user_id=bea)
    assert calendar.feed_ics_for_token(db, token=fresh) is None
    assert not calendar.has_feed(db, user_id=bea)
    assert calendar.feed_ics_for_token(db, token="") is None
    assert calendar.feed_ics_for_token(db, token=None) is None


def test_feed_http_route_serves_text_calendar(db, engine, monkeypatch):
    from sessions_app import calendar_routes
    from sessions_app import db as db_module

    bea = make_user(db, "Bea").id
    session = plan_session(db, bea, now=utcnow(), date=(utcnow() + timedelta(days=2)).date().isoformat())
    token = calendar.create_feed_token(db, user_id=bea)
    db.commit()
    monkeypatch.setattr(db_module, "get_engine", lambda: engine)
    app = Starlette(routes=[calendar_routes.CALENDAR_ROUTE])

    async def fetch(path: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get(path)

    response = asyncio.run(fetch(f"/calendar/{token}.ics"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "private" in response.headers["cache-control"]
    (event,) = events(response.content)
    assert str(event["SUMMARY"]) == session.title
    assert asyncio.run(fetch("/calendar/not-a-token.ics")).status_code == 404
    assert asyncio.run(fetch(f"/calendar/{token}")).status_code == 404


def test_download_filename_is_safe():
    assert calendar.ics_filename("Linear algebra: eigenvalues!") == "linear-algebra-eigenvalues.ics"
    assert calendar.ics_filename("../../etc/passwd") == "etc-passwd.ics"
    assert calendar.ics_filename("日本語") == "session.ics"
