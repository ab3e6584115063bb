"""Browser helpers for end-to-end tests: Chromium's launch flags, opening a page once Reflex has
hydrated it, signing up and logging in through the UI, a fast login for tests that are not
about logging in, and bounded waits (``wait_until``, ``assert_stays``) instead of sleeps.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import BrowserContext, Page, expect

from sessions_app.login_cookie import LOGIN_COOKIE
from tests.support.factories import PASSWORD, app_db, make_room

# Debian's `chromium-headless-shell` (Chrome's "old" headless mode, the one Playwright itself
# uses for headless runs): the same engine as `chromium` without the full browser's UI layer.
# On two cores it measured about 30 % less browser CPU for the same tests (the suite is
# CPU-bound, so that is wall time). `chromium` remains the fallback.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or (HEADLESS_SHELL if os.path.exists(HEADLESS_SHELL) else "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
# Console noise that is not an application error (Chromium's own network chatter).
IGNORED_CONSOLE = re.compile(r"favicon|ERR_NETWORK_CHANGED|net::ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed")
# The login cookie (see sessions_app/state/auth.py). ``log_in_as`` is the one place that
# knows how a browser carries a login: change it there if the mechanism changes.


@dataclass
class Student:
    """A logged-in user driving their own browser context."""

    name: str
    email: str
    page: Page
    context: BrowserContext
    errors: list[str] = field(default_factory=list)
    user_id: int = 0
    token: str = ""


def goto(page: Page, path: str) -> None:
    """Open a page and wait until Reflex has hydrated it."""
    page.goto(path)
    page.wait_for_selector("#hydrated", state="attached", timeout=30_000)


def sign_up(page: Page, name: str | None = None, email: str | None = None, password: str = PASSWORD) -> tuple[str, str]:
    """Create an account through the UI; returns (name, email). Ends on /lobby."""
    name = name or f"Student {uuid.uuid4().hex[:6]}"
    email = email or f"{uuid.uuid4().hex[:10]}@example.com"
    goto(page, "/signup")
    page.fill("#signup-name", name)
    page.fill("#signup-email", email)
    page.fill("#signup-password", password)
    page.click("#signup-submit")
    page.wait_for_url("**/lobby", timeout=30_000)
    expect(page.locator("#user-menu")).to_have_text(name)
    return name, email


def submit_login(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill in and send the login form (whatever the outcome)."""
    goto(page, "/login")
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.click("#login-submit")


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the UI and wait for the lobby."""
    submit_login(page, email, password)
    page.wait_for_url("**/lobby", timeout=30_000)


def host_room(host: Student, database_url: str, name: str, *, private: bool = False, focus: int = 15, short: int = 3,
              long: int = 10, cycles: int = 2, discipline: str = "Mathematics") -> int:
    """A room opened by ``host`` (through the service the form calls) with the host's browser
    in it; returns its id. For tests about what happens in a room: opening one through the
    form is what ``test_rooms.py`` tests (``create_room`` there)."""
    with app_db(database_url) as db:
        room_id = make_room(db, host.user_id, name=name, discipline=discipline, private=private, focus_minutes=focus,
                            short_break_minutes=short, long_break_minutes=long, blocks_before_long_break=cycles).id
    goto(host.page, f"/rooms/{room_id}")
    expect(host.page.locator("#room-title")).to_have_text(name)
    expect(host.page.locator("#user-menu")).to_have_text(host.name)
    return room_id


def log_in_as(context: BrowserContext, base_url: str, token: str) -> None:
    """Give a browser context an existing login (a token from ``factories.login_token``)
    without going through a form: for tests that are about something else. The cookie is
    the one the server's hand-off route sets (HttpOnly, SameSite=Lax)."""
    context.add_cookies([{"name": LOGIN_COOKIE, "value": token, "url": base_url, "sameSite": "Lax",
                          "httpOnly": True}])


def wait_until(condition: Callable[[], object], timeout: float = 15.0, interval: float = 0.1,
               message: str | Callable[[], str] = "condition not met") -> object:
    """Poll ``condition`` until it returns something truthy (returned) or ``timeout`` passes.
    ``message`` may be a function, called only on failure (to show what was there instead)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} within {timeout} s")
        time.sleep(interval)


def assert_stays(condition: Callable[[], object], seconds: float, interval: float = 0.1,
                 message: str | Callable[[], str] = "changed") -> None:
    """A "nothing happens" check: ``condition`` holds for ``seconds``, checked throughout.
    ``message`` may be a function, called only on failure (to show what happened)."""
    deadline = time.monotonic() + seconds
    while True:
        if not condition():
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (after {seconds - (deadline - time.monotonic()):.1f} s)")
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)
