"""End to end: the login is an HttpOnly cookie set by the server, never in page JavaScript,
a WebSocket frame or the state store (issue 10, item 6), and a deleted account leaves
nothing in the state store (item 10).

Browser tests watch every WebSocket frame in both directions and read the cookie jar the
way a page script (``document.cookie``) and the browser itself (``context.cookies()``) see
it. The state-store tests run their own backend with Reflex's *disk* state manager in a
temporary directory, so the pickled states can be searched byte for byte.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import socketio
from playwright.sync_api import BrowserContext, Page, expect

from sessions_app.login_cookie import LOGIN_COOKIE, TICKET_REFUSED
from sessions_app.state.account import AccountState
from sessions_app.state.auth import AuthState
from tests.support.app_server import ROOT, VENV_BIN, _get, app_env, free_port
from tests.support.browser import goto, log_in, sign_up
from tests.support.protocol import HYDRATE, NAMESPACE, ReflexClient, protocol_user, router, run

pytestmark = pytest.mark.e2e

AUTH = AuthState.get_full_name()
# Where the login sat before: a cookie var that the page's JavaScript sent in the hydrate.
OLD_COOKIE_VAR = f"{AUTH}.auth_token_rx_state_"


def _watch_frames(page: Page) -> list[str]:
    """Every WebSocket frame the page sends or receives from now on, as text."""
    frames: list[str] = []

    def on_socket(ws) -> None:
        ws.on("framereceived", lambda payload: frames.append(str(payload)))
        ws.on("framesent", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    return frames


def _login_cookie(ctx: BrowserContext) -> dict:
    cookies = [c for c in ctx.cookies() if c["name"] == LOGIN_COOKIE]
    assert len(cookies) == 1, cookies
    return cookies[0]


def _assert_hidden_from_page(page: Page, ctx: BrowserContext, frames: list[str]) -> str:
    """The login cookie exists, is HttpOnly + SameSite=Lax, and no script or frame sees it."""
    cookie = _login_cookie(ctx)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False  # the test app runs on http://localhost
    token = cookie["value"]
    assert len(token) >= 40
    script_view = page.evaluate("() => document.cookie")
    assert token not in script_view and LOGIN_COOKIE not in script_view
    assert frames, "the page's WebSocket frames were not observed"
    assert not [f for f in frames if token in f]
    return token


def _log_out(page: Page) -> None:
    page.click("#logout")
    # The home page itself: "/profile/" (the static build's form) also ends in a slash, and
    # matching it would race the logout's navigation with the test's next one.
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    expect(page.locator("#user-menu")).to_have_count(0)


def test_password_login_cookie_is_http_only_and_never_on_the_socket(new_context):
    ctx, page, _ = new_context()
    frames = _watch_frames(page)
    name, email = sign_up(page)
    first = _assert_hidden_from_page(page, ctx, frames)
    # The hand-off nonce is gone once used.
    assert not [c for c in ctx.cookies() if c["name"] == "sessions_handoff"]
    # A reload keeps the login (the new socket presents the cookie).
    goto(page, "/profile")
    expect(page.locator("#profile-name")).to_have_text(name)

    _log_out(page)
    assert not [c for c in ctx.cookies() if c["name"] == LOGIN_COOKIE]
    goto(page, "/profile")
    page.wait_for_url(re.compile(r"/login\?next=/profile$"))

    log_in(page, email)
    expect(page.locator("#user-menu")).to_have_text(name)
    second = _assert_hidden_from_page(page, ctx, frames)
    assert second != first  # a new login, a new token


def test_oauth_login_cookie_is_http_only_and_never_on_the_socket(new_context, oauth_provider):
    oauth_provider.next_user["google"] = oauth_provider.google_user(name="Cookie Hopper")
    ctx, page, _ = new_context(timezone_id="Europe/Berlin")
    frames = _watch_frames(page)
    goto(page, "/login")
    page.click("#oauth-google")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Cookie Hopper")
    _assert_hidden_from_page(page, ctx, frames)
    # The browser's zone still reaches a first OAuth account (read on the login page).
    goto(page, "/settings")
    expect(page.locator("#timezone-input")).to_have_value("Europe/Berlin")


def test_handoff_link_opened_in_another_browser_logs_nobody_in(new_context, app_server):
    """Login CSRF: the hand-off URL of the attacker's login does nothing in the victim's browser."""
    _, attacker, _ = new_context()
    _, email = sign_up(attacker)
    _log_out(attacker)
    seen: list[str] = []

    def stop(route) -> None:
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p id='stopped'>stopped</p>")

    attacker.route(re.compile(r"/auth/session\?"), stop)
    goto(attacker, "/login")
    attacker.fill("#login-email", email)
    attacker.fill("#login-password", "correct horse battery staple")
    attacker.click("#login-submit")
    attacker.wait_for_selector("#stopped")
    assert len(seen) == 1

    victim_ctx, victim, _ = new_context()
    goto(victim, "/")
    victim.goto(seen[0])
    victim.wait_for_url(re.compile(r"/login(\?|$)"))
    expect(victim.locator("#form-error")).to_contain_text(TICKET_REFUSED[:40])
    expect(victim.locator("#user-menu")).to_have_count(0)
    assert not [c for c in victim_ctx.cookies() if c["name"] == LOGIN_COOKIE]


def test_a_link_to_the_logout_route_does_not_log_out(new_context, app_server):
    ctx, page, _ = new_context()
    name, _ = sign_up(page)
    page.goto(f"{app_server.url}/auth/logout?next=/lobby")
    page.wait_for_url(re.compile(r"/lobby/?$"))
    expect(page.locator("#user-menu")).to_have_text(name)
    _login_cookie(ctx)


# --- over the wire -----------------------------------------------------------------------------


async def _hydrate_raw(url: str, path: str, *, headers: dict | None = None, payload: dict | None = None) -> list[dict]:
    """A bare socket hydrating ``path``; returns the frames until on_load has answered."""
    frames: list[dict] = []
    got = asyncio.Event()
    sio = socketio.AsyncClient(reconnection=False)

    @sio.on("event", namespace=NAMESPACE)
    async def on_event(data):
        frames.append(data)
        if any(e.get("name") == "_redirect" for e in data.get("events") or []) or \
                data.get("delta", {}).get(AUTH, {}).get("user_id_rx_state_"):
            got.set()

    await sio.connect(f"{url}?token={uuid.uuid4()}", socketio_path="/_event/", namespaces=[NAMESPACE],
                      transports=["websocket"], headers=headers or {},
                      auth={"event": {"name": HYDRATE, "payload": payload or {}, "router_data": router(path)}})
    try:
        await asyncio.wait_for(got.wait(), 15)
    finally:
        await sio.disconnect()
    return frames


def _redirects(frames: list[dict]) -> list[str]:
    return [e["payload"]["path"] for f in frames for e in f.get("events") or [] if e.get("name") == "_redirect"]


def test_only_the_handshake_cookie_logs_a_socket_in(app_server):
    """A socket with no cookie is a stranger, even if it sends the token the old way (as the
    cookie var in the hydrate payload); with the cookie on its handshake it is the user, and
    no frame it receives carries the token."""
    uid, token = protocol_user(app_server.database_url, "Wire Cookie")

    async def scenario():
        stranger = await _hydrate_raw(app_server.url, "/profile")
        old_way = await _hydrate_raw(app_server.url, "/profile", payload={"vars": {OLD_COOKIE_VAR: token}})
        cookie = await _hydrate_raw(app_server.url, "/profile",
                                    headers={"Cookie": f"theme=dark; {LOGIN_COOKIE}={token}"})
        return stranger, old_way, cookie

    stranger, old_way, cookie = run(scenario())
    assert _redirects(stranger) == ["/login?next=/profile"]
    assert _redirects(old_way) == ["/login?next=/profile"]
    assert _redirects(cookie) == []
    assert [f["delta"][AUTH]["user_id_rx_state_"] for f in cookie if AUTH in f.get("delta", {})
            and "user_id_rx_state_" in f["delta"][AUTH]][-1] == uid
    assert token not in repr(cookie)


# --- the state store (disk state manager) ------------------------------------------------------


@pytest.fixture(scope="module")
def disk_backend(tmp_path_factory, oauth_provider):
    """The backend alone (no frontend build needed), with the disk state manager in a temp dir."""
    tmp = tmp_path_factory.mktemp("disk")
    port = free_port()
    url = f"http://localhost:{port}"
    database_url = f"sqlite:///{tmp}/disk.db"
    states = tmp / "states"
    env = app_env(url, database_url, oauth_provider.url, REFLEX_STATE_MANAGER_MODE="disk",
                  REFLEX_STATES_WORKDIR=str(states))
    subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True, capture_output=True)
    log = (tmp / "app.log").open("a")
    proc = subprocess.Popen([str(VENV_BIN / "reflex"), "run", "--env", "prod", "--backend-only",
                             "--backend-port", str(port), "--loglevel", "info"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while _get(f"{url}/ping") != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"backend did not start: {(tmp / 'app.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, database_url, states
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _state_bytes(states: Path) -> list[bytes]:
    return [p.read_bytes() for p in states.glob("*.pkl")]


def _wait_for(predicate, what: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_state_files_never_hold_the_login_cookie(disk_backend):
    url, database_url, states = disk_backend
    name = f"Disk Cookie {uuid.uuid4().hex[:6]}"
    _, token = protocol_user(database_url, name)

    async def scenario():
        # Another cookie of the same header IS persisted (with the headers Reflex keeps), so
        # finding it proves the search looks where the login cookie would have been.
        frames = await _hydrate_raw(url, "/lobby", headers={"Cookie": f"probe=in-state-{name[-6:]}; {LOGIN_COOKIE}={token}"})
        assert _redirects(frames) == []  # logged in

    run(scenario())
    probe = f"in-state-{name[-6:]}".encode()
    _wait_for(lambda: any(probe in b for b in _state_bytes(states)) and any(name.encode() in b for b in _state_bytes(states)),
              "the tabs' states on disk")
    assert not [b for b in _state_bytes(states) if token.encode() in b]


def test_deleting_an_account_resets_its_tabs_in_the_state_store(disk_backend):
    url, database_url, states = disk_backend
    name = f"Purge Target {uuid.uuid4().hex[:6]}"
    _, token = protocol_user(database_url, name)
    bystander = f"Bystander {uuid.uuid4().hex[:6]}"
    _, other_token = protocol_user(database_url, bystander)

    async def scenario():
        tabs = [ReflexClient(url, token), ReflexClient(url, token), ReflexClient(url, other_token)]
        for tab in tabs:
            await tab.open("/settings")
        await asyncio.to_thread(_wait_for, lambda: sum(name.encode() in b for b in _state_bytes(states)) >= 2,
                                "both tabs' states on disk")
        await tabs[0].call(f"{AccountState.get_full_name()}.delete_account")
        await asyncio.to_thread(_wait_for, lambda: not any(name.encode() in b for b in _state_bytes(states)),
                                "the deleted user's name to leave the state store")
        for tab in tabs:
            await tab.close()

    run(scenario())
    # Someone else's tab is untouched.
    assert any(bystander.encode() in b for b in _state_bytes(states))
