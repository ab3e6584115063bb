"""Scaled out: the real app with 2 granian workers, Redis and PostgreSQL, two browsers.

The module starts its own PostgreSQL and Redis (``scripts/services.sh``, Debian's packages,
loopback, free ports, a temporary directory), migrates with ``alembic upgrade head`` and runs
``reflex run --env prod`` with ``GRANIAN_WORKERS=2``. It then checks that

- there really are two worker processes, and the two browsers' sockets live on different
  ones: Reflex's Redis token manager stores, per tab token, a socket record naming the worker
  instance that holds the socket (``token_manager_socket_record_<token>``); the guest reloads
  until its record names a different instance than the host's;
- a host's timer actions (start, pause, resume, skip), a phase ending on the server, and chat
  in both directions reach the browser on the other worker.

Skipped (with the reason) only when the PostgreSQL or Redis programs are not installed;
``make test`` installs them.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import psutil
import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import (
    IGNORED_CONSOLE,
    ROOT,
    AppServer,
    free_port,
    goto,
    log_in_as,
    start_app,
)
from tests.e2e.test_realtime_protocol import LIVE, db_room
from tests.support.factories import new_login
from tests.support.protocol import ReflexClient, eventually, protocol_user, run, settle

SERVICES = ROOT / "scripts" / "services.sh"
WORKERS = 2


def _services_missing() -> str:
    pg = any(Path(d, "initdb").exists() for d in Path("/usr/lib/postgresql").glob("*/bin")) or shutil.which("initdb")
    missing = [name for name, ok in (("postgresql (initdb)", pg), ("redis-server", shutil.which("redis-server")))
               if not ok]
    return ", ".join(missing)


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(bool(_services_missing()),
                       reason=f"needs Debian's postgresql and redis-server ({_services_missing()} missing): "
                              "run `make services-install` or `make install-test`"),
]


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, str]]:
    """PostgreSQL + Redis on free loopback ports in a temporary directory, stopped afterwards."""
    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as `postgres`.
    tmp = tempfile.mkdtemp(prefix="sessions-services-")
    os.chmod(tmp, 0o755)
    env = {**os.environ, "SERVICES_DIR": tmp, "PG_PORT": str(free_port()), "REDIS_PORT": str(free_port()),
           "PG_EXTRA": "-c fsync=off -c synchronous_commit=off"}
    try:
        subprocess.run([str(SERVICES), "start"], env=env, check=True, capture_output=True, text=True, timeout=120)
    except subprocess.CalledProcessError as err:
        subprocess.run([str(SERVICES), "stop"], env=env, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"services did not start:\n{err.stdout}\n{err.stderr}")
    values = dict(line.split("=", 1) for line in Path(tmp, "env").read_text().splitlines() if "=" in line)
    yield values
    subprocess.run([str(SERVICES), "stop"], env=env, capture_output=True, timeout=60)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def scaled_server(services, oauth_provider, tmp_path_factory) -> Iterator[AppServer]:
    """The app in production mode with 2 workers against the module's PostgreSQL + Redis (its
    own build directory: a copy of the run's build when there is one)."""
    server = start_app(tmp_path_factory.mktemp("scaled"), oauth_provider.url, database_url=services["DATABASE_URL"],
                       name="scaled", REFLEX_REDIS_URL=services["REFLEX_REDIS_URL"],
                       RATE_LIMIT_STORAGE=services["RATE_LIMIT_STORAGE"], REFLEX_STATE_MANAGER_MODE="redis",
                       GRANIAN_WORKERS=str(WORKERS), REFLEX_USE_GRANIAN="1")
    yield server
    server.stop()


def worker_pids(server: AppServer) -> list[int]:
    """The granian worker processes under the ``reflex run`` supervisor."""
    return [p.pid for p in psutil.Process(server.proc.pid).children() if "reflex" in " ".join(p.cmdline())]


def socket_instance(rds: redis.Redis, page: Page) -> str | None:
    """The worker instance that holds this tab's socket, from Reflex's Redis socket record."""
    token = page.evaluate("window.sessionStorage.getItem('token')")
    raw = rds.get(f"token_manager_socket_record_{token}")
    return pickle.loads(raw).instance_id if raw else None  # our own private Redis: trusted


def _worker_of(services: dict) -> Callable[[ReflexClient], str | None]:
    """Which worker holds a protocol client's socket (Reflex's socket record in Redis)."""
    rds = redis.Redis.from_url(services["REFLEX_REDIS_URL"])

    def instance(client: ReflexClient) -> str | None:
        token = parse_qs(urlparse(client.sio.connection_url).query)["token"][0]
        raw = rds.get(f"token_manager_socket_record_{token}")
        return pickle.loads(raw).instance_id if raw else None

    return instance


async def _tabs_on_both_workers(url: str, login: str, path: str, query: dict, instance,
                                beside_first: bool = False) -> list[ReflexClient]:
    """Tabs of one login on ``path`` until both workers hold some (``beside_first``: some
    besides the first tab). The workers share one listening socket, so which one takes a tab
    is up to the kernel: six tabs usually suffice."""
    tabs: list[ReflexClient] = []
    while len(tabs) < 6 or len({instance(t) for t in tabs[1 if beside_first else 0:]} - {None}) < 2:
        assert len(tabs) < 30, "all of the login's tabs landed on one worker"
        tabs.append(ReflexClient(url, login))
        await tabs[-1].open(path, query)
    return tabs


@pytest.fixture
def scaled_context(browser: Browser, scaled_server: AppServer) -> Iterator[Callable[[str], Page]]:
    """Browser contexts on the scaled app that fail the test on page/console/server errors."""
    made, errors = [], []
    scaled_server.new_log_errors()

    def make(name: str) -> Page:
        """A page logged in as a new student called ``name``."""
        ctx = browser.new_context(base_url=scaled_server.url)
        ctx.set_default_timeout(15_000)
        log_in_as(ctx, scaled_server.url, new_login(scaled_server.database_url, name)[2])
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        page.on("console", lambda msg: errors.append(f"console: {msg.text}")
                if msg.type == "error" and not IGNORED_CONSOLE.search(f"{msg.text} {msg.location.get('url', '')}")
                else None)
        made.append(ctx)
        return page

    yield make
    for ctx in made:
        ctx.close()
    server_errors = scaled_server.new_log_errors()
    assert not errors, f"browser errors: {errors}"
    assert not server_errors, f"server log errors: {server_errors}"


def test_timer_and_chat_cross_workers(scaled_server, scaled_context, services):
    pids = worker_pids(scaled_server)
    assert len(pids) == WORKERS, f"expected {WORKERS} granian workers, found {pids}"
    rds = redis.Redis.from_url(services["REFLEX_REDIS_URL"])

    host, guest = scaled_context("Host Hugo"), scaled_context("Guest Greta")
    goto(host, "/lobby")
    expect(host.locator("#user-menu")).to_have_text("Host Hugo")
    goto(host, "/rooms/new")
    name = f"Scaled {uuid.uuid4().hex[:4]}"
    host.fill("#room-name", name)
    host.fill("#room-focus", "60")
    host.fill("#room-short-break", "3")
    host.click("#room-submit")
    host.wait_for_url("**/rooms/*")
    expect(host.locator("#room-title")).to_have_text(name)
    room_path = "/rooms/" + host.url.rstrip("/").rsplit("/", 1)[1]

    goto(guest, room_path)
    expect(guest.locator("#participant-list .participant")).to_have_count(2)
    expect(host.locator("#participant-list .participant")).to_have_count(2)

    # Put the two sockets on different workers: a reload opens a new socket, which granian
    # hands to whichever worker accepts it first.
    host_worker = socket_instance(rds, host)
    assert host_worker, "no socket record for the host's tab in Redis"
    for _ in range(20):
        guest_worker = socket_instance(rds, guest)
        if guest_worker and guest_worker != host_worker:
            break
        guest.reload()
        guest.wait_for_selector("#hydrated", state="attached", timeout=30_000)
        expect(guest.locator("#room-title")).to_have_text(name)
    else:
        pytest.fail("20 reloads all landed on the host's worker: are there really 2 workers?")
    expect(guest.locator("#participant-list .participant")).to_have_count(2)

    # Timer actions from the host reach the guest on the other worker.
    host.click("#timer-start")
    expect(guest.locator("#timer-phase")).to_have_text("focus")
    host.click("#timer-pause")
    expect(guest.locator("#timer-paused")).to_be_visible()
    host.click("#timer-resume")
    expect(guest.locator("#timer-paused")).to_have_count(0)
    host.click("#timer-skip")
    expect(guest.locator("#timer-phase")).to_have_text("short break")
    # A server-side push: the 3-minute break (3 s at TIME_SCALE=60) ends on whichever worker
    # runs it first (compare-and-set in PostgreSQL); both browsers see the next focus.
    for page in (host, guest):
        expect(page.locator("#timer-phase")).to_have_text("focus", timeout=15_000)

    # Quiet focus: the host opens chat during focus (the switch crosses workers too).
    host.click("#chat-focus-open")
    expect(guest.locator("#chat-input")).to_be_visible()
    # Chat, both ways, if the chat feature is in the room page.
    if host.locator("#chat-input").count():
        for sender, receiver, text in ((guest, host, "hello from the other worker"),
                                       (host, guest, "and back again")):
            sender.fill("#chat-input", text)
            sender.click("#chat-send")
            expect(receiver.locator(".chat-message .chat-body").filter(has_text=text)).to_have_count(1)

    # Still on different workers at the end (nothing reconnected behind our back).
    assert socket_instance(rds, host) == host_worker != socket_instance(rds, guest)
    print(f"\nworkers {pids}; host socket on {host_worker[:8]}, guest socket on {socket_instance(rds, guest)[:8]}")


def test_one_frame_per_member_across_workers(scaled_server, services, browser_name):
    """A room of 12 protocol clients spread over both workers: a host action reaches every
    member exactly once (not lost on the other worker, not doubled by the Redis relay).

    (``browser_name``, unused, puts this test in the same pytest-playwright group as the other
    one, so the module's servers start once instead of twice.)"""
    url, dburl = scaled_server.url, services["DATABASE_URL"]
    instance = _worker_of(services)

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Scaled Host")
        room_id, _ = db_room(dburl, host_id, private=False, name="Twelve")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        everyone = [ReflexClient(url, host_token)] + [ReflexClient(url, protocol_user(dburl, f"Scaled {i}")[1])
                                                      for i in range(11)]
        for client in everyone:
            await client.open(path, query)
        assert await eventually(lambda: all(instance(c) is not None for c in everyone)
                                and all(len(c.last(LIVE, "members", [])) == 12 for c in everyone[1:]), timeout=30), \
            "a socket is not recorded, or a member never saw all 12"
        await settle(everyone, quiet=1.0)
        by_worker: dict[str | None, int] = {}
        for client in everyone:
            by_worker[instance(client)] = by_worker.get(instance(client), 0) + 1
        assert None not in by_worker and len(by_worker) == WORKERS, f"sockets per worker: {by_worker}"
        assert all(len(c.last(LIVE, "members", [])) == 12 for c in everyone[1:])

        for client in everyone:
            client.frames.clear()
        await everyone[0].call(f"{LIVE}.control", action="start")
        assert await eventually(lambda: all(c.frames for c in everyone[1:])), "a member missed the start"
        await settle(everyone, quiet=1.0)  # so a second frame would have arrived too
        frames = [len(c.frames) for c in everyone[1:]]
        assert frames == [1] * 11, f"frames per member: {frames}"
        assert {c.last(LIVE, "phase") for c in everyone[1:]} == {"focus"}
        print(f"\nsockets per worker: {sorted(by_worker.values())}")
        await asyncio.gather(*(c.close() for c in everyone))

    run(scenario())  # in a thread: after a Playwright test this thread has a running loop


def test_leaving_in_one_tab_takes_the_users_tabs_on_every_worker_out_of_the_room(scaled_server, services):
    """``realtime.leave_user_channels`` across workers: a member with tabs on both workers
    leaves in one; the host's next chat message reaches none of the member's tabs (crafted
    clients: nothing but the server takes them out of the channel)."""
    from sessions_app.state.chat import RoomBoardUi

    post = f"{RoomBoardUi.get_full_name()}.send"
    url, dburl = scaled_server.url, services["DATABASE_URL"]
    instance = _worker_of(services)

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Scaled Leave Host")
        _, member_token = protocol_user(dburl, "Scaled Leaver")
        room_id, _ = db_room(dburl, host_id, private=False, name="Leave across")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        tabs = await _tabs_on_both_workers(url, member_token, path, query, instance)
        await settle([host, *tabs], quiet=1.0)
        leaving = tabs[0]
        await host.call(post, form={"body": "before the leave"})
        assert await eventually(lambda: all("before the leave" in t.text() for t in tabs)), \
            "a tab of the member missed the host's message"

        assert await eventually(lambda: len(host.last(LIVE, "members", [])) == 2)  # (then 1 means left)
        await leaving.call(f"{LIVE}.leave_room")
        assert await eventually(lambda: len(host.last(LIVE, "members", [])) == 1), "the leaver is still listed"
        await settle([host, *tabs], quiet=1.0)
        await host.call(post, form={"body": "after the leave"})
        assert await eventually(lambda: "after the leave" in host.text())
        await settle([host, *tabs], quiet=1.0)  # and where else it would arrive, it has
        got_it = [instance(t) == instance(leaving) for t in tabs if "after the leave" in t.text()]
        assert got_it == [], f"tabs still in the room's channel (True: on the leaving tab's worker): {got_it}"
        await asyncio.gather(host.close(), *(t.close() for t in tabs))

    run(scenario())


def test_call_signalling_crosses_workers(scaled_server, services):
    """A call's roster and a signal between two members whose tabs live on different workers
    (``realtime.call_browser`` to one socket goes through Redis when it is elsewhere)."""
    from sessions_app.state.call import CallState

    message = f"{CallState.get_full_name()}.message"
    url, dburl = scaled_server.url, services["DATABASE_URL"]
    rds = redis.Redis.from_url(services["REFLEX_REDIS_URL"])

    def instance(client: ReflexClient) -> str | None:
        token = parse_qs(urlparse(client.sio.connection_url).query)["token"][0]
        raw = rds.get(f"token_manager_socket_record_{token}")
        return pickle.loads(raw).instance_id if raw else None

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Scaled Caller")
        member_id, member_token = protocol_user(dburl, "Scaled Callee")
        room_id, _ = db_room(dburl, host_id, private=False, name="Call across")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        assert await eventually(lambda: instance(host) is not None), "the host's socket is not recorded"
        await settle([host], quiet=1.0)
        # The kernel picks the worker: open member tabs until one is on the other worker.
        tabs: list[ReflexClient] = []
        while not tabs or instance(tabs[-1]) in (None, instance(host)):
            assert len(tabs) < 30, "every member tab landed on the host's worker"
            tabs.append(ReflexClient(url, member_token))
            await tabs[-1].open(path, query)
            await eventually(lambda: instance(tabs[-1]) is not None, timeout=5)  # (None: open another)
            await settle([tabs[-1]], quiet=0.5)
        member = tabs[-1]
        await host.call(message, msg={"op": "join", "kind": "room", "id": room_id})
        await member.call(message, msg={"op": "join", "kind": "room", "id": room_id})
        # The roster with both reached the host on the other worker (the member's join is done).
        both = f'\\"user_id\\": {member_id}, \\"name\\": \\"Scaled Callee\\"'
        for _ in range(200):
            if both in host.text() and member.last(CallState.get_full_name(), "in_call"):
                break
            await asyncio.sleep(0.1)
        assert both in host.text(), host.text()[-1500:]
        sdp = "v=0 across " + uuid.uuid4().hex
        await member.call(message, msg={"op": "signal", "to": host_id, "kind": "offer",
                                        "data": {"type": "offer", "sdp": sdp}})
        await host.call(message, msg={"op": "signal", "to": member_id, "kind": "answer",
                                      "data": {"type": "answer", "sdp": sdp + " back"}})
        assert await eventually(lambda: sdp in host.text()), host.text()[-1500:]
        assert await eventually(lambda: sdp + " back" in member.text()), (member.text()[-1500:], host.text()[-800:])
        await settle([host, *tabs], quiet=1.0)  # where else it would arrive, it has
        assert all(sdp not in t.text() for t in tabs[:-1])  # the member's other tabs: nothing
        await asyncio.gather(*(c.close() for c in [host, *tabs]))

    run(scenario())


def test_a_members_second_tab_that_navigates_into_the_room_lists_everyone(scaled_server, scaled_context):
    """With several workers a room page's own load leaves the member list out and waits for
    the list its arrival asks for. A member's second tab that navigates in from the lobby
    (client-side, no new socket) changes nobody's membership, so that list reads the same as
    the last one: it must still go out, or the tab lists nobody."""
    host, guest = scaled_context("Nav Host"), scaled_context("Nav Guest")
    goto(host, "/rooms/new")
    name = f"Nav {uuid.uuid4().hex[:4]}"
    host.fill("#room-name", name)
    host.click("#room-submit")
    host.wait_for_url("**/rooms/*")
    room_id = host.url.rstrip("/").rsplit("/", 1)[1]
    goto(guest, f"/rooms/{room_id}")
    expect(guest.locator("#participant-list .participant")).to_have_count(2)

    second = guest.context.new_page()
    goto(second, "/lobby")
    second.click(f'.room-card[data-room-id="{room_id}"]')
    second.wait_for_url(f"**/rooms/{room_id}")
    expect(second.locator("#room-title")).to_have_text(name)
    expect(second.locator("#participant-list .participant")).to_have_count(2)
    expect(host.locator("#participant-list .participant")).to_have_count(2)


def test_a_logout_logs_out_the_logins_other_tabs_on_every_worker(scaled_server, services):
    """``realtime.end_logins`` across workers: a login's tabs on both workers; one logs out.
    Every other tab of that login is sent the logout and gets nothing more (crafted clients,
    which ignore the logout: only the server takes them out of the channels)."""
    from sessions_app.state.auth import AuthState
    from sessions_app.state.chat import RoomBoardUi

    post = f"{RoomBoardUi.get_full_name()}.send"
    url, dburl = scaled_server.url, services["DATABASE_URL"]
    instance = _worker_of(services)

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Scaled Logout Host")
        _, member_token = protocol_user(dburl, "Scaled Logout Member")
        room_id, _ = db_room(dburl, host_id, private=False, name="Logout across")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        # The tabs after the first (the one logging out) on both workers.
        tabs = await _tabs_on_both_workers(url, member_token, path, query, instance, beside_first=True)
        await settle([host, *tabs], quiet=1.0)
        await host.call(post, form={"body": "before the logout"})
        assert await eventually(lambda: all("before the logout" in t.text() for t in tabs))

        leaving, others = tabs[0], tabs[1:]
        await leaving.call(f"{AuthState.get_full_name()}.log_out")
        assert await eventually(lambda: all(any("/auth/logout" in js for js in t.scripts()) for t in others)), \
            "a tab of the login was not sent the logout"
        await settle([host, *tabs], quiet=1.0)
        await host.call(post, form={"body": "after the logout"})
        assert await eventually(lambda: "after the logout" in host.text())
        await settle([host, *tabs], quiet=1.0)
        assert [instance(t) for t in tabs if "after the logout" in t.text()] == []
        assert not any("/auth/logout" in js for js in host.scripts())
        await asyncio.gather(host.close(), *(t.close() for t in tabs))

    run(scenario())
