"""callback requests (after-hours morning queue of the agent console)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import api.core.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'callback_requests',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('conversation_id', sa.String(length=64), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.Column('preferred_time', sa.String(length=64), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('handled_by', sa.String(length=64), nullable=True),
        sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('handled_at', api.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('callback_requests') as batch_op:
        batch_op.create_index('ix_callback_requests_conversation_id', ['conversation_id'])
        batch_op.create_index('ix_callback_requests_status', ['status'])
        batch_op.create_index('ix_callback_requests_created_at', ['created_at'])


def downgrade() -> None:
    op.drop_table('callback_requests')
