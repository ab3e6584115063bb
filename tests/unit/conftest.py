"""Unit-test fixtures: a fresh SQLite file database per test, clean rate limits, and
``settings_env`` to run one test with other settings."""

from __future__ import annotations

import pytest
from sqlmodel import Session, SQLModel

import sessions_app.models  # noqa: F401  (every table on the metadata)
from sessions_app.db import SYSTEM, make_engine, set_default_actor
from sessions_app.services import ratelimit
from sessions_app.settings import get_settings
from tests.support import postgres


@pytest.fixture
def engine(tmp_path, request):
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
    eng = make_engine(f"sqlite:///{tmp_path}/test.db")
    SQLModel.metadata.create_all(eng)
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
