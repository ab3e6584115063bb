"""Calls through the SFU: the Janus VideoRoom (Debian's `janus`) started by ``scripts/janus.sh``.

The module starts Janus on free loopback ports in a temporary directory and the app with the
Janus settings and ``CALL_SFU_ABOVE=2``: two students start a peer-to-peer call, a third joins
and the whole call moves to the SFU; each of the three then receives the two others' audio
and video from Janus. An outsider's Janus session without a token the server issued is
refused by Janus itself.

Skipped (with the reason) only when the `janus` program is not installed; ``make test``
installs it (``scripts/services.sh install``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import IGNORED_CONSOLE, ROOT, AppServer, free_port, goto, start_app
from tests.e2e.test_calls import FAKE_MEDIA, assert_receives, shoot
from tests.support.browser import log_in_as
from tests.support.factories import app_db, make_room, new_login

JANUS = ROOT / "scripts" / "janus.sh"
pytestmark = pytest.mark.skipif(shutil.which("janus") is None,
                                reason="the janus program is not installed (scripts/services.sh install)")


@pytest.fixture(scope="module")
def browser(playwright, browser_type_launch_args):
    """Chromium with a fake camera and microphone (as in test_calls.py)."""
    args = {**browser_type_launch_args, "args": [*browser_type_launch_args.get("args", []), *FAKE_MEDIA]}
    b = playwright.chromium.launch(**args)
    yield b
    b.close()


@pytest.fixture(scope="module")
def janus() -> Iterator[dict[str, str]]:
    """Janus on free loopback ports; its settings (the env file the script writes)."""
    tmp = tempfile.mkdtemp(prefix="sessions-janus-")
    os.chmod(tmp, 0o755)
    env = {**os.environ, "JANUS_DIR": tmp, "JANUS_WS_PORT": str(free_port()), "JANUS_HTTP_PORT": str(free_port()),
           "JANUS_ADMIN_PORT": str(free_port())}
    try:
        subprocess.run([str(JANUS), "start"], env=env, check=True, capture_output=True, text=True, timeout=60)
        settings = dict(line.split("=", 1) for line in Path(tmp, "env").read_text().split())
        yield settings
    finally:
        subprocess.run([str(JANUS), "stop"], env=env, capture_output=True, timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def sfu_server(janus, oauth_provider, tmp_path_factory) -> Iterator[AppServer]:
    """The app with the SFU configured; calls move to it past two people."""
    server = start_app(tmp_path_factory.mktemp("sfu"), oauth_provider.url, name="sfu", CALL_SFU_ABOVE="2", **janus)
    yield server
    server.stop()


@pytest.fixture
def sfu_student(browser, sfu_server: AppServer) -> Iterator[Callable[[str], tuple[Page, int]]]:
    """Logged-in pages on the SFU app that fail the test on page/console/server errors."""
    made, errors = [], []
    sfu_server.new_log_errors()

    def make(name: str) -> tuple[Page, int]:
        ctx = browser.new_context(base_url=sfu_server.url)
        ctx.set_default_timeout(15_000)
        user_id, _, token = new_login(sfu_server.database_url, name)
        log_in_as(ctx, sfu_server.url, token)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: errors.append(f"console: {msg.text}")
                if msg.type == "error" and not IGNORED_CONSOLE.search(f"{msg.text} {msg.location.get('url', '')}")
                else None)
        made.append(ctx)
        return page, user_id

    yield make
    for ctx in made:
        ctx.close()
    server_errors = sfu_server.new_log_errors()
    assert not errors, f"browser errors: {errors}"
    assert not server_errors, f"server log errors: {server_errors}"


def test_a_third_participant_moves_the_call_to_the_sfu(sfu_student, sfu_server, janus):
    (a, a_id), (b, b_id), (c, c_id) = sfu_student("Mesh Ana"), sfu_student("Mesh Ben"), sfu_student("SFU Cleo")
    with app_db(sfu_server.database_url) as db:
        room_id = make_room(db, a_id, name=f"SFU room {uuid.uuid4().hex[:4]}").id
    for page in (a, b, c):
        goto(page, f"/rooms/{room_id}")
    for page in (a, b):
        expect(page.locator("#participant-list .participant")).to_have_count(3)
        page.click("#call-join")
        expect(page.locator("#call-leave")).to_be_visible()
    assert_receives(a, b_id)  # two people: peer to peer
    assert a.evaluate("() => window.SessionsCall.mode()") == "mesh"

    c.click("#call-join")  # the third: past CALL_SFU_ABOVE=2, everyone moves to Janus
    for page, me in ((a, a_id), (b, b_id), (c, c_id)):
        expect(page.locator(".call-tile")).to_have_count(3, timeout=30_000)
        assert page.evaluate("() => window.SessionsCall.mode()") == "sfu"
        for other in {a_id, b_id, c_id} - {me}:
            assert_receives(page, other)
    shoot(c, "call-sfu")

    # Janus itself refuses a session without a token the app issued.
    request = urllib.request.Request(janus["JANUS_API_URL"], data=json.dumps(
        {"janus": "create", "transaction": "x1", "token": "guessed"}).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert json.loads(reply.read())["error"]["code"] == 403
