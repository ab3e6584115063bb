""""Now" has one source: ``models.base.utcnow``. The app's test clock (``testclock.py``) and
the unit suite's ``UNIT_TIME_OF_DAY`` (``make test`` runs the unit tests at 23:40 and at 00:05
UTC) move that clock; code that asked the wall clock for the date instead would escape both,
and a test of it would pass or fail by the hour CI happens to run at (one did: a session
planned "now until an hour later" in UTC failed only after 23:00)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The wall clock, read directly: ``datetime.now(...)``, ``datetime.utcnow()``, ``date.today()``.
WALL_CLOCK = re.compile(r"\b(?:datetime\.(?:now|utcnow|today)|date\.today)\(")
# Where the wall clock is the point: the clock itself, the fixture that moves it, the test
# clock's own test (scheduled runs follow a moved clock) and this file's examples.
ALLOWED = {"sessions_app/models/base.py", "tests/unit/conftest.py", "tests/unit/test_testclock.py",
           "tests/unit/test_clock_discipline.py"}


def _offenders(*folders: str) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if WALL_CLOCK.search(line):
                    found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_the_app_and_the_unit_tests_read_now_from_utcnow():
    # End-to-end tests are left out: they run against a server on the real clock.
    assert _offenders("sessions_app", "tests/unit", "tests/support") == []


def test_the_guard_sees_a_wall_clock_read():
    assert WALL_CLOCK.search("start = datetime.now(UTC) + timedelta(minutes=5)")
    assert WALL_CLOCK.search("today = date.today()")
    assert not WALL_CLOCK.search("start = utcnow() + timedelta(minutes=5)")

