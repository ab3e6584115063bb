"""A running timer costs nothing: no WebSocket frame either way and no database write while a
focus block runs (the countdown is drawn in the browser from the phase's anchors).

On an app of its own (this module's ``app_server``): the shared app of an xdist worker still
runs the timers that earlier tests started, whose phase ends write the database. So it can run
in the parallel e2e run; its quiet wait before watching allows for a busy machine.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.app_server import AppServer, start_app
from tests.support.browser import assert_stays, host_room, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def app_server(tmp_path_factory, oauth_provider, mail_server) -> Iterator[AppServer]:
    """A fresh app for this module alone (it overrides the worker's shared one)."""
    server = start_app(tmp_path_factory.mktemp("quiet"), oauth_provider.url, name="quiet", **mail_server.env)
    yield server
    server.stop()


def test_running_timer_sends_no_frames_and_writes_nothing(student, app_server):
    host = student(at=None)
    host_room(host, app_server.database_url, "Quiet timer", focus=60)
    cdp = host.context.new_cdp_session(host.page)
    cdp.send("Network.enable")
    frames: list[str] = []
    arrivals: list[float] = [time.monotonic()]

    def seen(event: dict) -> None:
        frames.append(event["response"]["payloadData"])
        arrivals.append(time.monotonic())

    cdp.on("Network.webSocketFrameReceived", seen)
    cdp.on("Network.webSocketFrameSent", seen)
    host.page.click("#timer-start")
    expect(host.page.locator("#timer-phase")).to_have_text("focus")
    # Let the start's own frames and the clock samples finish: wait for 3 s of quiet (on a
    # busy machine a reply can take a second or more).
    wait_until(lambda: time.monotonic() - arrivals[-1] >= 3, timeout=30, message="no quiet")
    db_file = Path(app_server.database_url.split("///", 1)[1])
    before = db_rows(db_file)
    frames.clear()
    start_text = host.page.locator("#timer-remaining").inner_text()
    # Engine.io keep-alive pings ("2"/"3") are transport, not timer traffic.
    assert_stays(lambda: [f for f in frames if f not in ("2", "3")] == [], 6,
                 message=lambda: f"frames while the timer ran: {frames[:5]}")
    after = db_rows(db_file)
    # Nothing changed but (at most) the server's heartbeat, written every 30 s or so.
    assert {t: r for t, r in before.items() if t != "server_heartbeat"} == \
        {t: r for t, r in after.items() if t != "server_heartbeat"}, "the database was written while the timer ran"
    assert host.page.locator("#timer-remaining").inner_text() != start_text  # it did tick


def db_rows(db_file: Path) -> dict[str, list]:
    """Every row of every table (the test's rooms are few), read without writing."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: conn.execute(f'SELECT * FROM "{t}"').fetchall() for t in tables}
