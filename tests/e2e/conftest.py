"""End-to-end fixtures: the real app (``reflex run --env prod --single-port``) on a free port
with a temporary SQLite database, a local OAuth provider, and Playwright on Debian's Chromium.

Every browser context collects page errors and console errors, and every test checks the
server log for new tracebacks: a test fails on either. Waits are for ``#hydrated`` or for
what the user would see, never a bare sleep.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# 60: a minute of timer lasts a second, so tests can watch whole phases pass.
TIME_SCALE = "60"
PASSWORD = "correct horse battery staple"
# Console noise that is not an application error (Chromium's own network chatter).
IGNORED_CONSOLE = re.compile(r"favicon|ERR_NETWORK_CHANGED|net::ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed")

pytestmark = pytest.mark.e2e


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status
    except Exception:
        return 0


@dataclass
class AppServer:
    """A running app: its URL, database and log, with a cursor for new log errors."""

    url: str
    database_url: str
    log_path: Path
    env: dict
    proc: subprocess.Popen | None = None
    _log_offset: int = 0

    def new_log_errors(self) -> list[str]:
        """Tracebacks or ERROR lines written to the server log since the last call."""
        text = self.log_path.read_text(errors="replace")
        new, self._log_offset = text[self._log_offset:], len(text)
        return [ln for ln in new.splitlines() if "Traceback" in ln or re.search(r"\bERROR\b", ln)]

    def start(self) -> None:
        """Start (or restart) the server and wait until it answers."""
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port",
             "--frontend-port", self.port, "--backend-port", self.port, "--loglevel", "info"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 600  # the first run installs the frontend's packages
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited early; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
            if _get(f"{self.url}/ping") == 200 and _get(f"{self.url}/") == 200:
                return
            time.sleep(0.5)
        raise RuntimeError(f"app did not start in time; see {self.log_path}")

    def stop(self) -> None:
        """Stop the server (the whole process group)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    @property
    def port(self) -> str:
        return self.url.rsplit(":", 1)[1]


@pytest.fixture(scope="session")
def oauth_provider():
    """A local OAuth 2 / OpenID Connect provider (GitHub-style and Google-style)."""
    from tests.e2e.fake_oauth import FakeOAuthProvider

    provider = FakeOAuthProvider(port=free_port())
    provider.start()
    yield provider
    provider.stop()


def app_env(url: str, database_url: str, oauth_url: str, **extra: str) -> dict:
    """The environment the app runs with in end-to-end tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "GITHUB_", "GOOGLE_"))}
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_WEB_WORKDIR=os.environ.get("E2E_WEB_DIR", ".web-e2e"),
        REFLEX_STATE_MANAGER_MODE="memory",
        DATABASE_URL=database_url,
        SESSIONS_ENV="test",
        TIME_SCALE=TIME_SCALE,
        PRESENCE_GRACE_SECONDS="4",
        PUBLIC_URL=url,
        BACKEND_URL=url,
        # Every browser here signs up from 127.0.0.1: the per-client limit would stop the suite
        # (tests/e2e/test_flood.py checks the real limits on a server of its own).
        SIGNUP_RATE_LIMIT="1000/hour",
        SIGNUP_GLOBAL_RATE_LIMIT="1000/minute",
        GITHUB_CLIENT_ID="gh-client",
        GITHUB_CLIENT_SECRET="gh-secret",
        GITHUB_AUTHORIZE_URL=f"{oauth_url}/github/login/oauth/authorize",
        GITHUB_TOKEN_URL=f"{oauth_url}/github/login/oauth/access_token",
        GITHUB_API_URL=f"{oauth_url}/github/api",
        GOOGLE_CLIENT_ID="google-client",
        GOOGLE_CLIENT_SECRET="google-secret",
        GOOGLE_DISCOVERY_URL=f"{oauth_url}/google/.well-known/openid-configuration",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, oauth_provider) -> Iterator[AppServer]:
    """The app, migrated and running, shared by the whole e2e session."""
    tmp = tmp_path_factory.mktemp("app")
    port = free_port()
    url = f"http://localhost:{port}"
    database_url = f"sqlite:///{tmp}/e2e.db"
    env = app_env(url, database_url, oauth_provider.url)
    subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    server = AppServer(url=url, database_url=database_url, log_path=tmp / "app.log", env=env)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, with the flags this closed network needs."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"],
    }


@dataclass
class Student:
    """A signed-up user driving their own browser context."""

    name: str
    email: str
    page: Page
    context: BrowserContext
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def new_context(browser: Browser, app_server: AppServer) -> Iterator[Callable[..., tuple[BrowserContext, Page, list[str]]]]:
    """Make browser contexts that record page and console errors; fail the test on any."""
    made: list[tuple[BrowserContext, list[str]]] = []
    app_server.new_log_errors()  # only errors from this test count

    def make(**kwargs) -> tuple[BrowserContext, Page, list[str]]:
        ctx = browser.new_context(base_url=app_server.url, **kwargs)
        ctx.set_default_timeout(15_000)
        errors: list[str] = []
        page = ctx.new_page()

        def watch(p: Page) -> None:
            p.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            p.on("console", lambda msg: errors.append(f"console: {msg.text}")
                 if msg.type == "error"
                 # "Failed to load resource" names its URL only in the location.
                 and not IGNORED_CONSOLE.search(f"{msg.text} {msg.location.get('url', '')}") else None)

        watch(page)
        ctx.on("page", watch)
        made.append((ctx, errors))
        return ctx, page, errors

    yield make
    problems = [e for _, errs in made for e in errs]
    for ctx, _ in made:
        ctx.close()
    server_errors = app_server.new_log_errors()
    assert not problems, f"browser errors: {problems}"
    assert not server_errors, f"server log errors: {server_errors}"


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


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in through the UI and wait for the lobby."""
    goto(page, "/login")
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_url("**/lobby", timeout=30_000)


@pytest.fixture
def student(new_context) -> Callable[..., Student]:
    """Sign up a new student in a fresh browser context."""

    def make(name: str | None = None, **ctx_kwargs) -> Student:
        ctx, page, errors = new_context(**ctx_kwargs)
        real_name, email = sign_up(page, name)
        return Student(real_name, email, page, ctx, errors)

    return make
