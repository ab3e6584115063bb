"""mood: ambient sound mixes per user, cosmetics chosen by users, room backgrounds

Revision ID: e8f1a2b3c4d5
Revises: 5e7a1c0d9b42
Create Date: 2026-11-30 01:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = 'e8f1a2b3c4d5'
down_revision: str | None = '5e7a1c0d9b42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOUNDS = ("rain", "cafe", "fire", "brown")


def upgrade() -> None:
    op.create_table(
        'ambient_mixes',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('rain', sa.Integer(), nullable=False),
        sa.Column('cafe', sa.Integer(), nullable=False),
        sa.Column('fire', sa.Integer(), nullable=False),
        sa.Column('brown', sa.Integer(), nullable=False),
        sa.Column('fade_in_breaks', sa.Boolean(), nullable=False),
        *(sa.CheckConstraint(f"{name} BETWEEN 0 AND 100", name=f"ck_ambient_mixes_{name}") for name in SOUNDS),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('name_color', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('avatar_border', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False,
                                   server_default=''))
    with op.batch_alter_table('rooms') as batch:
        batch.add_column(sa.Column('background', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False,
                                   server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('rooms') as batch:
        batch.drop_column('background')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('avatar_border')
        batch.drop_column('name_color')
    op.drop_table('ambient_mixes')
