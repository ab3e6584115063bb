"""End-to-end fixtures: the real app (``reflex run --env prod --single-port``) on a free port
with a temporary SQLite database, a local OAuth provider, and Playwright on Debian's Chromium.

Every browser context collects page errors and console errors, and every test checks the
server log for new tracebacks: a test fails on either. Waits are for ``#hydrated`` or for
what the user would see, never a bare sleep ("nothing happens" checks use ``assert_stays``).

The helpers live in ``tests/support`` and are re-exported here for the test files.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support import postgres
from tests.support.app_server import (  # noqa: F401  (re-exported)
    PRESENCE_GRACE,
    ROOT,
    TIME_SCALE,
    VENV_BIN,
    AppServer,
    app_env,
    free_port,
    start_app,
)
from tests.support.browser import (  # noqa: F401  (re-exported)
    CHROMIUM,
    CHROMIUM_ARGS,
    IGNORED_CONSOLE,
    Student,
    assert_stays,
    goto,
    host_room,
    log_in,
    log_in_as,
    sign_up,
    wait_until,
)
from tests.support.factories import PASSWORD, new_login  # noqa: F401  (re-exported)
from tests.support.fake_oauth import FakeOAuthProvider
from tests.support.fake_smtp import MailCatcher

pytestmark = pytest.mark.e2e


# Long files first. pytest-xdist hands the files out in collection order (make test: one file
# per unit), so a long file collected late becomes the run's tail while the other workers sit
# idle; started first, it overlaps the rest, and the many short files at the end fill the gaps.
# The order: per-file times of a `make test` run, longest first (`make run`'s build and minute
# of use, the scaled-out module and `make dev` lead: they mostly wait). A file over ~10 s
# belongs here: unlisted files run last, alphabetically (test_timer_silence.py, 28 s with its
# own app, once made the last 30 s of a run use one core).
# Know also: xdist's loadfile scheduler queues a SECOND file on every worker whose current file
# has at most 2 tests left, so a file may wait behind a one-test file that mostly waits (`make
# run`'s ~2 minutes). Moving short files into those places only moved the chain (measured:
# e2e 241 s against 223 s); a scheduler that does not queue behind such files would fix it.
SLOW_FIRST = ("test_make_run.py", "test_scaled.py", "test_make_dev.py", "test_rooms.py", "test_chat_tasks.py",
              "test_accounts.py", "test_calls.py", "test_calls_sfu.py", "test_login_cookie.py", "test_mood.py",
              "test_sessions.py", "test_email_flows.py", "test_timer_silence.py", "test_login_guard_wire.py",
              "test_focus_blocks.py", "test_chat_pipeline_protocol.py", "test_token_security.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def oauth_provider() -> Iterator[FakeOAuthProvider]:
    """A local OAuth 2 / OpenID Connect provider (GitHub-style and Google-style)."""
    provider = FakeOAuthProvider(port=free_port())
    provider.start()
    yield provider
    provider.stop()


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailCatcher]:
    """A local SMTP server (aiosmtpd) the app sends its mail to; tests read what arrived."""
    catcher = MailCatcher(port=free_port())
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, oauth_provider, mail_server) -> Iterator[AppServer]:
    """The app, migrated and running, shared by this worker's whole e2e session."""
    # E2E_DATABASE=postgres: on a throwaway PostgreSQL (its owner role, row-level security
    # forced) instead of a SQLite file, to run flows under docs/rls.md's policies (tests that
    # read the SQLite file themselves, e.g. "writes nothing" checks, need the default).
    pg = postgres.start_cluster() if os.environ.get("E2E_DATABASE") == "postgres" else None
    # Every e2e test comes from one client address: the per-client mail limit is unit-tested.
    server = start_app(tmp_path_factory.mktemp("app"), oauth_provider.url, **mail_server.env,
                       MAIL_CLIENT_RATE_LIMIT="500/hour", database_url=pg and pg.url(postgres.OWNER))
    yield server
    server.stop()
    if pg is not None:
        pg.stop()


@pytest.fixture
def app_clock(app_server: AppServer) -> Iterator[Callable[[float], object]]:
    """``set(offset_seconds)`` runs the app's clock ahead of the wall clock and returns the
    app's "now"; the clock is back on the wall clock after the test."""
    yield app_server.set_clock
    app_server.set_clock(0)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, with the flags this closed network needs."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


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


@pytest.fixture
def student(new_context, app_server: AppServer) -> Callable[..., Student]:
    """A new logged-in student in a fresh browser context, on /lobby (or the page ``at``;
    ``at=None``: no page yet, e.g. for ``host_room``, which opens the student's room).

    The account is created in the database and the login handed to the browser directly
    (``log_in_as``): signing up through the form is what ``test_accounts.py`` tests. The
    account's time zone is the browser's (``timezone_id``, UTC unless given).
    """

    def make(name: str | None = None, at: str | None = "/lobby", **ctx_kwargs) -> Student:
        ctx_kwargs.setdefault("timezone_id", "UTC")
        name = name or f"Student {uuid.uuid4().hex[:6]}"
        user_id, email, token = new_login(app_server.database_url, name, tz=ctx_kwargs["timezone_id"],
                                           password=PASSWORD)
        ctx, page, errors = new_context(**ctx_kwargs)
        log_in_as(ctx, app_server.url, token)
        if at is not None:
            goto(page, at)
            expect(page.locator("#user-menu")).to_have_text(name)
        return Student(name, email, page, ctx, errors, user_id, token)

    return make
