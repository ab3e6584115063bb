"""The forgiving-streaks migration gives existing credits their local minute back (from
``credited_at`` in the student's zone) where that lands on the stored local day."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]
REVISION = "5e7a1c0d9b42"


def test_existing_credits_get_their_local_minute(tmp_path):
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    url = f"sqlite:///{tmp_path}/m.db"
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, f"{REVISION}-1")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (id, display_name, avatar_url, timezone, exp_total, created_at) "
                             "VALUES (1, 'Ada', '', 'Europe/Berlin', 0, '2026-11-01 00:00:00')"))
        # (foreign keys are not enforced on this plain connection: no room row needed)
        # 00:30 UTC on 3 Nov is 01:30 in Berlin; a late credit (written after an outage) whose
        # credited_at is on another local day stays without a minute.
        for credit_id, credited, day in [(1, "2026-11-03 00:30:00", "2026-11-03"),
                                         (2, "2026-11-05 09:00:00", "2026-11-03")]:
            conn.execute(sa.text("INSERT INTO focus_credits (id, user_id, room_id, phase_seq, minutes_present, exp, "
                                 "local_day, credited_at) VALUES (:id, 1, 1, :id, 25, 200, :day, :at)"),
                         {"id": credit_id, "day": day, "at": credited})
    command.upgrade(cfg, REVISION)
    with engine.begin() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, local_minute FROM focus_credits")).all())
        prefs = conn.execute(sa.text("SELECT day_start_minutes, weekly_goal_minutes FROM users")).one()
    engine.dispose()
    assert rows == {1: 90, 2: None}
    assert tuple(prefs) == (0, 0)
