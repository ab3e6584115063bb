"""Live rooms in real Chromium: the shared timer, clock skew, presence, host transfer and
the live lobby. The app runs with TIME_SCALE=60 (a minute of timer lasts a second); tests that
only need a phase to end move the app's clock to just before its end (``skip_to_phase_end``)."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from sessions_app.models import Room
from tests.e2e.conftest import PRESENCE_GRACE, AppServer, assert_stays, goto, host_room, wait_until
from tests.support.factories import app_db

SKEW_MS = 90_000
# Shift this browser's clock 90 s ahead: its countdown must still agree with everyone's.
SKEWED_DATE_JS = """(() => {
  const shift = SHIFT_MS; const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...a) { if (a.length === 0) { super(RealDate.now() + shift); } else { super(...a); } }
    static now() { return RealDate.now() + shift; }
  }
  window.Date = SkewedDate;
})();""".replace("SHIFT_MS", str(SKEW_MS))


def seconds(page: Page) -> int:
    """The countdown as whole seconds."""
    mm, ss = page.locator("#timer-remaining").inner_text().strip().split(":")
    return int(mm) * 60 + int(ss)


def create_room(page: Page, name: str, *, private: bool = False, focus: int = 15, short: int = 3,
                long: int = 10, cycles: int = 2, discipline: str = "Mathematics") -> int:
    """Open a room through the form; returns its id (from the URL)."""
    goto(page, "/rooms/new")
    page.fill("#room-name", name)
    page.select_option("#room-discipline", discipline)
    page.fill("#room-focus", str(focus))
    page.fill("#room-short-break", str(short))
    page.fill("#room-long-break", str(long))
    page.fill("#room-cycles", str(cycles))
    if private:
        page.check("#room-private")
    page.click("#room-submit")
    page.wait_for_url("**/rooms/*")
    expect(page.locator("#room-title")).to_have_text(name)
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def skip_to_phase_end(app_server: AppServer, set_clock, room_id: int, left: float = 1.0) -> None:
    """Move the app's clock to ``left`` seconds before the room's running phase ends (the
    server still ends it by itself, on time by the moved clock)."""
    with app_db(app_server.database_url) as db:
        ends_at = db.get(Room, room_id).phase_ends_at
    assert ends_at is not None, "no running phase"
    offset = (ends_at - timedelta(seconds=left) - datetime.now(UTC)).total_seconds()
    now = set_clock(max(offset, 0.0))
    assert now < ends_at, "the phase had already ended"


def agree(a: Page, b: Page, tolerance: int = 1) -> tuple[int, int]:
    """Read both countdowns at (nearly) the same instant and check they agree."""
    sa, sb = seconds(a), seconds(b)
    assert abs(sa - sb) <= tolerance, f"countdowns disagree: {sa} vs {sb}"
    return sa, sb


def test_shared_timer_two_browsers_with_clock_skew(student):
    host = student("Host Hana", at=None)  # create_room opens its first page
    guest = student("Guest Gil", at=None)
    guest.context.add_init_script(SKEWED_DATE_JS)  # from the next page on
    guest_page = guest.page
    room_id = create_room(host.page, "Eigen sprint", private=True, focus=60, short=3, long=10, cycles=2)
    code = host.page.locator("#join-code").inner_text().strip()
    assert len(code) == 6 and code.isalnum() and code == code.upper()

    # The guest joins by code from the lobby (typed in lower case: codes are case-insensitive).
    goto(guest_page, "/lobby")
    guest_page.fill("#join-code-input", code.lower())
    guest_page.click("#join-code-submit")
    guest_page.wait_for_url(f"**/rooms/{room_id}")
    expect(guest_page.locator("#participant-list .participant")).to_have_count(2)
    expect(host.page.locator("#participant-list .participant")).to_have_count(2)
    expect(guest_page.locator("#host-name")).to_have_text("Host Hana")
    # Without a picture, a member's avatar shows their initials.
    expect(guest_page.locator("#participant-list .participant .rt-AvatarFallback")).to_have_text(["HH", "GG"])
    expect(guest_page.locator("#timer-start")).to_have_count(0)  # only the host controls
    for p in (host.page, guest_page):  # before Start: the block a Start begins, not 00:00
        expect(p.locator("#timer-remaining")).to_have_text("60:00")

    host.page.click("#timer-start")
    for p in (host.page, guest_page):
        expect(p.locator("#timer-phase")).to_have_text("focus")
    # 60 min focus at 60x = 60 s. Both screens agree although the guest's clock is 90 s ahead.
    wait_until(lambda: seconds(host.page) <= 58, timeout=10, message="the countdown did not run")
    sa, _ = agree(host.page, guest_page)
    assert 50 <= sa <= 58

    host.page.click("#timer-pause")
    for p in (host.page, guest_page):
        expect(p.locator("#timer-paused")).to_be_visible()
    frozen = seconds(host.page)
    assert_stays(lambda: seconds(host.page) == frozen and seconds(guest_page) == frozen, 1.5,
                 message="a paused countdown moved")

    host.page.click("#timer-resume")
    expect(guest_page.locator("#timer-paused")).to_have_count(0)
    wait_until(lambda: seconds(guest_page) < frozen, timeout=10, message="the resumed countdown did not run")
    agree(host.page, guest_page)

    host.page.click("#timer-skip")
    for p in (host.page, guest_page):
        expect(p.locator("#timer-phase")).to_have_text("short break")
    # A 3-minute break lasts 3 s: both move on to focus without anyone clicking.
    for p in (host.page, guest_page):
        expect(p.locator("#timer-phase")).to_have_text("focus", timeout=10_000)
    agree(host.page, guest_page)

    host.page.click("#timer-reset")
    for p in (host.page, guest_page):
        expect(p.locator("#timer-phase")).to_have_text("idle")
        expect(p.locator("#cycles-completed")).to_have_text("0")
        expect(p.locator("#timer-remaining")).to_have_text("60:00")


def test_phase_ends_on_server_and_cycle_counts(student, app_server, app_clock):
    host = student(at=None)
    room_id = host_room(host, app_server.database_url, "Short blocks", focus=15, short=3, long=10, cycles=2)
    host.page.click("#timer-start")
    expect(host.page.locator("#timer-phase")).to_have_text("focus")
    # The 15 s focus block → short break, counted as a completed block (the clock skips to a
    # second before its end; the server ends it).
    skip_to_phase_end(app_server, app_clock, room_id)
    expect(host.page.locator("#timer-phase")).to_have_text("short break", timeout=10_000)
    expect(host.page.locator("#cycles-completed")).to_have_text("1")
    # The 3 s break runs out on its own.
    expect(host.page.locator("#timer-phase")).to_have_text("focus", timeout=10_000)
    # Second block completed → long break (every 2 blocks).
    skip_to_phase_end(app_server, app_clock, room_id)
    expect(host.page.locator("#timer-phase")).to_have_text("long break", timeout=10_000)
    expect(host.page.locator("#cycles-completed")).to_have_text("2")


def test_host_transfer_and_room_closing_seen_in_lobby(student):
    name = f"Presence {uuid.uuid4().hex[:4]}"
    watcher = student("Watcher Wu")
    host = student("First Fay", at=None)  # create_room opens its first page
    second = student("Second Sam", at=None)

    room_id = create_room(host.page, name, discipline="Physics")
    card = watcher.page.locator(f'.room-card[data-room-id="{room_id}"]')
    expect(card).to_be_visible()  # appeared without a reload
    expect(card.locator(".room-count")).to_have_text("1")
    expect(card.locator(".room-status")).to_contain_text("not started")

    goto(second.page, f"/rooms/{room_id}")
    expect(card.locator(".room-count")).to_have_text("2")
    host.page.click("#timer-start")
    expect(card.locator(".room-status")).to_contain_text("focus")

    # The host closes their tab: after the grace period (4 s in tests) the other member is host.
    host.context.close()
    started = time.monotonic()
    expect(second.page.locator("#host-name")).to_have_text("Second Sam", timeout=4_000 + 2_000 + 5_000)
    assert time.monotonic() - started <= 4 + 2 + 5
    expect(second.page.locator("#timer-pause")).to_be_visible()
    second.page.click("#timer-pause")
    expect(second.page.locator("#timer-paused")).to_be_visible()
    expect(card.locator(".room-count")).to_have_text("1")
    expect(card.locator(".room-status")).to_contain_text("paused")

    # The last member leaves: the room disappears from the lobby.
    second.page.click("#leave-room")
    second.page.wait_for_url("**/lobby")
    expect(card).to_have_count(0)


def test_reload_keeps_member_in_room(student, app_server):
    a = student("Reloader Rae", at=None)
    room_id = host_room(a, app_server.database_url, "Reload test")
    b = student("Stayer Sol", at=f"/rooms/{room_id}")
    expect(a.page.locator("#participant-list .participant")).to_have_count(2)
    b.page.reload()
    b.page.wait_for_selector("#hydrated", state="attached")
    expect(b.page.locator("#room-title")).to_have_text("Reload test")
    expect(b.page.locator("#participant-list .participant")).to_have_count(2)
    # Past the grace: a reload must never count as leaving.
    both = [p.locator("#participant-list .participant") for p in (a.page, b.page)]
    assert_stays(lambda: [n.count() for n in both] == [2, 2], PRESENCE_GRACE + 1,
                 message="a reload counted as leaving")


def test_timer_survives_a_server_restart_and_catches_up(student, app_server):
    """The anchors are in the database: a phase that ends while the server is down is moved on
    at startup, exactly where an uninterrupted timer would be. The server comes back with its
    clock just past the end of the focus block (as if it had been down that long) instead of
    the test waiting for the wall clock."""
    host = student("Restart Rita", at=None)
    # TIME_SCALE 60: focus 15 s, short break 15 s.
    room_id = host_room(host, app_server.database_url, "Restart", focus=15, short=15, long=10, cycles=4)
    ghost = student("Ghost Gus", at=f"/rooms/{room_id}")
    expect(host.page.locator("#participant-list .participant")).to_have_count(2)
    started = host.page.evaluate("() => { const t = Date.now(); document.querySelector('#timer-start').click(); return t; }")
    expect(host.page.locator("#timer-phase")).to_have_text("focus")
    app_server.stop()
    # Gus's tab closes while the server is down: no disconnect ever reaches it (like a
    # crashed worker). After the restart the sweeper must take him out.
    ghost.context.close()

    def wall_elapsed() -> float:
        return (host.page.evaluate("() => Date.now()") - started) / 1000

    # The same build (a restart takes seconds, not a rebuild), its clock at 15.5 s after the
    # start: the focus block ended while the server was down.
    offset = max(0.0, 15.5 - wall_elapsed())
    app_server.start(build=False, clock_offset=offset)
    try:
        def uninterrupted() -> tuple[str, str, float]:
            """What an uninterrupted timer shows at the server's "now": (phase, blocks done,
            seconds after the start when the phase ends). Focus and breaks take 15 s each, so
            from 15 s on it alternates break / focus; a slow restart only moves it along."""
            at = wall_elapsed() + offset
            block = int((at - 15) // 30)  # 0: the first break and the focus after it, ...
            assert 0 <= block <= 2, f"the restart took too long to check ({at:.0f} s after the start)"
            if (at - 15) % 30 < 15:
                return "short break", str(block + 1), 30 + 30 * block
            return "focus", str(block + 1), 45 + 30 * block

        def shown() -> tuple[str, str]:
            return (host.page.locator("#timer-phase").inner_text(),
                    host.page.locator("#cycles-completed").inner_text())

        # The tab reconnects by itself and shows the caught-up timer (never the old block).
        wait_until(lambda: shown() == uninterrupted()[:2], timeout=30,
                   message=lambda: f"the tab did not show the caught-up timer: {shown()} instead of {uninterrupted()[:2]}")
        # A fresh load (its clock samples taken from the restarted server) counts down to
        # the anchors the catch-up stored.
        goto(host.page, f"/rooms/{room_id}")
        wait_until(lambda: abs(seconds(host.page) - (uninterrupted()[2] - (wall_elapsed() + offset))) <= 1.5,
                   timeout=15, message="the countdown did not show the phase's time left")
        expect(host.page.locator("#participant-list .participant")).to_have_count(1, timeout=20_000)
    finally:
        app_server.set_clock(0)  # the worker's next tests run on the wall clock


def test_space_key_tab_title_and_live_announcement(student, app_server):
    host = student("Keyboard Kim", at=None)
    host_room(host, app_server.database_url, "Keys", focus=60)
    host.page.locator("#room-title").click()  # focus the page, not an input
    host.page.keyboard.press("Space")
    expect(host.page.locator("#timer-phase")).to_have_text("focus")
    expect(host.page).to_have_title(re.compile(r"^\d\d:\d\d · focus · Sessions$"))
    expect(host.page.locator("#timer-announcer")).to_contain_text("Now: focus")
    host.page.keyboard.press("Space")
    expect(host.page.locator("#timer-paused")).to_be_visible()
    expect(host.page).to_have_title(re.compile(r"\(paused\)"))
    host.page.keyboard.press("Space")
    expect(host.page.locator("#timer-paused")).to_have_count(0)
    # A space typed in a text box is just a space.
    host.page.locator("#room-task-input").press("Space")
    assert_stays(lambda: host.page.locator("#timer-paused").count() == 0, 0.5,
                 message="a space typed in a text box paused the timer")
