"""Login throttling over the wire (issue 10, item 4): an attacker hammering an email from the
owner's IP does not lock the owner's usual browser out.

On the real backend alone (``tests.support.app_server.start_backend``: python-socketio clients
need no pages) with the production login-guard defaults, so the shared e2e app's own logins
from 127.0.0.1 are not part of it. It measures no time: it runs in the parallel e2e run.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import Session

from sessions_app.db import make_engine
from sessions_app.services import accounts
from sessions_app.state.auth import AuthState
from tests.support.app_server import BackendServer, start_backend
from tests.support.factories import PASSWORD
from tests.support.protocol import ReflexClient, run, settle

pytestmark = pytest.mark.e2e

AUTH = AuthState.get_full_name()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[BackendServer]:
    """The backend; the test fails on any traceback or ERROR line it logs."""
    backend = start_backend(tmp_path_factory.mktemp("guard"), "guard")
    backend.new_log_errors()
    yield backend
    errors = backend.new_log_errors()
    backend.stop()
    assert not errors, "server errors:\n" + "\n".join(errors)


def test_an_attacker_hammering_an_email_does_not_lock_out_its_owners_browser(server):
    """Item 4 over the wire. The owner's tab logged in once (its device cookie is set), then
    logged out. From the same IP (a shared NAT), an attacker's tab sends 12 wrong passwords for
    the owner's email: after the free failures it is refused with a delay. The owner's tab
    still logs in with the right password at once. (The old rule counted every attempt per
    email and per IP: the owner was refused for a minute.)"""
    url, dburl = server.url, server.database_url

    async def attempt(client: ReflexClient, email: str, password: str) -> str:
        """Submit the login form; the message the tab shows ('' and a user id on success)."""
        await settle([client], quiet=0.3)  # nothing from earlier events still on its way
        client.frames.clear()
        await client.call(f"{AUTH}.log_in", form={"email": email, "password": password})
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and not client.values(AUTH, "form_error"):
            await asyncio.sleep(0.01)
        return "" if client.last(AUTH, "user_id", 0) else client.last(AUTH, "form_error", "")

    async def scenario() -> tuple[list[str], str]:
        email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
        engine = make_engine(dburl)
        with Session(engine) as db:
            accounts.sign_up(db, name="Owner", email=email, password=PASSWORD)
            db.commit()
        engine.dispose()
        owner = ReflexClient(url, "")
        await owner.open("/login")
        first = await attempt(owner, email, PASSWORD)  # sets the tab's device cookie
        device_cookie_set = bool(owner.last(AUTH, "device_token", ""))
        await owner.call(f"{AUTH}.log_out")
        attacker = ReflexClient(url, "")
        await attacker.open("/login")
        messages = [await attempt(attacker, email, f"guess number {i} for you") for i in range(12)]
        owner_result = await attempt(owner, email, PASSWORD)
        for c in (owner, attacker):
            await c.close()
        return first, device_cookie_set, messages, owner_result

    first, device_cookie_set, messages, owner_result = run(scenario())
    assert first == ""
    assert owner_result == ""  # the owner's usual browser is not locked out
    assert device_cookie_set
    assert all("do not match" in m for m in messages[:5])
    assert any(m.startswith("Too many failed logins. Try again in") for m in messages)
