"""End to end: accounts (sign-up, login, logout, profile, export, deletion) and OAuth logins.

Each test drives the real app in Chromium as a student would, and checks what the student
sees: where the browser lands, the name in ``#user-menu``, the message in ``#form-error``.
The OAuth tests go through the local provider in ``tests/support/fake_oauth.py``, which insists on
``state`` and PKCE S256 and records what the app sent, so the protocol is checked as well.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from pathlib import Path

import pytest
import socketio
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, goto, log_in, sign_up
from tests.support.browser import submit_login
from tests.support.fake_oauth import s256
from tests.support.fake_smtp import link_in

pytestmark = pytest.mark.e2e

BAD_LOGIN = "That email and password do not match an account"
BAD_STATE = "This login link is invalid or was already used"
HYDRATE = "reflex___state____state.hydrate_and_load"


def _unique_email(prefix: str = "s") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}@example.com"


def _submit_signup(page: Page, name: str, email: str, password: str) -> None:
    goto(page, "/signup")
    page.fill("#signup-name", name)
    page.fill("#signup-email", email)
    page.fill("#signup-password", password)
    page.click("#signup-submit")


def _log_out(page: Page) -> None:
    page.click("#logout")
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the home page, not "/settings/"
    expect(page.locator("#user-menu")).to_have_count(0)


def _expect_logged_out_on_login(page: Page, message: str) -> None:
    page.wait_for_url(re.compile(r"/login(\?|$)"))
    expect(page.locator("#form-error")).to_contain_text(message)
    expect(page.locator("#user-menu")).to_have_count(0)


# --- password accounts ---------------------------------------------------------------------


def test_account_lifecycle(new_context):
    """Sign up, log out, log in, rename, export, delete; the deleted account cannot log in."""
    ctx, page, _ = new_context()
    name, email = sign_up(page)

    _log_out(page)
    # The login is revoked on the server: the lobby now asks for a login.
    goto(page, "/lobby")
    page.wait_for_url(re.compile(r"/login\?next=/lobby$"))

    log_in(page, email)
    expect(page.locator("#user-menu")).to_have_text(name)

    # Rename on the profile page; the new name shows on the page and in the menu.
    goto(page, "/profile")
    expect(page.locator("#profile-name")).to_have_text(name)
    expect(page.locator("#display-name-input")).to_have_value(name)
    new_name = f"Renamed {uuid.uuid4().hex[:5]}"
    page.fill("#display-name-input", new_name)
    page.click("#display-name-save")
    expect(page.locator("#profile-name")).to_have_text(new_name)
    expect(page.locator("#user-menu")).to_have_text(new_name)
    # It is stored, not just shown: a reload still has it.
    goto(page, "/profile")
    expect(page.locator("#profile-name")).to_have_text(new_name)

    # A name that is too long is refused with a message and the old name stays.
    page.fill("#display-name-input", "x" * 41)
    page.click("#display-name-save")
    expect(page.locator("#form-error")).to_contain_text("too long")
    expect(page.locator("#user-menu")).to_have_text(new_name)

    # Export: a JSON file with the profile and nothing secret.
    goto(page, "/settings")
    with page.expect_download() as dl_info:
        page.click("#export-data")
    download = dl_info.value
    assert download.suggested_filename.endswith(".json")
    raw = Path(download.path()).read_text(encoding="utf-8")
    data = json.loads(raw)
    assert data["profile"]["display_name"] == new_name
    assert data["profile"]["email"] == email
    lowered = raw.lower()
    assert "password" not in lowered and "argon2" not in lowered and "token" not in lowered
    token = next(c["value"] for c in ctx.cookies() if c["name"] == "sessions_token")
    assert token not in raw

    # Delete, with a confirmation step.
    expect(page.locator("#delete-account-confirm")).to_have_count(0)
    page.click("#delete-account")
    page.click("#delete-account-confirm")
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))  # the home page, not "/settings/"
    expect(page.locator("#user-menu")).to_have_count(0)

    submit_login(page, email, PASSWORD)
    expect(page.locator("#form-error")).to_contain_text(BAD_LOGIN)
    expect(page).to_have_url(re.compile(r"/login/?$"))

    # The email is free again: signing up with it makes a brand-new, empty account.
    sign_up(page, "Second Life", email)


def test_login_and_signup_errors_are_clear(new_context, tmp_path):
    """Wrong password, unknown email, duplicate email, weak password, long name: a clear message."""
    _, page, _ = new_context()
    name, email = sign_up(page)
    _log_out(page)

    submit_login(page, email, "not the right password")
    expect(page.locator("#form-error")).to_contain_text(BAD_LOGIN)
    wrong_password = page.locator("#form-error").inner_text()
    page.screenshot(path=str(tmp_path / "login-error.png"), full_page=True)

    submit_login(page, _unique_email("nobody"), "not the right password")
    expect(page.locator("#form-error")).to_contain_text(BAD_LOGIN)
    # Unknown email and wrong password read exactly the same: no account probing.
    assert page.locator("#form-error").inner_text() == wrong_password
    expect(page.locator("#user-menu")).to_have_count(0)

    _submit_signup(page, "Someone Else", email.upper(), PASSWORD)
    expect(page.locator("#form-error")).to_contain_text("An account with this email already exists")

    _submit_signup(page, "Weak Pw", _unique_email(), "short")
    expect(page.locator("#form-error")).to_contain_text("Password is too short")

    _submit_signup(page, "Weak Pw", _unique_email(), "password123")
    expect(page.locator("#form-error")).to_contain_text("too easy to guess")

    _submit_signup(page, "N" * 41, _unique_email(), PASSWORD)
    expect(page.locator("#form-error")).to_contain_text("Display name is too long")
    expect(page).to_have_url(re.compile(r"/signup/?$"))

    # After all that, the right password still works (and the error goes away).
    log_in(page, email)
    expect(page.locator("#user-menu")).to_have_text(name)


def test_changing_the_password_in_settings_logs_out_the_other_devices(new_context):
    """/settings: the current password first; a wrong one or a mismatch is refused in the
    form; after a change this browser stays logged in, the other one is out, and only the new
    password logs in."""
    _, page, _ = new_context()
    name, email = sign_up(page)
    _, laptop, _ = new_context()
    log_in(laptop, email)
    goto(page, "/settings")
    new = "violet tram under seven bridges"

    def submit(current: str, password: str, confirm: str) -> None:
        page.fill("#password-current", current)
        page.fill("#password-password", password)
        page.fill("#password-confirm", confirm)
        page.click("#password-save")

    submit("not my password", new, new)
    expect(page.locator("#password-error")).to_have_text("That is not your current password.")
    submit(PASSWORD, new, new + "!")
    expect(page.locator("#password-error")).to_contain_text("differ")
    submit(PASSWORD, new, new)
    expect(page.locator("#password-message")).to_have_text("Password changed. You were logged out on 1 other device.")
    expect(page.locator("#password-error")).to_have_count(0)
    for box in ("#password-current", "#password-password", "#password-confirm"):
        expect(page.locator(box)).to_have_value("")  # nothing typed stays on the page

    page.reload()
    expect(page.locator("#user-menu")).to_have_text(name)  # this browser is still in
    # The other one, left open on the lobby, is out at once: on the login page, told why.
    laptop.wait_for_url(re.compile(r"/login/?\?ended=password$"))
    expect(laptop.locator("#login-notice")).to_contain_text("password of your account was changed")
    expect(laptop.locator("#user-menu")).to_have_count(0)
    laptop.reload()
    expect(laptop.locator("#user-menu")).to_have_count(0)
    submit_login(laptop, email, PASSWORD)
    expect(laptop.locator("#form-error")).to_contain_text(BAD_LOGIN)
    log_in(laptop, email, new)
    expect(laptop.locator("#user-menu")).to_have_text(name)


def test_login_required_page_returns_after_login(new_context, app_server):
    """/profile sends a stranger to /login?next=/profile and back there after logging in."""
    _, page, _ = new_context()
    name, email = sign_up(page)
    _log_out(page)

    goto(page, "/profile")
    page.wait_for_url(re.compile(r"/login\?next=/profile$"))
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/profile$"))
    expect(page.locator("#profile-name")).to_have_text(name)

    # An open redirect is not possible through ?next=.
    _log_out(page)
    goto(page, "/login?next=//evil.example/steal")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{app_server.url}/lobby")


# --- OAuth -----------------------------------------------------------------------------------


def _oauth_login(page: Page, provider: str) -> None:
    goto(page, "/login")
    page.click(f"#oauth-{provider}")


def _new_records(oauth_provider, since: int):
    return oauth_provider.requests[since:]


def test_google_login_creates_profile_from_provider(new_context, oauth_provider):
    """A first Google login makes an account from the provider's name and picture, with PKCE."""
    ident = oauth_provider.google_user(name="Grace Hopper")
    oauth_provider.next_user["google"] = ident
    since = len(oauth_provider.requests)
    _, page, _ = new_context()

    _oauth_login(page, "google")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Grace Hopper")
    expect(page.locator(f"img[src='{ident['picture']}']").first).to_be_visible()

    records = _new_records(oauth_provider, since)
    authorize = [r for r in records if r.provider == "google" and r.endpoint == "authorize"]
    token = [r for r in records if r.provider == "google" and r.endpoint == "token"]
    assert len(authorize) == 1 and len(token) == 1
    assert authorize[0].query["code_challenge_method"] == "S256"
    assert authorize[0].query["state"]
    assert "openid" in authorize[0].query["scope"].split()
    assert token[0].status == 200
    assert s256(token[0].form["code_verifier"]) == authorize[0].query["code_challenge"]
    # The client secret never travels through the browser.
    assert "google-secret" not in json.dumps(authorize[0].query)

    # Logging out and in again with the same Google identity is the same account.
    _log_out(page)
    _oauth_login(page, "google")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Grace Hopper")
    goto(page, "/profile")
    expect(page.locator("#profile-name")).to_have_text("Grace Hopper")


def test_github_login_creates_profile_from_provider(new_context, oauth_provider):
    """A first GitHub login makes an account from the GitHub name and avatar, with PKCE."""
    ident = oauth_provider.github_user(name="Linus Octocat")
    oauth_provider.next_user["github"] = ident
    since = len(oauth_provider.requests)
    _, page, _ = new_context()

    _oauth_login(page, "github")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Linus Octocat")
    expect(page.locator(f"img[src='{ident['avatar_url']}']").first).to_be_visible()

    records = _new_records(oauth_provider, since)
    authorize = [r for r in records if r.provider == "github" and r.endpoint == "authorize"]
    token = [r for r in records if r.provider == "github" and r.endpoint == "token"]
    assert len(authorize) == 1 and len(token) == 1 and token[0].status == 200
    assert authorize[0].query["code_challenge_method"] == "S256"
    assert s256(token[0].form["code_verifier"]) == authorize[0].query["code_challenge"]
    assert [r.endpoint for r in records if r.provider == "github"][-2:] == ["user", "emails"]


def test_oauth_login_with_verified_email_signs_into_existing_account(new_context, oauth_provider, mail_server):
    """Google with the verified email of a password account logs into that same account, once
    the account confirmed that address (test_email_flows.py: an unconfirmed one is refused)."""
    _, page, _ = new_context()
    name, email = sign_up(page, "Ada Lovelace", _unique_email("ada"))
    goto(page, link_in(mail_server.wait_for(email, "Confirm"), "/verify-email"))
    expect(page.locator("#form-message")).to_contain_text("confirmed")
    _log_out(page)

    oauth_provider.next_user["google"] = oauth_provider.google_user(name="Ada From Google", email=email)
    _oauth_login(page, "google")
    page.wait_for_url(re.compile(r"/lobby$"))
    # Same account: the name the student chose stays, not the provider's.
    expect(page.locator("#user-menu")).to_have_text(name)
    # And the password still works for that account.
    _log_out(page)
    log_in(page, email)
    expect(page.locator("#user-menu")).to_have_text(name)


def test_oauth_login_with_unverified_email_does_not_take_over_account(new_context, oauth_provider):
    """An unverified provider email never signs into the account that owns that email."""
    _, page, _ = new_context()
    name, email = sign_up(page, "Real Owner", _unique_email("owner"))
    _log_out(page)

    oauth_provider.next_user["github"] = oauth_provider.github_user(name="Impostor", email=email, verified=False)
    _oauth_login(page, "github")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Impostor")


def test_oauth_callback_with_bad_state_is_refused(new_context, app_server):
    """A callback with a forged or missing ``state`` ends on /login with a clear message."""
    _, page, _ = new_context()
    page.goto(f"{app_server.url}/auth/google/callback?code=x&state=bogus")
    _expect_logged_out_on_login(page, BAD_STATE)

    page.goto(f"{app_server.url}/auth/github/callback?code=x")
    _expect_logged_out_on_login(page, BAD_STATE)

    # A crafted link cannot put its own words on the login page.
    page.goto(f"{app_server.url}/auth/complete?error=Your+account+is+locked.+Call+555-0100")
    _expect_logged_out_on_login(page, "The login did not complete")
    expect(page.locator("#form-error")).not_to_contain_text("555-0100")

    # Nor does a made-up ticket log anyone in.
    page.goto(f"{app_server.url}/auth/complete?ticket=made-up")
    _expect_logged_out_on_login(page, "Start the login again")


def _capture_callback(page: Page, provider: str) -> str:
    """Run an OAuth login up to the provider's answer and stop there; return the callback URL.

    The provider's redirect is fetched outside the browser and replaced by a blank page, so
    the browser never reaches the app's callback and the ``state`` stays unused.
    """
    seen: list[str] = []

    def stop_before_callback(route):
        response = route.fetch(max_redirects=0)
        seen.append(response.headers["location"])
        route.fulfill(status=200, content_type="text/html", body="<p id='stopped'>stopped</p>")

    pattern = re.compile(rf"/{provider}/(login/oauth/)?authorize\?")
    page.route(pattern, stop_before_callback)
    _oauth_login(page, provider)
    page.wait_for_selector("#stopped")
    page.unroute(pattern)
    assert len(seen) == 1 and f"/auth/{provider}/callback?" in seen[0]
    return seen[0]


def test_oauth_state_cannot_be_replayed(new_context, oauth_provider):
    """A callback URL works once: opening it again is refused, even in the same browser."""
    oauth_provider.next_user["google"] = oauth_provider.google_user(name="Replay Target")
    _, page, _ = new_context()
    # Record the callback URL the browser follows during a real login.
    callbacks: list[str] = []
    page.on("request", lambda req: callbacks.append(req.url) if "/auth/google/callback" in req.url else None)
    _oauth_login(page, "google")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Replay Target")
    assert len(callbacks) == 1
    _log_out(page)

    page.goto(callbacks[0])
    _expect_logged_out_on_login(page, BAD_STATE)


def test_oauth_state_for_another_provider_is_refused(new_context, oauth_provider, app_server):
    """A Google ``state`` sent to the GitHub callback is refused."""
    oauth_provider.next_user["google"] = oauth_provider.google_user(name="Cross Provider")
    _, page, _ = new_context()
    url = _capture_callback(page, "google")
    query = url.split("?", 1)[1]
    page.goto(f"{app_server.url}/auth/github/callback?{query}")
    _expect_logged_out_on_login(page, BAD_STATE)


def test_oauth_callback_cannot_log_in_another_browser(new_context, oauth_provider):
    """Login CSRF: a callback started in the attacker's browser does not log the victim in."""
    oauth_provider.next_user["google"] = oauth_provider.google_user(name="Mallory")
    _, attacker, _ = new_context()
    url = _capture_callback(attacker, "google")

    _, victim, _ = new_context()
    goto(victim, "/")
    victim.goto(url)
    victim.wait_for_url(re.compile(r"/login(\?|$)"))
    expect(victim.locator("#form-error")).to_be_visible()
    expect(victim.locator("#user-menu")).to_have_count(0)


# --- protocol-level privacy -------------------------------------------------------------------


def _hydrate(base_url: str, client_token: str, path: str) -> list[dict]:
    """Connect to ``/_event`` as a bare client (no cookies) and hydrate ``path``.

    Returns every frame received until the page's on_load redirects (a page that needs a
    login sends strangers to /login). Runs in its own thread: the sync Playwright API owns
    this thread's event loop.
    """
    result: dict[str, list[dict] | BaseException] = {}

    async def run() -> list[dict]:
        frames: list[dict] = []
        redirected = asyncio.Event()
        sio = socketio.AsyncClient(reconnection=False)

        @sio.on("*", namespace="/_event")
        async def on_any(name, data):
            frames.append({"name": name, "data": data})
            if name == "event" and any(e.get("name") == "_redirect" for e in data.get("events") or []):
                redirected.set()

        await sio.connect(
            f"{base_url}?token={client_token}", socketio_path="/_event/", namespaces=["/_event"],
            transports=["websocket"],
            auth={"event": {"name": HYDRATE, "payload": {},
                            "router_data": {"pathname": path, "asPath": path, "query": {}}}},
        )
        try:
            await asyncio.wait_for(redirected.wait(), 15)
        finally:
            await sio.disconnect()
        return frames

    def target() -> None:
        try:
            result["frames"] = asyncio.run(run())
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if "error" in result:
        raise result["error"]
    return result["frames"]


def _redirects(frames: list[dict]) -> list[str]:
    return [e["payload"]["path"] for f in frames if f["name"] == "event"
            for e in f["data"].get("events") or [] if e.get("name") == "_redirect"]


def test_hydrate_never_returns_an_email(new_context, app_server):
    """No client, not even one that reuses a closed tab's client token, receives an email."""
    ctx, page, _ = new_context()
    name, email = sign_up(page)
    goto(page, "/profile")
    expect(page.locator("#profile-name")).to_have_text(name)
    client_token = page.evaluate("() => window.sessionStorage.getItem('token')")
    assert client_token

    stranger = _hydrate(app_server.url, str(uuid.uuid4()), "/profile")
    page.close()  # the tab is gone; its state stays on the server for a while
    reused = _hydrate(app_server.url, client_token, "/profile")

    for frames in (stranger, reused):
        wire = json.dumps(frames)
        assert email not in wire and email.split("@")[0] not in wire
        assert "argon2" not in wire and "password_hash" not in wire
        # The login is the cookie, not the client token: both are sent to log in.
        assert _redirects(frames) == ["/login?next=/profile"]
