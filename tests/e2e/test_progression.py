"""Progression end to end: a real (time-scaled) focus block earns EXP on the server, and the
profile, the navigation and the heatmap show it."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from tests.e2e.conftest import goto, host_room
from tests.e2e.test_rooms import skip_to_phase_end


def test_a_completed_focus_block_shows_up_everywhere(student, app_server, app_clock):
    me = student("Focused Fran", at="/profile")
    expect(me.page.locator("#profile-exp")).to_have_text("0")
    expect(me.page.locator("#profile-blocks")).to_have_text("0")
    expect(me.page.locator("#profile-level")).to_have_text("0")

    room_id = host_room(me, app_server.database_url, "One block", focus=15, short=3, long=10, cycles=2)
    me.page.click("#timer-start")
    expect(me.page.locator("#timer-phase")).to_have_text("focus")
    # 15 minutes at TIME_SCALE=60 last 15 s (the app's clock skips to a second before the
    # end); the server ends the block and credits it.
    skip_to_phase_end(app_server, app_clock, room_id)
    expect(me.page.locator("#timer-phase")).to_have_text("short break", timeout=10_000)
    # A full 15-minute block: 100 + 4·15 = 160 EXP → level 1 (needs 100). The nav updates live.
    expect(me.page.locator("#nav-level")).to_contain_text("1", timeout=10_000)

    goto(me.page, "/profile")
    expect(me.page.locator("#profile-exp")).to_have_text("160")
    expect(me.page.locator("#profile-level")).to_have_text("1")
    expect(me.page.locator("#profile-blocks")).to_have_text("1")
    expect(me.page.locator("#profile-streak")).to_have_text("1")
    assert me.page.locator("#profile-focus-hours").inner_text().strip() not in ("0", "0.0")
    # Today's heatmap cell (the browser's zone is the account's zone) has the 15 minutes.
    today = me.page.evaluate("() => { const d = new Date(); return d.getFullYear() + '-' + "
                             "String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0'); }")
    assert dt.date.fromisoformat(today)
    cell = me.page.locator(f'#heatmap [data-date="{today}"]')
    expect(cell).to_have_attribute("data-minutes", "15")
    assert int(cell.get_attribute("data-level")) >= 1
