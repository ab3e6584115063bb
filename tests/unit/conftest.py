"""Unit-test fixtures: a fresh SQLite file database per test, clean rate limits, cheap argon2
hashes, ``settings_env`` to run one test with other settings, and ``UNIT_TIME_OF_DAY`` to run
the suite at a chosen time of day."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, SQLModel

import sessions_app.models  # noqa: F401  (every table on the metadata)
from sessions_app.db import SYSTEM, make_engine, set_default_actor
from sessions_app.models import base
from sessions_app.services import passwords, ratelimit
from sessions_app.settings import get_settings
from tests.support import postgres


@pytest.fixture(scope="session")
def _empty_database(tmp_path_factory):
    """A SQLite file with every table, made once per test process: each test gets a copy
    (creating the tables costs ~17 ms a test, a copy ~1 ms)."""
    path = tmp_path_factory.mktemp("template") / "empty.db"
    eng = make_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(eng)
    eng.dispose()  # the last connection closed: the WAL is checkpointed into the file
    return path


@pytest.fixture
def engine(tmp_path, request, _empty_database):
    """An engine on a new temporary SQLite file with every table created (with
    ``UNIT_DB=postgres``: this worker's PostgreSQL, emptied, see ``tests/support/postgres.py``)."""
    if postgres.unit_suite_on_postgres():
        cluster, eng = request.getfixturevalue("postgres_unit_cluster")
        postgres.empty_tables(cluster, SQLModel.metadata)
        # Services are called directly here, with no handler to state a user: the system.
        # Row-level security itself is tested in test_rls.py.
        set_default_actor(SYSTEM)  # threads the tests start, too
        yield eng
        set_default_actor(None)
        return
    shutil.copyfile(_empty_database, tmp_path / "test.db")
    eng = make_engine(f"sqlite:///{tmp_path}/test.db")
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def postgres_unit_cluster():
    """One migrated throwaway cluster per test process (``UNIT_DB=postgres``)."""
    cluster, eng = postgres.migrated_cluster()
    yield cluster, eng
    eng.dispose()
    cluster.stop()


@pytest.fixture
def db(engine):
    """A session on the temporary database."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture(autouse=True)
def _cheap_argon2(request, monkeypatch):
    """argon2id at its minimum cost: the recommended parameters cost ~0.2 s of CPU a hash, and
    unit tests make hundreds. Verifying still runs argon2 for real. A test marked
    ``real_argon2`` keeps the production hasher (test_passwords.py checks its parameters)."""
    if request.node.get_closest_marker("real_argon2"):
        return
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", _cheap_dummy_hash(cheap))


_dummy: list[str] = []


def _cheap_dummy_hash(hasher: PasswordHasher) -> str:
    if not _dummy:
        _dummy.append(hasher.hash("not-a-real-password-used-for-timing"))
    return _dummy[0]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    ratelimit.reset()
    yield
    ratelimit.reset()


@pytest.fixture
def settings_env(monkeypatch):
    """Call with ``NAME="value"`` pairs to set environment variables and re-read the settings
    (and the rate limiter built from them); everything is restored after the test."""

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        ratelimit._limiter.cache_clear()

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    ratelimit._limiter.cache_clear()


def _time_of_day_offset() -> timedelta | None:
    """``UNIT_TIME_OF_DAY=HH:MM``: how far to move the app's clock so it reads that time (UTC)
    today; None without it. Malformed values stop the run rather than test at the real time."""
    at = os.environ.get("UNIT_TIME_OF_DAY", "")
    if not at:
        return None
    try:
        hour, minute = (int(part) for part in at.split(":"))
        wall = datetime.now(UTC)
        return wall.replace(hour=hour, minute=minute, second=0, microsecond=0) - wall
    except ValueError as err:
        raise pytest.UsageError(f"UNIT_TIME_OF_DAY must be HH:MM (UTC), not {at!r}") from err


@pytest.fixture(autouse=True)
def _time_of_day():
    """With ``UNIT_TIME_OF_DAY=HH:MM`` every test starts with the app's clock
    (``models.base.utcnow``) at that time of day: ``make test`` runs the unit suite at 23:40 and
    at 00:05 UTC, where a test that assumes "in an hour is still today" (or "an hour ago was")
    fails every time instead of only when CI happens to run near midnight. Tests read "now"
    from ``utcnow()`` as the app does."""
    offset = _time_of_day_offset()
    if offset is None:
        yield
        return
    base.set_clock_offset(offset)
    yield
    base.set_clock_offset(timedelta(0))
