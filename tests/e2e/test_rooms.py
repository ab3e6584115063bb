"""Live rooms in real Chromium: the shared timer, clock skew, presence, host transfer and
the live lobby. The app runs with TIME_SCALE=60 (a minute of timer lasts a second)."""

from __future__ import annotations

import re
import sqlite3
import time
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto, sign_up

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


def agree(a: Page, b: Page, tolerance: int = 1) -> tuple[int, int]:
    """Read both countdowns at (nearly) the same instant and check they agree."""
    sa, sb = seconds(a), seconds(b)
    assert abs(sa - sb) <= tolerance, f"countdowns disagree: {sa} vs {sb}"
    return sa, sb


def test_shared_timer_two_browsers_with_clock_skew(student, new_context):
    host = student("Host Hana")
    guest_ctx, guest_page, _ = new_context()
    guest_ctx.add_init_script(SKEWED_DATE_JS)
    sign_up(guest_page, "Guest Gil")
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
    expect(guest_page.locator("#timer-start")).to_have_count(0)  # only the host controls

    host.page.click("#timer-start")
    for p in (host.page, guest_page):
        expect(p.locator("#timer-phase")).to_have_text("focus")
    # 60 min focus at 60x = 60 s. Both screens agree although the guest's clock is 90 s ahead.
    time.sleep(1.5)
    sa, _ = agree(host.page, guest_page)
    assert 50 <= sa <= 59

    host.page.click("#timer-pause")
    for p in (host.page, guest_page):
        expect(p.locator("#timer-paused")).to_be_visible()
    frozen = seconds(host.page)
    time.sleep(1.5)
    assert seconds(host.page) == frozen and seconds(guest_page) == frozen

    host.page.click("#timer-resume")
    expect(guest_page.locator("#timer-paused")).to_have_count(0)
    time.sleep(1.2)
    agree(host.page, guest_page)
    assert seconds(guest_page) < frozen

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


def test_phase_ends_on_server_and_cycle_counts(student):
    host = student()
    create_room(host.page, "Short blocks", focus=15, short=3, long=10, cycles=2)
    host.page.click("#timer-start")
    # 15 s focus → short break, counted as a completed block.
    expect(host.page.locator("#timer-phase")).to_have_text("short break", timeout=25_000)
    expect(host.page.locator("#cycles-completed")).to_have_text("1")
    expect(host.page.locator("#timer-phase")).to_have_text("focus", timeout=10_000)
    # Second block completed → long break (every 2 blocks).
    expect(host.page.locator("#timer-phase")).to_have_text("long break", timeout=25_000)
    expect(host.page.locator("#cycles-completed")).to_have_text("2")


def test_host_transfer_and_room_closing_seen_in_lobby(student):
    name = f"Presence {uuid.uuid4().hex[:4]}"
    watcher = student("Watcher Wu")
    host = student("First Fay")
    second = student("Second Sam")
    goto(watcher.page, "/lobby")

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


def test_reload_keeps_member_in_room(student):
    a = student("Reloader Rae")
    b = student("Stayer Sol")
    room_id = create_room(a.page, "Reload test")
    goto(b.page, f"/rooms/{room_id}")
    expect(a.page.locator("#participant-list .participant")).to_have_count(2)
    b.page.reload()
    b.page.wait_for_selector("#hydrated", state="attached")
    expect(b.page.locator("#room-title")).to_have_text("Reload test")
    time.sleep(6)  # longer than the grace: a reload must not count as leaving
    expect(a.page.locator("#participant-list .participant")).to_have_count(2)
    expect(b.page.locator("#participant-list .participant")).to_have_count(2)


def test_running_timer_sends_no_frames_and_writes_nothing(student, app_server):
    host = student()
    create_room(host.page, "Quiet timer", focus=60)
    cdp = host.context.new_cdp_session(host.page)
    cdp.send("Network.enable")
    frames: list[str] = []
    cdp.on("Network.webSocketFrameReceived", lambda e: frames.append(e["response"]["payloadData"]))
    cdp.on("Network.webSocketFrameSent", lambda e: frames.append(e["response"]["payloadData"]))
    host.page.click("#timer-start")
    expect(host.page.locator("#timer-phase")).to_have_text("focus")
    # Let the start's own frames and the clock samples finish: wait for 2 s of quiet.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        seen = len(frames)
        time.sleep(2)
        if len(frames) == seen:
            break
    db_file = Path(app_server.database_url.split("///", 1)[1])
    before = db_rows(db_file)
    frames.clear()
    start_text = host.page.locator("#timer-remaining").inner_text()
    time.sleep(10)
    after = db_rows(db_file)
    # Engine.io keep-alive pings ("2"/"3") are transport, not timer traffic.
    messages = [f for f in frames if f not in ("2", "3")]
    assert messages == [], f"frames while the timer ran: {messages[:5]}"
    # Nothing changed but (at most) the server's heartbeat, written every 30 s or so.
    assert {t: r for t, r in before.items() if t != "server_heartbeat"} == \
        {t: r for t, r in after.items() if t != "server_heartbeat"}, "the database was written while the timer ran"
    assert host.page.locator("#timer-remaining").inner_text() != start_text  # it did tick


def db_rows(db_file: Path) -> dict[str, list]:
    """Every row of every table (the test's rooms are few), read without writing."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables}


# Records, in the page, when #timer-paused appears or disappears (Date.now(), same machine clock).
WATCH_PAUSED_JS = """() => {
  window.__pausedChanges = [];
  let last = !!document.getElementById('timer-paused');
  new MutationObserver(() => {
    const now = !!document.getElementById('timer-paused');
    if (now !== last) { last = now; window.__pausedChanges.push(Date.now()); }
  }).observe(document.body, { childList: true, subtree: true });
}"""


def test_host_action_latency_to_another_browser(student):
    """Measured, not gated: how long a host's pause/resume takes to show in another browser."""
    host = student("Latency Host")
    guest = student("Latency Guest")
    room_id = create_room(host.page, "Latency", focus=60)
    goto(guest.page, f"/rooms/{room_id}")
    host.page.click("#timer-start")
    expect(guest.page.locator("#timer-phase")).to_have_text("focus")
    guest.page.evaluate(WATCH_PAUSED_JS)
    latencies = []
    for i in range(20):
        button = "#timer-pause" if i % 2 == 0 else "#timer-resume"
        host.page.wait_for_selector(button)
        clicked = host.page.evaluate(f"() => {{ const t = Date.now(); document.querySelector('{button}').click(); return t; }}")
        guest.page.wait_for_function(f"() => window.__pausedChanges.length >= {i + 1}")
        latencies.append(guest.page.evaluate(f"() => window.__pausedChanges[{i}]") - clicked)
    latencies.sort()
    print(f"\nhost action → other browser over {len(latencies)} tries: "
          f"p50 {latencies[len(latencies) // 2]} ms, max {latencies[-1]} ms")
    assert len(latencies) == 20


def test_timer_survives_a_server_restart_and_catches_up(student, app_server):
    """The anchors are in the database: a phase that ends while the server is down is moved on
    at startup, exactly where an uninterrupted timer would be."""
    host = student("Restart Rita")
    ghost = student("Ghost Gus")
    room_id = create_room(host.page, "Restart", focus=15, short=15, long=10, cycles=4)
    goto(ghost.page, f"/rooms/{room_id}")
    expect(host.page.locator("#participant-list .participant")).to_have_count(2)
    started = host.page.evaluate("() => { const t = Date.now(); document.querySelector('#timer-start').click(); return t; }")
    expect(host.page.locator("#timer-phase")).to_have_text("focus")
    app_server.stop()
    # Gus's tab closes while the server is down: no disconnect ever reaches it (like a
    # crashed worker). After the restart the sweeper must take him out.
    ghost.context.close()
    # Stay down until the focus block has ended, so the server must catch it up at startup.
    time.sleep(max(0.0, 16.5 - (time.time() * 1000 - started) / 1000))
    app_server.start()
    elapsed = (host.page.evaluate("() => Date.now()") - started) / 1000
    assert elapsed > 15
    # The tab reconnects by itself and shows the caught-up phase: the break (15..30 s) or,
    # if the restart was slow, the next focus block — never the old, finished one.
    expected = "short break" if elapsed < 29 else "focus"
    expect(host.page.locator("#timer-phase")).to_have_text(expected, timeout=30_000)
    expect(host.page.locator("#cycles-completed")).to_have_text("1")
    if expected == "short break":
        left = 30 - (host.page.evaluate("() => Date.now()") - started) / 1000
        assert abs(seconds(host.page) - left) <= 1.5
    expect(host.page.locator("#participant-list .participant")).to_have_count(1, timeout=20_000)


def test_space_key_tab_title_and_live_announcement(student):
    host = student("Keyboard Kim")
    create_room(host.page, "Keys", focus=60)
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
    host.page.wait_for_timeout(500)
    expect(host.page.locator("#timer-paused")).to_have_count(0)
