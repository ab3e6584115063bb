"""The developers' command as written: an idle `make dev` (hot reload) does not reload while
its SQLite database in data/ is written (its -wal/-shm files used to restart the backend every
few seconds), and Ctrl-C stops all of it.

It runs on another xdist worker than test_make_run.py (each file is one unit of work), so its
compile and its watch overlap the `make run` checks and the rest of the suite.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, free_port
from tests.e2e.test_make_run import (
    RELOAD_LINE,
    START_TIMEOUT,
    MakeTarget,
    _base_env,
    _gone,
    _no_restart_for,
    _ok,
)

pytestmark = pytest.mark.e2e

# An idle `make dev` with a busy database: the old setup reloaded every 3-5 s.
DEV_WATCH_SECONDS = 25


class DevWatch(threading.Thread):
    """Once `make dev` answers, note its backend processes and keep writing and reading its
    SQLite database in WAL mode (as the app does), so the watch overlaps the other test."""

    def __init__(self, app: MakeTarget, fport: int, bport: int, db: Path):
        super().__init__(daemon=True)
        self.app, self.fport, self.bport, self.db = app, fport, bport, db
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.workers: set[tuple[int, int]] = set()
        self.ready_at = 0.0
        self.log_start = 0
        self.writes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.app.wait_until(lambda: self.stop.is_set() or (
                _ok(f"http://localhost:{self.bport}/ping") and _ok(f"http://localhost:{self.fport}/")),
                "the dev frontend and backend")
            if self.stop.is_set():
                return
            self.workers = self.app.servers(self.bport)
            self.log_start = len(self.app.log())
            self.ready_at = time.monotonic()
            self.ready.set()
            with sqlite3.connect(self.db) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("CREATE TABLE IF NOT EXISTS reload_probe (n INTEGER)")
                # A paced writer (twice a second), until the test has seen enough.
                while not self.stop.wait(0.5):
                    self.writes += 1
                    conn.execute("INSERT INTO reload_probe VALUES (?)", (self.writes,))
                    conn.commit()
                    conn.execute("SELECT count(*) FROM reload_probe").fetchone()
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.ready.set()


@pytest.fixture(scope="module")
def dev_app(tmp_path_factory) -> Iterator[DevWatch]:
    """`make dev` on free ports, its SQLite database inside data/ (where a user's lives)."""
    tmp = tmp_path_factory.mktemp("make-dev")
    db = ROOT / "data" / f"test-make-dev-{uuid.uuid4().hex[:8]}.db"
    fport, bport = free_port(), free_port()
    env = _base_env(
        FRONTEND_PORT=str(fport), BACKEND_PORT=str(bport), DATABASE_URL=f"sqlite:///{db}",
        PUBLIC_URL=f"http://localhost:{fport}", BACKEND_URL=f"http://localhost:{bport}",
        REFLEX_WEB_WORKDIR=".web-make-dev",
    )
    app = MakeTarget("dev", env, tmp / "make-dev.log")
    app.start()
    watch = DevWatch(app, fport, bport, db)
    watch.start()
    yield watch
    watch.stop.set()
    watch.join(10)
    try:
        app.interrupt()
    finally:
        app.kill_all()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def test_idle_make_dev_does_not_reload(dev_app):
    watch = dev_app
    assert watch.ready.wait(START_TIMEOUT), "make dev did not answer in time"
    assert watch.error is None, watch.error
    assert watch.workers, "nothing of make dev's tree listens on BACKEND_PORT"

    def still_same() -> str:
        new_log = watch.app.log()[watch.log_start:]
        if gone := _gone(watch.workers):
            return f"the dev backend restarted (processes {gone} ended):\n{new_log[-3000:]}"
        return "\n".join(ln for ln in new_log.splitlines() if RELOAD_LINE.search(ln))

    # Part of this may have passed while the fixture waited for the first compile.
    _no_restart_for(DEV_WATCH_SECONDS - (time.monotonic() - watch.ready_at), still_same)
    assert watch.error is None, watch.error
    assert watch.writes >= 10 and Path(f"{watch.db}-wal").exists()

    status = watch.app.interrupt()
    assert status is not None, "make dev did not stop within 30 s of Ctrl-C"
    assert not (left := watch.app.survivors()), f"left running after Ctrl-C: {left}"
