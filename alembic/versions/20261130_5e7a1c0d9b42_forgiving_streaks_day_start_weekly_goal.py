"""forgiving streaks: a start of day and a weekly goal per user, the local minute of each credit

``users.day_start_minutes`` (0–360) and ``users.weekly_goal_minutes`` (0: no goal) default to
0 for everyone. ``focus_credits.local_minute`` is the local wall-clock minute of the block's
end; existing credits get it back from ``credited_at`` in the student's zone where that still
lands on the stored ``local_day`` (a credit written late, after an outage, stays None and
simply counts for its calendar day).

Revision ID: 5e7a1c0d9b42
Revises: c4a7e19f3b62
Create Date: 2026-11-30 01:00:00
"""
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision: str = '5e7a1c0d9b42'
down_revision: str | None = 'c4a7e19f3b62'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _backfill_local_minutes() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, c.credited_at, c.local_day, u.timezone FROM focus_credits c "
        "JOIN users u ON u.id = c.user_id"
    )).all()
    updates = []
    for credit_id, credited_at, local_day, tz_name in rows:
        if credited_at is None:
            continue
        if isinstance(credited_at, str):  # SQLite returns the stored text
            credited_at = datetime.fromisoformat(credited_at)
        if credited_at.tzinfo is None:
            credited_at = credited_at.replace(tzinfo=UTC)
        local = credited_at.astimezone(_zone(tz_name))
        if local.date().isoformat() == local_day:
            updates.append({"id": credit_id, "minute": local.hour * 60 + local.minute})
    if updates:
        bind.execute(sa.text("UPDATE focus_credits SET local_minute = :minute WHERE id = :id"), updates)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("day_start_minutes", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("weekly_goal_minutes", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("focus_credits") as batch:
        batch.add_column(sa.Column("local_minute", sa.Integer(), nullable=True))
    _backfill_local_minutes()


def downgrade() -> None:
    with op.batch_alter_table("focus_credits") as batch:
        batch.drop_column("local_minute")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("weekly_goal_minutes")
        batch.drop_column("day_start_minutes")
