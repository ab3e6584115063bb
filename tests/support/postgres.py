"""A throwaway PostgreSQL cluster for tests, from Debian's packages (``initdb``/``pg_ctl``).

``start_cluster()`` runs ``initdb`` in a temporary directory and starts the server on a free
loopback port (fsync off: nothing here must survive a crash), with two roles laid out as
production does it (README, "PostgreSQL in production"):

* ``sessions_owner`` owns the database and runs the migrations;
* ``sessions_app`` is what the app connects as: no superuser, no BYPASSRLS, only the data
  privileges the owner grants it (default privileges, so tables made by later migrations
  are covered too).

When run as root the server runs as the ``postgres`` user (it refuses to run as root). Local
connections are trusted: the cluster lives for one test run, on loopback, with test data.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

OWNER = "sessions_owner"
APP = "sessions_app"
DB = "sessions"


def pg_bin() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/<version>/bin (None: missing)."""
    dirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda d: [int(x) for x in d.parent.name.split(".")
                                                                           if x.isdigit()])
    for d in reversed(dirs):
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def missing_reason() -> str:
    """Why PostgreSQL tests cannot run here ('' when they can)."""
    if pg_bin() is None:
        return "PostgreSQL's initdb/pg_ctl are not installed: run `make install-test` (Debian's postgresql)"
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class Cluster:
    """A running throwaway cluster."""

    directory: Path
    port: int

    def url(self, user: str = "postgres", database: str = DB) -> str:
        """A SQLAlchemy URL for ``user`` (trusted on loopback: no password)."""
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str, database: str = "postgres") -> None:
        """Run statements as the superuser, each in its own autocommit transaction."""
        engine = sa.create_engine(self.url("postgres", database), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def stop(self) -> None:
        """Stop the server and delete its files."""
        bin_dir = pg_bin()
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate",
                                     "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(self.directory, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb + start on a free port, then the owner and app roles and the database."""
    bin_dir = pg_bin()
    if bin_dir is None:
        raise RuntimeError(missing_reason())
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    directory = Path(tempfile.mkdtemp(prefix="sessions-pg-"))
    directory.chmod(0o755)
    data, sock, log = directory / "data", directory / "socket", directory / "log"
    data.mkdir()
    sock.mkdir()
    log.touch()
    if os.geteuid() == 0:
        for path in (data, sock, log):
            shutil.chown(path, "postgres")
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"]),
                   check=True, capture_output=True, timeout=120)
    port = _free_port()
    options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} -c fsync=off -c synchronous_commit=off "
               "-c full_page_writes=off -c max_connections=300")
    started = subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                                           "-t", "60", "-o", options, "start"]), capture_output=True, timeout=90)
    if started.returncode != 0:
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr.decode()}\n{log.read_text()[-2000:]}")
    cluster = Cluster(directory, port)
    cluster.admin(f"CREATE ROLE {OWNER} LOGIN NOSUPERUSER NOBYPASSRLS",
                  f"CREATE ROLE {APP} LOGIN NOSUPERUSER NOBYPASSRLS",
                  f"CREATE DATABASE {DB} OWNER {OWNER}")
    grant_app_role(cluster, DB)
    return cluster


def grant_app_role(cluster: Cluster, database: str) -> None:
    """What production runs once per database (README): the app role may use the data."""
    cluster.admin("REVOKE ALL ON SCHEMA public FROM PUBLIC",
                  f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER}",
                  f"GRANT USAGE ON SCHEMA public TO {APP}",
                  f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
                  f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP}",
                  f"ALTER DEFAULT PRIVILEGES FOR ROLE {OWNER} IN SCHEMA public "
                  f"GRANT USAGE, SELECT ON SEQUENCES TO {APP}",
                  database=database)


# --- the unit suite on PostgreSQL (UNIT_DB=postgres) -------------------------------------------

def unit_suite_on_postgres() -> bool:
    """``UNIT_DB=postgres``: the unit tests' ``engine`` is this worker's own cluster."""
    return os.environ.get("UNIT_DB", "sqlite") == "postgres"


def migrated_cluster() -> tuple[Cluster, sa.Engine]:
    """A cluster migrated to head by the owner, and the app role's engine (db.py's hook on)."""
    from alembic import command
    from alembic.config import Config

    from sessions_app.db import make_engine

    cluster = start_cluster()
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parents[2] / "alembic"))
    cfg.attributes["database_url"] = cluster.url(OWNER)
    command.upgrade(cfg, "head")
    return cluster, make_engine(cluster.url(APP))


_admin_engines: dict[int, sa.Engine] = {}


def empty_tables(cluster: Cluster, metadata: sa.MetaData) -> None:
    """Every table emptied and every id sequence back at 1, between tests (DELETE on tables
    this small is ten times faster than TRUNCATE)."""
    engine = _admin_engines.get(cluster.port)
    if engine is None:
        engine = _admin_engines[cluster.port] = sa.create_engine(cluster.url("postgres", DB))
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.exec_driver_sql(f"DELETE FROM {table.name}")
        conn.exec_driver_sql("SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'")
