"""Scheduled sessions in real Chromium and over the raw WebSocket protocol.

Browsers: a host plans a session (in the account's time zone, the browser's at sign-up), a second student joins and
sees the meeting link, the participants and the chat, and chats live with the host; a third
sees none of that but watches the places left change live (detail page and list); the .ics
downloads and parses; the Google link carries the right dates; edits and a cancel reach the
participant live; at the start the session opens as a live room for its participants only.

Protocol: a non-participant's frames never carry names, the meeting link or chat; crafted
events (joining past capacity, posting in the chat, opening the live room) are refused.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar
from playwright.sync_api import Page, expect
from sqlmodel import select

from sessions_app.models import Room, SessionParticipant, StudySession, utcnow
from sessions_app.services import chat, scheduled
from sessions_app.state.scheduled import SessionDetailState
from sessions_app.state.session_chat import SessionChatState
from tests.e2e.conftest import goto, log_in_as
from tests.support.factories import app_db, new_login, pick_zone, plan_session, plan_session_now
from tests.support.protocol import ReflexClient, eventually, protocol_user, run, settle

DETAIL = SessionDetailState.get_full_name()
CHAT = SessionChatState.get_full_name()
XSS = '<img src=x onerror="window.__pwned=1"> <b>bold?</b>'


def plan_in_browser(page: Page, zone: str, title: str, start: datetime, end: datetime, *, capacity: str = "",
                    link: str = "", description: str = "") -> int:
    """Fill /sessions/new in the account's zone (the student's browser zone) and submit;
    returns the new id."""
    goto(page, "/sessions/new")
    expect(page.locator("#session-form-timezone")).to_have_text(zone)
    page.fill("#session-title", title)
    page.fill("#session-description", description)
    page.fill("#session-link", link)
    page.fill("#session-date", start.strftime("%Y-%m-%d"))
    page.fill("#session-start", start.strftime("%H:%M"))
    page.fill("#session-end", end.strftime("%H:%M"))
    page.fill("#session-capacity", capacity)
    page.click("#session-submit")
    page.wait_for_url(re.compile(r".*/sessions/\d+\?saved=new$"), timeout=20_000)
    expect(page.locator("#session-title")).to_have_text(title)
    return int(re.search(r"/sessions/(\d+)", page.url).group(1))


def shoot(page: Page, name: str) -> None:
    """With ``E2E_SCREENSHOTS=<dir>``: full-page screenshots at desktop width and at 375 px."""
    folder = os.environ.get("E2E_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=f"{folder}/{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.wait_for_timeout(300)  # layout settles (not a wait for the app)
    page.screenshot(path=f"{folder}/{name}-375.png", full_page=True)
    page.set_viewport_size(size)


def local_minute(zone: str, minutes: int = 0) -> datetime:
    """The current minute in ``zone`` (seconds dropped), shifted by ``minutes``."""
    return (datetime.now(ZoneInfo(zone)) + timedelta(minutes=minutes)).replace(second=0, microsecond=0)


def test_join_chat_privacy_calendar_edit_and_cancel(student):
    zone = pick_zone()
    host = student("Host Hedy", timezone_id=zone, at=None)
    guest = student("Guest Gus", timezone_id=zone, at=None)
    outsider = student("Outsider Olga", timezone_id=zone, at=None)
    start, title = local_minute(zone, 10), f"Eigenvalues {uuid.uuid4().hex[:6]}"
    end = start + timedelta(minutes=47)
    link = "https://meet.example.com/eigen-" + uuid.uuid4().hex[:6]
    sid = plan_in_browser(host.page, zone, title, start, end, capacity="2", link=link,
                       description="Chapter 5.\nBring exercises 1-12.")

    # The host: time in their zone with its name, places, themself as the first participant.
    expect(host.page.locator("#session-time")).to_contain_text(f"{start:%H:%M}–{end:%H:%M}")
    expect(host.page.locator("#session-time")).to_contain_text(zone)
    expect(host.page.locator("#session-places-left")).to_have_text("2")
    expect(host.page.locator("#session-participants .participant")).to_have_count(1)
    expect(host.page.locator("#session-chat")).to_be_visible()  # starts within 15 minutes
    expect(host.page.locator("#session-live-room")).to_have_count(0)  # not started yet
    expect(host.page.locator("#session-message")).to_have_text("Your session is planned. Share this page to invite people.")

    # The outsider watches the page and the list before anyone joins.
    goto(outsider.page, f"/sessions/{sid}")
    expect(outsider.page.locator("#session-places-left")).to_have_text("2")
    listing = outsider.context.new_page()
    goto(listing, "/sessions")
    card = listing.locator(f'#sessions-list .session-card[data-session-id="{sid}"]')
    expect(card.locator(".session-places")).to_have_text("2 places left")

    # The guest joins: link, participants and chat appear.
    goto(guest.page, f"/sessions/{sid}")
    expect(guest.page.locator("#session-link")).to_have_count(0)
    guest.page.click("#session-join")
    expect(guest.page.locator("#session-link")).to_have_attribute("href", link)
    expect(guest.page.locator("#session-participants .participant")).to_have_count(2)
    expect(guest.page.locator("#session-chat")).to_be_visible()
    expect(guest.page.locator("#session-places-left")).to_have_text("1")

    # Live, without a reload: the outsider's numbers (page and list), the host's participants.
    expect(outsider.page.locator("#session-places-left")).to_have_text("1")
    expect(card.locator(".session-places")).to_have_text("1 place left")
    expect(host.page.locator("#session-participants .participant")).to_have_count(2)

    # Chat: one message each way, live; text stays text.
    guest.page.fill("#session-chat-input", "hello host, ready for chapter 5?")
    guest.page.click("#session-chat-send")
    host_msgs = host.page.locator("#session-chat-messages .chat-message .chat-body")
    expect(host_msgs).to_have_text(["hello host, ready for chapter 5?"])
    expect(host.page.locator("#session-chat-messages .chat-author")).to_have_text(["Guest Gus"])
    host.page.fill("#session-chat-input", XSS)
    host.page.press("#session-chat-input", "Enter")
    expect(guest.page.locator("#session-chat-messages .chat-message .chat-body")).to_have_text(
        ["hello host, ready for chapter 5?", XSS])
    expect(guest.page.locator("#session-chat-input")).to_have_value("")
    assert guest.page.evaluate("window.__pwned") is None
    shoot(guest.page, "session-participant")
    shoot(listing, "sessions-list")

    # The outsider sees the public facts and none of the rest, not even in the page's HTML.
    for selector in ("#session-link", "#session-participants", "#session-chat", "#session-chat-input",
                     "#session-live-room", "#session-leave"):
        expect(outsider.page.locator(selector)).to_have_count(0)
    expect(outsider.page.locator("#session-join")).to_be_visible()
    html = outsider.page.content()
    for secret in (link, "Guest Gus", "Host Hedy", "hello host"):
        assert secret not in html
    shoot(outsider.page, "session-outsider")

    # Add to calendar: the .ics downloads and parses; the Google link has the UTC dates.
    with guest.page.expect_download() as dl_info:
        guest.page.click("#add-to-calendar")
    download = dl_info.value
    assert download.suggested_filename.endswith(".ics")
    (event,) = Calendar.from_ical(Path(download.path()).read_bytes()).walk("VEVENT")
    start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    assert str(event["SUMMARY"]) == title
    assert event.decoded("DTSTART") == start_utc and event.decoded("DTEND") == end_utc
    assert str(event["LOCATION"]) == link  # the guest may see the link
    google = guest.page.locator("#google-calendar").get_attribute("href")
    query = parse_qs(urlsplit(google).query)
    assert query["dates"] == [f"{start_utc:%Y%m%dT%H%M%SZ}/{end_utc:%Y%m%dT%H%M%SZ}"]
    assert query["text"] == [title]
    # The outsider's calendar file has no meeting link.
    with outsider.page.expect_download() as dl_info:
        outsider.page.click("#add-to-calendar")
    assert link not in Path(dl_info.value.path()).read_text(encoding="utf-8")

    # The host edits: participants and the outsider see the new title live; the guest is told.
    host.page.click("#session-edit")
    host.page.wait_for_url(f"**/sessions/{sid}/edit")
    expect(host.page.locator("#session-form-timezone")).to_have_text(zone)
    expect(host.page.locator("#session-title")).to_have_value(title)
    new_title = title + " (part 2)"
    host.page.fill("#session-title", new_title)
    host.page.click("#session-submit")
    host.page.wait_for_url(f"**/sessions/{sid}?saved=edit")
    expect(host.page.locator("#session-message")).to_have_text("Changes saved. Everyone who joined sees them.")
    for p in (guest.page, outsider.page):
        expect(p.locator("#session-title")).to_have_text(new_title)
    expect(guest.page.locator("#session-message")).to_contain_text("changed this session")

    # The guest leaves and comes back (places follow live), then the host cancels.
    guest.page.click("#session-leave")
    expect(outsider.page.locator("#session-places-left")).to_have_text("2")
    expect(guest.page.locator("#session-chat")).to_have_count(0)
    guest.page.click("#session-join")
    expect(outsider.page.locator("#session-places-left")).to_have_text("1")
    host.page.click("#session-cancel")
    host.page.click("#session-cancel-confirm")
    for p in (host.page, guest.page, outsider.page):
        expect(p.locator("#session-cancelled")).to_be_visible()
    expect(guest.page.locator("#session-chat")).to_have_count(0)
    expect(card.locator(".session-places")).to_have_text("Cancelled")
    # Nothing to add to a calendar any more: no Google link; the .ics (which says CANCELLED) stays.
    expect(guest.page.locator("#google-calendar")).to_have_count(0)
    expect(guest.page.locator("#add-to-calendar")).to_be_visible()
    shoot(guest.page, "session-cancelled")


def test_a_full_session_waitlists_with_one_notice_and_says_when_its_chat_opens(student, app_server):
    host, first, second = (student(name, at=None) for name in ("Host Ines", "First Finn", "Second Sia"))
    day = (utcnow() + timedelta(days=3)).date().isoformat()
    with app_db(app_server.database_url) as db:
        sid = plan_session(db, host.user_id, now=utcnow(), date=day, capacity="1", meeting_link="",
                           title=f"Days ahead {uuid.uuid4().hex[:6]}").id
    goto(first.page, f"/sessions/{sid}")
    first.page.click("#session-join")
    expect(first.page.locator("#session-message")).to_have_text("You're in. See you there!")
    # No meeting link and days to go: the page says where and when they will meet.
    expect(first.page.locator("#session-chat-opens")).to_contain_text("15 minutes before the start")
    expect(first.page.locator("#session-chat")).to_have_count(0)
    shoot(first.page, "session-days-ahead")

    goto(second.page, f"/sessions/{sid}")
    second.page.click("#session-join")
    expect(second.page.locator("#session-waitlist-position")).to_have_text("1")
    expect(second.page.locator("#session-message")).to_have_count(0)  # one notice, not a green twin
    shoot(second.page, "session-waitlisted")


def test_session_opens_as_a_live_room_for_its_participants(student, app_server):
    zone = pick_zone()
    host = student("Host Hanna", timezone_id=zone, at=None)
    guest = student("Guest Gita", timezone_id=zone, at=None)
    outsider = student("Outsider Otto", timezone_id=zone, at=None)
    start, title = local_minute(zone), f"Live now {uuid.uuid4().hex[:6]}"
    sid = plan_in_browser(host.page, zone, title, start, start + timedelta(minutes=30), capacity="3")
    expect(host.page.locator("#session-live-room")).to_be_visible()  # it has started

    goto(guest.page, f"/sessions/{sid}")
    expect(guest.page.locator("#session-live-room")).to_have_count(0)  # not in yet
    guest.page.click("#session-join")
    guest.page.click("#session-live-room")
    guest.page.wait_for_url("**/rooms/*")
    expect(guest.page.locator("#room-title")).to_have_text(title)
    room_id = int(guest.page.url.rstrip("/").rsplit("/", 1)[1])

    # The host arrives in the same room (created once) and hosts it.
    host.page.click("#session-live-room")
    host.page.wait_for_url(f"**/rooms/{room_id}")
    for p in (host.page, guest.page):
        expect(p.locator("#participant-list .participant")).to_have_count(2)
        expect(p.locator("#host-name")).to_have_text("Host Hanna")
    # The timer has run since the scheduled minute: nobody pressed Start (PRODUCT.md). (With the
    # tests' TIME_SCALE a block lasts 25 s, so it may be a break by now: never idle.)
    for p in (host.page, guest.page):
        expect(p.locator("#timer-phase")).not_to_have_text("idle")
    expect(host.page.locator("#timer-skip")).to_be_visible()  # the host still controls it
    expect(guest.page.locator("#timer-skip")).to_have_count(0)

    # Outsiders: no button, and the room itself refuses them (it is private, no code given).
    goto(outsider.page, f"/sessions/{sid}")
    expect(outsider.page.locator("#session-live-room")).to_have_count(0)
    goto(host.page, f"/sessions/{sid}")
    shoot(host.page, "session-live-host")
    goto(outsider.page, f"/rooms/{room_id}")
    expect(outsider.page.locator("#room-error").first).to_contain_text("private")
    expect(outsider.page.locator("#room-title")).to_have_count(0)
    with app_db(app_server.database_url) as db:
        assert db.get(StudySession, sid).room_id == room_id
        assert len(db.exec(select(Room).where(Room.name == title)).all()) == 1


def test_the_clock_opens_the_chat_and_ends_the_session_live(student, app_clock):
    # The app's clock moves to a second past a whole minute: the first session lasts from this
    # minute to the next, which leaves the test a minute of the app's time to join it.
    wall = datetime.now(UTC)
    minute = wall.replace(second=0, microsecond=0) + timedelta(minutes=1)
    ahead = (minute + timedelta(seconds=1) - wall).total_seconds()
    app_now = app_clock(ahead)
    zone = pick_zone(timedelta(minutes=50), now=app_now)
    host = student("Host Clara", timezone_id=zone, at=None)
    guest = student("Guest Tim", timezone_id=zone, at=None)
    now = app_now.astimezone(ZoneInfo(zone)).replace(second=0, microsecond=0)
    ending = plan_in_browser(host.page, zone, f"Ends soon {uuid.uuid4().hex[:6]}", now, now + timedelta(minutes=1))
    opening = plan_in_browser(host.page, zone, f"Opens soon {uuid.uuid4().hex[:6]}", now + timedelta(minutes=16),
                              now + timedelta(minutes=40))
    goto(guest.page, f"/sessions/{ending}")
    guest.page.click("#session-join")
    guest.page.fill("#session-chat-input", "last words before the end")
    guest.page.click("#session-chat-send")
    expect(guest.page.locator("#session-chat-messages .chat-body")).to_have_text(["last words before the end"])
    expect(guest.page.locator("#session-live-room")).to_be_visible()
    later = guest.context.new_page()
    goto(later, f"/sessions/{opening}")
    later.click("#session-join")
    expect(later.locator("#session-participants .participant")).to_have_count(2)
    expect(later.locator("#session-chat")).to_have_count(0)  # opens 15 minutes before the start

    # The clock skips to a second before the next minute (never back, if the test was slow):
    # there, without a reload, one chat opens and the other session ends.
    to_boundary = (now + timedelta(minutes=1) - timedelta(seconds=1) - datetime.now(UTC)).total_seconds()
    app_clock(max(ahead, to_boundary))
    expect(later.locator("#session-chat")).to_be_visible(timeout=10_000)
    expect(later.locator("#session-chat-input")).to_be_visible()
    expect(guest.page.locator("#session-chat-closed")).to_be_visible(timeout=10_000)
    expect(guest.page.locator("#session-chat-input")).to_have_count(0)
    expect(guest.page.locator("#session-chat-messages .chat-body")).to_have_text(["last words before the end"])
    expect(guest.page.locator("#session-live-room")).to_have_count(0)
    expect(guest.page.locator("#session-note-input")).to_be_visible()  # notes open after the end


# --- protocol ----------------------------------------------------------------------------------------


def _db_session(database_url: str, creator_id: int, capacity: int, link: str, title: str) -> int:
    """A session starting now for 40 minutes, straight in the app's database."""
    with app_db(database_url) as db:
        return plan_session_now(db, creator_id, title=title, description="Protocol check", meeting_link=link,
                                capacity=str(capacity)).id


def _db(database_url: str, fn):
    with app_db(database_url) as db:
        return fn(db)


async def follow(clients: list[ReflexClient]) -> None:
    """Send each client's latest broadcast revision back to ``sync``, as the page's
    ``on_change`` component does in a browser, and wait for the answers."""
    for client in clients:
        rev = client.last(DETAIL, "live_rev", "")
        if rev:
            await client.call(f"{DETAIL}.sync", rev=rev)
    await settle(clients)


def test_outsiders_receive_nothing_private_and_crafted_events_are_refused(app_server):
    url, dburl = app_server.url, app_server.database_url
    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Proto Hostess")
        a_id, a_token = protocol_user(dburl, "Proto Alma")
        _, b_token = protocol_user(dburl, "Proto Bruno")
        _, o_token = protocol_user(dburl, "Proto Outsider")
        link = "https://meet.example.com/proto-" + uuid.uuid4().hex[:8]
        title = "Protocol " + uuid.uuid4().hex[:6]
        sid = _db_session(dburl, host_id, 2, link, title)
        _db(dburl, lambda db: scheduled.join_session(db, session_id=sid, user_id=a_id))
        secret = "alma's secret plan " + uuid.uuid4().hex[:6]
        _db(dburl, lambda db: chat.post_message(db, channel=scheduled.chat_channel(sid), user_id=a_id, body=secret))
        path, query = f"/sessions/{sid}", {"session_id": str(sid)}

        alma = ReflexClient(url, a_token)
        await alma.open(path, query)
        outsider = ReflexClient(url, o_token)
        await outsider.open(path, query)
        # The check is meaningful: a participant does receive these.
        assert await eventually(lambda: link in alma.text() and "Proto Hostess" in alma.text() and secret in alma.text())
        assert await eventually(lambda: title in outsider.text() and outsider.last(DETAIL, "places_left") == 1)
        await settle([alma, outsider])

        # Bruno takes the last place through the page: everyone gets the numbers, live.
        bruno = ReflexClient(url, b_token)
        await bruno.open(path, query)
        assert await eventually(lambda: bruno.last(DETAIL, "places_left") == 1), "Bruno's page never loaded"
        await settle([alma, outsider, bruno])
        outsider.frames.clear()
        await bruno.call(f"{DETAIL}.join")
        assert await eventually(lambda: outsider.last(DETAIL, "places_left") == 0), "the outsider missed the numbers"
        await settle([alma, outsider, bruno])  # so a second frame would have arrived too
        assert outsider.last(DETAIL, "places_left") == 0
        assert len(outsider.frames) == 1  # one broadcast: the public numbers and a revision
        # What each browser's on_change component does with the broadcast revision.
        await follow([alma, outsider])
        assert await eventually(lambda: "Proto Bruno" in alma.text())  # the participant's private reload

        # A chat message reaches the participants as ONE frame each, and not the outsider.
        alma.frames.clear()
        outsider.frames.clear()
        await bruno.call(f"{CHAT}.send", form={"body": "bruno says hi"})
        assert await eventually(lambda: "bruno says hi" in alma.text() and "bruno says hi" in bruno.text()), \
            "the chat message never arrived"
        await settle([alma, outsider, bruno])  # so a second frame (or one to the outsider) would have arrived
        assert len(alma.frames) == 1 and outsider.frames == []
        assert any(m.body == "bruno says hi" for m in alma.chat(CHAT, keep=100))

        # Crafted: the outsider posts in the chat, opens the live room, joins past capacity
        # (five more outsiders join at the same instant too).
        await outsider.call(f"{CHAT}.send", form={"body": "let me in"})
        await outsider.call(f"{DETAIL}.open_live_room")
        others = []
        for i in range(5):
            _, token = protocol_user(dburl, f"Proto Crowd {i}")
            others.append(ReflexClient(url, token))
        await asyncio.gather(*(c.open(path, query) for c in others))
        assert await eventually(lambda: all(c.last(DETAIL, "places_left") == 0 for c in others)), "a page never loaded"
        await settle(others)  # loaded, as a person would see the page before clicking
        await asyncio.gather(outsider.call(f"{DETAIL}.join"), *(c.call(f"{DETAIL}.join") for c in others))
        assert await eventually(lambda: any("Only the people in this session" in e for e in outsider.values(CHAT, "error"))
                                and any("Only people who joined" in e for e in outsider.values(DETAIL, "error"))
                                and _db(dburl, lambda db: len(db.exec(select(SessionParticipant).where(
                                    SessionParticipant.session_id == sid)).all())) == 8), \
            "a crafted call or a join was not answered"
        await settle([alma, outsider, bruno, *others], quiet=1.0)
        await follow([alma, outsider, bruno, *others])
        assert any("Only the people in this session" in e for e in outsider.values(CHAT, "error"))
        assert any("Only people who joined" in e for e in outsider.values(DETAIL, "error"))

        def facts(db):
            rows = db.exec(select(SessionParticipant).where(SessionParticipant.session_id == sid)).all()
            bodies = [m.body for m in chat.recent(db, scheduled.chat_channel(sid), user_id=a_id)]
            return sum(not r.waitlisted for r in rows), sum(r.waitlisted for r in rows), bodies, \
                db.get(StudySession, sid).room_id

        holders, waiting, bodies, room_id = _db(dburl, facts)
        assert (holders, waiting) == (2, 6)  # the capacity held; the rest wait in line
        assert "let me in" not in bodies and room_id is None
        assert await eventually(lambda: outsider.last(DETAIL, "is_waitlisted") is True)

        # In no frame, ever: names of the people in it, the meeting link, the chat.
        for client in (outsider, *others):
            text = client.text()
            for private in (link, "Proto Hostess", "Proto Alma", "Proto Bruno", secret, "bruno says hi",
                            f"session-{sid}-chat"):
                assert private not in text, private
            assert all(v == [] for v in client.values(CHAT, "messages")) and client.chat(CHAT) == []
        for c in (alma, outsider, bruno, *others):
            await c.close()

    run(scenario())


def test_session_times_follow_the_account_zone_and_a_visitors_browser(new_context, app_server):
    """A logged-in viewer sees a session's time in the account's zone (what Settings says, as
    the chat and streak days use it), whatever the browser's; a visitor sees the browser's."""
    dburl = app_server.database_url
    uid, _, token = new_login(dburl, "Zoned Zoe", tz="Asia/Tokyo")
    day = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo("Europe/Berlin")).date()
    with app_db(dburl) as db:
        sid = plan_session(db, uid, now=utcnow(), date=day.isoformat(), start="12:00", end="12:47",
                           timezone="Europe/Berlin").id
    start = datetime.combine(day, datetime.min.time().replace(hour=12), tzinfo=ZoneInfo("Europe/Berlin"))

    def shown(zone: str) -> str:
        return start.astimezone(ZoneInfo(zone)).strftime("%H:%M")

    ctx, member, _ = new_context(timezone_id="America/New_York")
    log_in_as(ctx, app_server.url, token)
    goto(member, f"/sessions/{sid}")
    expect(member.locator("#session-time")).to_contain_text("Asia/Tokyo")
    expect(member.locator("#session-time")).to_contain_text(shown("Asia/Tokyo"))
    _, visitor, _ = new_context(timezone_id="America/New_York")
    goto(visitor, f"/sessions/{sid}")
    expect(visitor.locator("#session-time")).to_contain_text("America/New_York")
    expect(visitor.locator("#session-time")).to_contain_text(shown("America/New_York"))
