"""The real app for end-to-end tests: ``reflex run --env prod --single-port`` on a free port
with a temporary database, and the environment it runs with.

Each pytest-xdist worker runs its own app (own port, database and compile directory), so e2e
files can run side by side. ``AppServer.set_clock`` moves the app's clock (``/_test/clock``,
served only with ``SESSIONS_ENV=test``) so scheduled sessions change without waiting for the
wall clock.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
# 60: a minute of timer lasts a second, so tests can watch whole phases pass.
TIME_SCALE = "60"
# Seconds a closed tab stays a member in tests (a reload reconnects well within it).
PRESENCE_GRACE = 4
# The chat limit in the test app: high enough that no test waits for a window to pass, except
# the rate-limit test, which uses it up on purpose (the real default is 5/5second).
CHAT_RATE_LIMIT = "20/5second"


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


def worker_id() -> str:
    """This pytest-xdist worker's name (``gw0``...), or ``main`` without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def web_dir(suffix: str = "") -> str:
    """The compile directory of this worker's app (the frontend build names its port)."""
    base = os.environ.get("E2E_WEB_DIR", ".web-e2e")
    worker = worker_id()
    return base + ("" if worker in ("main", "gw0") else f"-{worker}") + suffix


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

    def set_clock(self, offset_seconds: float) -> datetime:
        """Run the app's clock ``offset_seconds`` ahead of the wall clock (0: back to it);
        returns the app's new "now" (aware, UTC)."""
        req = urllib.request.Request(f"{self.url}/_test/clock", method="POST",
                                     data=json.dumps({"offset_seconds": offset_seconds}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return datetime.fromisoformat(json.loads(resp.read())["now"])

    @property
    def port(self) -> str:
        return self.url.rsplit(":", 1)[1]


def app_env(url: str, database_url: str, oauth_url: str, **extra: str) -> dict:
    """The environment the app runs with in end-to-end tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "GITHUB_", "GOOGLE_"))}
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_WEB_WORKDIR=web_dir(),
        REFLEX_STATE_MANAGER_MODE="memory",
        DATABASE_URL=database_url,
        SESSIONS_ENV="test",
        TIME_SCALE=TIME_SCALE,
        PRESENCE_GRACE_SECONDS=str(PRESENCE_GRACE),
        PUBLIC_URL=url,
        BACKEND_URL=url,
        LOGIN_RATE_LIMIT="300/minute",
        CHAT_RATE_LIMIT=CHAT_RATE_LIMIT,
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


def start_app(tmp: Path, oauth_url: str, **extra: str) -> AppServer:
    """Migrate a new SQLite database in ``tmp`` and start the app on a free port."""
    port = free_port()
    url = f"http://localhost:{port}"
    database_url = f"sqlite:///{tmp}/e2e.db"
    env = app_env(url, database_url, oauth_url, **extra)
    subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    server = AppServer(url=url, database_url=database_url, log_path=tmp / "app.log", env=env)
    server.start()
    return server
