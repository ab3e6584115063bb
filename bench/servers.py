"""The servers under test: the real app in production mode and the floor, side by side.

One ``Stack`` per worker count: 1 worker = SQLite + Reflex's in-memory state manager; more =
PostgreSQL + Redis (``scripts/services.sh`` in a temporary directory on free loopback
ports), Reflex's Redis state manager and ``realtime.make_sio``'s Redis client manager. The
floor runs with the same worker count (and the same Redis for its client manager). Every
process is started in its own session and killed by process group on exit.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / ".venv" / "bin"
WEB_DIR = os.environ.get("BENCH_WEB_DIR", "/tmp/web-bench")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status
    except Exception:
        return 0


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _kill_group(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    except ProcessLookupError:
        pass


def tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class CpuSample:
    """The CPU time of a set of processes at one moment, per thread, in nanoseconds.

    A process's own CPU time (``/proc/<pid>/stat``) counts in 10 ms ticks: a scenario whose
    floor used 0.08 s read 8 ticks, so one tick moved its ratio by ~0.25x between runs. Each
    thread's ``/proc/<pid>/task/<tid>/schedstat`` counts in nanoseconds. A thread that exits
    takes its count with it, so ``later - earlier`` falls back to the ticks when a thread
    seen earlier is gone (``precise_since`` tells which was used).
    """

    def __init__(self, procs: list[psutil.Process]) -> None:
        self.ticks = _tick_seconds(procs)
        self.threads: dict[int, int] = {}
        for p in procs:
            try:
                tids = os.listdir(f"/proc/{p.pid}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{p.pid}/task/{tid}/schedstat") as f:
                        self.threads[int(tid)] = int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass  # the thread ended between the listing and the read

    def precise_since(self, earlier: CpuSample) -> bool:
        """Whether every thread of ``earlier`` still runs, so the nanosecond counts add up."""
        return bool(self.threads) and not set(earlier.threads) - set(self.threads)

    def __sub__(self, earlier: CpuSample) -> float:
        if not self.precise_since(earlier):
            return self.ticks - earlier.ticks
        return sum(ns - earlier.threads.get(tid, 0) for tid, ns in self.threads.items()) / 1e9


def _tick_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_sample(procs: list[psutil.Process]) -> CpuSample:
    """A sample of the processes' CPU time; subtract two samples for the seconds between."""
    return CpuSample(procs)


def rss_bytes(procs: list[psutil.Process]) -> int:
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class Stack:
    """PostgreSQL/Redis (several workers), the app and the floor, for one worker count."""

    def __init__(self, workers: int, log) -> None:
        self.workers = workers
        self.log = log
        self.tmp = Path(tempfile.mkdtemp(prefix=f"sessions-bench-{workers}w-"))
        os.chmod(self.tmp, 0o755)  # PostgreSQL runs as `postgres` and must reach its directory
        self.services_env: dict[str, str] = {}
        self.app: subprocess.Popen | None = None
        self.floor: subprocess.Popen | None = None
        self.app_port = free_port()
        self.floor_port = free_port()
        self.redis_pid: int | None = None
        self.db_url = f"sqlite:///{self.tmp}/bench.db"

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _services(self, action: str) -> None:
        env = {**os.environ, "SERVICES_DIR": str(self.tmp / "services"), "PG_PORT": str(self.pg_port),
               "REDIS_PORT": str(self.redis_port)}
        subprocess.run([str(ROOT / "scripts" / "services.sh"), action], env=env, check=action == "start",
                       capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        if self.workers > 1:
            self.pg_port, self.redis_port = free_port(), free_port()
            self.log(f"starting PostgreSQL :{self.pg_port} and Redis :{self.redis_port}")
            self._services("start")
            env_file = self.tmp / "services" / "env"
            self.services_env = dict(ln.split("=", 1) for ln in env_file.read_text().splitlines() if "=" in ln)
            self.db_url = self.services_env["DATABASE_URL"]
            self.redis_pid = int((self.tmp / "services" / "redis.pid").read_text())
        subprocess.run([str(VENV_BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=self.app_env(), check=True,
                       capture_output=True)
        self.start_floor()
        self.start_app()

    def stop(self) -> None:
        _kill_group(self.app)
        _kill_group(self.floor)
        if self.workers > 1:
            self._services("stop")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def app_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REFLEX_", "GRANIAN_"))}
        env.update(
            PATH=f"{VENV_BIN}:{env.get('PATH', '')}", REFLEX_USE_NPM="1", REFLEX_TELEMETRY_ENABLED="false",
            REFLEX_WEB_WORKDIR=WEB_DIR, REFLEX_USE_GRANIAN="1", GRANIAN_WORKERS=str(self.workers),
            DATABASE_URL=self.db_url, SESSIONS_ENV="prod", SECRET_KEY=secrets.token_urlsafe(48),
            PUBLIC_URL=self.app_url, BACKEND_URL=self.app_url,
            # The benchmark sends faster than a student may; every other setting is the default.
            CHAT_RATE_LIMIT="100000/second",
        )
        if self.workers > 1:
            env.update(REFLEX_REDIS_URL=self.services_env["REFLEX_REDIS_URL"], REFLEX_STATE_MANAGER_MODE="redis",
                       RATE_LIMIT_STORAGE=self.services_env["RATE_LIMIT_STORAGE"])
        else:
            env.update(REFLEX_STATE_MANAGER_MODE="memory")
        return env

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def floor_url(self) -> str:
        return f"http://127.0.0.1:{self.floor_port}"

    def start_app(self) -> None:
        self.log(f"starting Sessions (reflex run --env prod, {self.workers} worker(s)) on :{self.app_port}")
        port = str(self.app_port)
        self.app_log = self.tmp / "app.log"
        self.app = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--single-port", "--frontend-port", port,
             "--backend-port", port, "--backend-host", "127.0.0.1", "--loglevel", "warning"],
            cwd=ROOT, env=self.app_env(), stdout=self.app_log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if self.app.poll() is not None:
                raise RuntimeError(f"the app exited:\n{self.app_log.read_text()[-3000:]}")
            if _get(f"{self.app_url}/ping") == 200 and len(self.app_workers()) >= self.workers:
                return
            time.sleep(0.5)
        raise RuntimeError("the app did not start in 10 minutes")

    def start_floor(self) -> None:
        self.log(f"starting the floor (python-socketio relay, {self.workers} worker(s)) on :{self.floor_port}")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if self.workers > 1:
            env["FLOOR_REDIS_URL"] = self.services_env["REFLEX_REDIS_URL"]
        self.floor = subprocess.Popen(
            [sys.executable, "-m", "bench.floor", "--port", str(self.floor_port), "--workers", str(self.workers)],
            cwd=ROOT, env=env, stdout=(self.tmp / "floor.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.floor.poll() is not None:
                raise RuntimeError(f"the floor exited:\n{(self.tmp / 'floor.log').read_text()[-3000:]}")
            if _port_open(self.floor_port) and len(tree(self.floor.pid)) > self.workers:
                return
            time.sleep(0.2)
        raise RuntimeError("the floor did not start")

    # --- measuring --------------------------------------------------------------------------

    def app_workers(self) -> list[psutil.Process]:
        return [p for p in tree(self.app.pid)[1:] if "reflex" in " ".join(p.cmdline())] if self.app else []

    def processes(self, target: str) -> list[psutil.Process]:
        """The server processes of ``target`` ("sessions" or "floor"), Redis included when used
        (it holds the app's per-tab state and relays broadcasts)."""
        procs = tree(self.app.pid if target == "sessions" else self.floor.pid)
        if self.redis_pid:
            procs += tree(self.redis_pid)
        return procs

    def app_errors(self) -> list[str]:
        text = self.app_log.read_text(errors="replace") if self.app else ""
        return [ln for ln in text.splitlines() if "Traceback" in ln or " ERROR " in ln or ln.startswith("ERROR")]
