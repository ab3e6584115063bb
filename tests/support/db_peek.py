"""Read (or seed) the e2e app's database straight from a test, on SQLite or PostgreSQL.

Statements use ``?`` placeholders (SQLite's); on PostgreSQL (``E2E_DATABASE=postgres``) they
run in one transaction as the system (``app.system`` on), since row-level security is forced
even for the owner role the app server migrates with: a test checks what is stored, whoever
may see it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import sqlalchemy as sa


def _pg(database_url: str, run):
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT set_config('app.system', 'on', true)")
            conn.exec_driver_sql("SET LOCAL timezone = 'UTC'")  # naive times are UTC, as on SQLite
            return run(conn)
    finally:
        engine.dispose()


def rows(database_url: str, sql: str, *args) -> list[tuple]:
    """The rows of one query."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as conn:
            return conn.execute(sql, args).fetchall()
    return _pg(database_url, lambda conn: [tuple(r) for r in conn.exec_driver_sql(sql.replace("?", "%s"), args)])


def execute_many(database_url: str, sql: str, params: Iterable[tuple]) -> None:
    """One statement for each parameter tuple, committed."""
    params = list(params)
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as conn:
            conn.executemany(sql, params)
        return
    _pg(database_url, lambda conn: conn.exec_driver_sql(sql.replace("?", "%s"), params))
