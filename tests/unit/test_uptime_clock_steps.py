"""The heartbeat across jumps of the wall clock (an NTP step; the tests' clock).

A process that noted it was alive a moment ago by its monotonic clock was up through any gap
the wall clock shows: no outage. Before, a clock run ahead and brought back left an "outage"
reaching into the future, and every block credited before the wall clock caught up with it
earned nothing (seen in CI: a focus block credited no EXP after another test had moved the
app's clock ahead).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlmodel import select

from sessions_app.live import phases
from sessions_app.models import ServerHeartbeat, ServerOutage, User
from sessions_app.services import uptime
from tests.unit.test_exp_integrity import (
    FULL_BLOCK_EXP,
    T0,
    advance,
    credits_of,
    make_user,
    open_room,
    start,
)

WATCHED = timedelta(seconds=15)  # the catch-up loop's cadence


def heartbeat(db):
    db.expire_all()
    return db.get(ServerHeartbeat, 1).alive_at


def test_a_watched_jump_ahead_is_no_outage_and_the_heartbeat_follows_the_clock_back(db):
    uptime.note_alive(db, now=T0)
    ahead = T0 + timedelta(minutes=10)
    assert uptime.note_alive(db, now=ahead, watched_for=WATCHED) is None
    assert heartbeat(db) == ahead
    back = T0 + timedelta(seconds=30)
    assert uptime.note_alive(db, now=back, watched_for=WATCHED) is None
    assert heartbeat(db) == back  # not left in the future, where it would hide a real outage
    assert db.exec(select(ServerOutage)).all() == []


def test_a_block_after_the_clock_came_back_earns_in_full(db):
    ada = make_user(db)
    uptime.note_alive(db, now=T0 - timedelta(minutes=2))
    # The clock ran 10 minutes ahead for a while (the process kept running), then came back.
    uptime.note_alive(db, now=T0 + timedelta(minutes=8), watched_for=WATCHED)
    uptime.note_alive(db, now=T0 - timedelta(minutes=1), watched_for=WATCHED)
    room_id = open_room(db, ada, at=T0 - timedelta(minutes=1))
    seq = start(db, room_id, ada, T0)
    for second in range(15, 25 * 60 + 1, 15):
        uptime.note_alive(db, now=T0 + timedelta(seconds=second), watched_for=WATCHED)
    advance(db, room_id, seq, T0 + timedelta(minutes=25))
    db.commit()
    (credit,) = credits_of(db, ada)
    assert credit.minutes_present == 25.0
    assert db.get(User, ada).exp_total == FULL_BLOCK_EXP


def test_after_the_clock_stepped_back_a_restart_still_records_the_downtime(db):
    uptime.note_alive(db, now=T0 + timedelta(minutes=10))  # written while the clock ran ahead
    uptime.note_alive(db, now=T0, watched_for=WATCHED)  # stepped back: the heartbeat follows
    # The server goes down at T0 and starts again at T0 + 5 min: its first note watched nothing.
    back = T0 + timedelta(minutes=5)
    assert uptime.note_alive(db, now=back) == (T0, back)


def test_a_stalled_process_still_counts_its_gap_as_an_outage(db):
    uptime.note_alive(db, now=T0)
    later = T0 + timedelta(minutes=3)
    assert uptime.note_alive(db, now=later, watched_for=timedelta(minutes=3)) == (T0, later)


def test_the_phase_scheduler_tells_the_service_what_this_process_watched(monkeypatch):
    seen: list[timedelta | None] = []
    monkeypatch.setattr(phases.uptime, "note_alive", lambda db, watched_for=None: seen.append(watched_for))
    monkeypatch.setattr(phases._Heartbeat, "noted_at", None)
    clock = iter([100.0, 115.0])
    monkeypatch.setattr(phases.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(phases, "session_scope", contextlib.nullcontext)
    phases.note_alive()
    phases.note_alive()
    assert seen == [None, timedelta(seconds=15)]

