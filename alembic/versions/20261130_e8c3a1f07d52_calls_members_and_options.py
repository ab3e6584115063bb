"""calls: who is in a call (call_members) and a room's call options (call_options)

Revision ID: e8c3a1f07d52
Revises: e8f1a2b3c4d5
Create Date: 2026-11-30 00:47:33.543870
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import sessions_app.models.base

revision: str = 'e8c3a1f07d52'
down_revision: str | None = 'e8f1a2b3c4d5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('call_options',
    sa.Column('call', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('cameras_on_focus', sa.Boolean(), nullable=False),
    sa.Column('sfu_room', sa.Integer(), nullable=True),
    sa.Column('sfu_secret', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sfu_pin', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('call')
    )
    op.create_table('call_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('joined_at', sessions_app.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('sfu_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('call', 'user_id', name='uq_call_members_call_user')
    )
    with op.batch_alter_table('call_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_members_call'), ['call'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_members_token'), ['token'], unique=False)
        batch_op.create_index(batch_op.f('ix_call_members_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('call_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_call_members_token'))
        batch_op.drop_index(batch_op.f('ix_call_members_call'))

    op.drop_table('call_members')
    op.drop_table('call_options')
