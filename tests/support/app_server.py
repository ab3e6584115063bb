"""The real app for end-to-end tests: Reflex's production server on a free port with a
temporary database, and the environment it runs with.

The frontend is built once per test run: the first app starts with ``reflex run --env prod
--single-port`` (compile + production build in ``.web-e2e``); every further app of the run (the
other pytest-xdist workers' apps, the scaled-out app) gets a copy of that build with its own
port written into it (the build names its backend's port in one small module) and starts
Reflex's production backend alone. Each app has its own port, database and build directory, so
e2e files run side by side.

``AppServer.set_clock`` moves the app's clock (``/_test/clock``, served only with
``SESSIONS_ENV=test``) so scheduled sessions and timer phases change without waiting for the
wall clock.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
# 60: a minute of timer lasts a second, so tests can watch whole phases pass.
TIME_SCALE = "60"
# Seconds a closed tab stays a member in tests (a reload reconnects well within it).
PRESENCE_GRACE = 4
# Reflex's production backend alone, serving the frontend that ``reflex run --env prod`` built
# before: what ``reflex run`` ends with, without compiling and building again (a restart in a
# few seconds instead of a rebuild). Reflex 0.10.1's own functions (reflex/utils/exec.py).
BACKEND_ONLY = """
import sys
from reflex.utils import exec as rx_exec
rx_exec.run_backend_prod("0.0.0.0", int(sys.argv[1]), rx_exec.constants.LogLevel.INFO, True)
"""
# The chat limit in the test app: high enough that no test waits for a window to pass, except
# the rate-limit test, which uses it up on purpose (the real default is 5/5second). The window
# is long (a moving window of 20 s) so that the rate-limit test fills it and hits it even on a
# saturated machine: with 5 s, its burst and click took longer than the window under 4 CI
# workers and the 21st message went through.
CHAT_RATE_LIMIT = "20/20second"


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


def base_web_dir() -> str:
    """Where the run's one frontend build happens (relative to the repository)."""
    return os.environ.get("E2E_WEB_DIR", ".web-e2e")


def _run_id() -> str:
    """The same for every xdist worker of one pytest run (or, with ``E2E_RUN_ID``, for the
    pytest runs of one ``make test``), different for the next run."""
    return (os.environ.get("E2E_RUN_ID") or os.environ.get("PYTEST_XDIST_TESTRUNUID")
            or f"pid-{os.getpid()}")


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One process at a time builds the frontend or copies the build."""
    with (ROOT / f"{base_web_dir()}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def copy_build(src: Path, dst: Path, old_port: str, new_port: str) -> bool:
    """Copy the build in ``src`` to ``dst`` for an app on ``new_port``: the backend URLs live
    in the one ``reflex-env-*.js`` module (and its .gz). False if the build does not look like
    that (a Reflex upgrade): the caller then builds instead."""
    assets = src / "build" / "client" / "assets"
    modules = list(assets.glob("reflex-env-*.js"))
    if len(modules) != 1 or f"localhost:{old_port}" not in modules[0].read_text():
        return False
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns("node_modules"))
    (dst / "node_modules").symlink_to(src.resolve() / "node_modules")
    module = dst / "build" / "client" / "assets" / modules[0].name
    module.write_text(module.read_text().replace(f"localhost:{old_port}", f"localhost:{new_port}"))
    Path(f"{module}.gz").write_bytes(gzip.compress(module.read_bytes()))
    return True


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

    def start(self, *, build: bool = True, clock_offset: float = 0.0) -> None:
        """Start the server and wait until it answers. ``build=False`` (a restart) serves the
        frontend built by the first start instead of compiling and building it again;
        ``clock_offset`` starts the app's clock that many seconds ahead of the wall clock."""
        log = self.log_path.open("a")
        if build:
            command = [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port",
                       "--frontend-port", self.port, "--backend-port", self.port, "--loglevel", "info"]
            env = self.env
        else:
            command = [str(VENV_BIN / "python"), "-c", BACKEND_ONLY, self.port]
            env = {**self.env, "REFLEX_ENV_MODE": "prod", "REFLEX_SKIP_COMPILE": "true",
                   "REFLEX_FRONTEND_PORT": self.port, "REFLEX_BACKEND_PORT": self.port}
        env = {**env, "TEST_CLOCK_OFFSET_SECONDS": str(clock_offset)}
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 600  # the first run installs the frontend's packages
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"app exited early; see {self.log_path}:\n{self.log_path.read_text()[-3000:]}")
                if _get(f"{self.url}/ping") == 200 and _get(f"{self.url}/") == 200:
                    return
                time.sleep(0.5)
            raise RuntimeError(f"app did not start in time; see {self.log_path}")
        except BaseException:
            self.stop()  # Ctrl-C or a failed start: no build or server outlives the caller
            raise

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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "GITHUB_", "GOOGLE_", "SMTP_",
                                                                              "FACEBOOK_", "OIDC_"))}
    env.update(
        PATH=f"{VENV_BIN}:{env.get('PATH', '')}",
        REFLEX_USE_NPM="1",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_WEB_WORKDIR=base_web_dir(),
        REFLEX_STATE_MANAGER_MODE="memory",
        DATABASE_URL=database_url,
        SESSIONS_ENV="test",
        TIME_SCALE=TIME_SCALE,
        PRESENCE_GRACE_SECONDS=str(PRESENCE_GRACE),
        PUBLIC_URL=url,
        BACKEND_URL=url,
        # Every browser here signs up from 127.0.0.1: the per-client limit would stop the suite
        # (tests/e2e/test_flood.py checks the real limits on a server of its own).
        SIGNUP_RATE_LIMIT="1000/hour",
        SIGNUP_GLOBAL_RATE_LIMIT="1000/minute",
        CHAT_RATE_LIMIT=CHAT_RATE_LIMIT,
        GITHUB_CLIENT_ID="gh-client",
        GITHUB_CLIENT_SECRET="gh-secret",
        GITHUB_AUTHORIZE_URL=f"{oauth_url}/github/login/oauth/authorize",
        GITHUB_TOKEN_URL=f"{oauth_url}/github/login/oauth/access_token",
        GITHUB_API_URL=f"{oauth_url}/github/api",
        GOOGLE_CLIENT_ID="google-client",
        GOOGLE_CLIENT_SECRET="google-secret",
        GOOGLE_DISCOVERY_URL=f"{oauth_url}/google/.well-known/openid-configuration",
        FACEBOOK_CLIENT_ID="fb-app",
        FACEBOOK_CLIENT_SECRET="fb-secret",
        FACEBOOK_AUTHORIZE_URL=f"{oauth_url}/facebook/dialog/oauth",
        FACEBOOK_TOKEN_URL=f"{oauth_url}/facebook/oauth/access_token",
        FACEBOOK_API_URL=f"{oauth_url}/facebook",
        OIDC_NAME="Campus ID",
        OIDC_DISCOVERY_URL=f"{oauth_url}/oidc/.well-known/openid-configuration",
        OIDC_CLIENT_ID="oidc-client",
        OIDC_CLIENT_SECRET="oidc-secret",
    )
    env.update(extra)
    return env


def start_app(tmp: Path, oauth_url: str, *, database_url: str | None = None, name: str = "app",
              **extra: str) -> AppServer:
    """Migrate the database (a new SQLite file in ``tmp`` unless given) and start the app on a
    free port: the run's first app builds the frontend, then every app (the first one too)
    serves a copy of that build.

    Nothing is ever served from the build directory itself: a running backend rewrites files
    there (the stateful-pages marker on each start), and a copy taken meanwhile would lack them
    — a 2-worker app then compiled in both workers at once and crashed on the race."""
    port = str(free_port())
    url = f"http://localhost:{port}"
    database_url = database_url or f"sqlite:///{tmp}/e2e.db"
    base = ROOT / base_web_dir()
    marker = base / ".e2e-build.json"
    with _build_lock():
        built = json.loads(marker.read_text()) if marker.exists() else {}
        own = ROOT / f"{base_web_dir()}-{worker_id()}-{name}"
        reuse = built.get("run") == _run_id() and copy_build(base, own, built["port"], port)
        env = app_env(url, database_url, oauth_url, **extra, REFLEX_WEB_WORKDIR=os.path.relpath(own if reuse else base, ROOT))
        subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        server = AppServer(url=url, database_url=database_url, log_path=tmp / f"{name}.log", env=env)
        if not reuse:
            marker.unlink(missing_ok=True)
            server.start(build=True)
            server.stop()
            marker.write_text(json.dumps({"run": _run_id(), "port": port}))
            if not copy_build(base, own, port, port):
                raise RuntimeError(f"the e2e build in {base} has an unexpected layout (a Reflex upgrade?)")
            server.env["REFLEX_WEB_WORKDIR"] = os.path.relpath(own, ROOT)
    server.start(build=False)
    return server


class BackendServer(AppServer):
    """The app's backend alone (the event socket and HTTP routes), no frontend build: for
    python-socketio clients, which need no pages (it starts in seconds)."""

    def start(self) -> None:  # type: ignore[override]
        log = self.log_path.open("a")
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--backend-only",
             "--backend-port", self.port, "--loglevel", "info"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend exited early:\n{self.log_path.read_text()[-3000:]}")
            if _get(f"{self.url}/ping") == 200:
                return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"backend did not start in time; see {self.log_path}")


def start_backend(tmp: Path, name: str, **extra: str) -> BackendServer:
    """A migrated SQLite database in ``tmp`` and the backend alone on a free port, with
    ``extra`` settings over the e2e ones (its own web directory: nothing is built)."""
    url = f"http://localhost:{free_port()}"
    database_url = f"sqlite:///{tmp}/{name}.db"
    env = app_env(url, database_url, "http://127.0.0.1:9", **extra,
                  REFLEX_WEB_WORKDIR=f"{base_web_dir()}-{worker_id()}-{name}")
    subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    server = BackendServer(url=url, database_url=database_url, log_path=tmp / f"{name}.log", env=env)
    server.start()
    return server
