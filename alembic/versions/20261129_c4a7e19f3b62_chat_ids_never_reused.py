"""chat message ids are never reused (SQLite AUTOINCREMENT)

A chat message id is its channel's sequence number: browsers sort and deduplicate by it and
remember deleted ids. Without AUTOINCREMENT, SQLite hands the id of a deleted newest
message to the next one, which browsers would then take for the deleted message. Postgres
sequences never reuse ids: nothing to do there.

Revision ID: c4a7e19f3b62
Revises: b7e2c41d9a05
Create Date: 2026-11-29 23:35:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'c4a7e19f3b62'
down_revision: str | None = 'b7e2c41d9a05'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("chat_messages", recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
