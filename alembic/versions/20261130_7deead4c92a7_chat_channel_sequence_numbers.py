"""per-channel chat sequence numbers and the change log tabs catch up from

Every post and delete of a chat channel (lobby, room, session) takes the channel's next
sequence number in its own transaction (``chat_channels``) and is logged
(``chat_change_log``): a tab that missed a broadcast asks for what came after the last
sequence number it saw. Existing messages have no log entry: a tab loaded before this
migration simply reloads its tail.

Revision ID: 7deead4c92a7
Revises: 6548bc7f7396
Create Date: 2026-11-30 00:57:08.652247
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sessions_app.models.base

revision: str = '7deead4c92a7'
down_revision: str | None = '6548bc7f7396'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chat_change_log',
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sessions_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'seq')
    )
    op.create_table('chat_channels',
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('channel')
    )


def downgrade() -> None:
    op.drop_table('chat_channels')
    op.drop_table('chat_change_log')
