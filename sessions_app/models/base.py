"""Shared column types and helpers for the SQLModel tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

# How far this process's "now" runs ahead of the wall clock: always zero, except in tests
# (SESSIONS_ENV=test), where ``sessions_app/testclock.py`` moves it so a test sees a scheduled
# session's chat open or its end without waiting for the wall clock.
_clock_offset = timedelta(0)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC) + _clock_offset


def set_clock_offset(offset: timedelta) -> None:
    """Move ``utcnow`` by ``offset`` from the wall clock (test-only: see ``testclock.py``)."""
    global _clock_offset
    _clock_offset = offset


def clock_offset() -> timedelta:
    """How far ``utcnow`` runs ahead of the wall clock (zero outside tests)."""
    return _clock_offset


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always returned timezone-aware.

    SQLite keeps no zone, PostgreSQL does; this type makes both behave the same: naive values
    are refused on the way in, and values read back carry ``UTC``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
