"""callbacks: 智能回访 jobs, attempts, campaigns, do-not-call

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 10:30:00
"""
import sqlalchemy as sa
from alembic import op

import api.core.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

T = api.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'callback_campaigns',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', T, nullable=False),
        sa.Column('updated_at', T, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('callback_campaigns') as batch:
        batch.create_index('ix_callback_campaigns_day', ['day'])
        batch.create_index('ix_callback_campaigns_status', ['status'])

    op.create_table(
        'callback_jobs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('ticket_no', sa.String(length=32), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=True),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('conversation_id', sa.String(length=64), nullable=True),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', T, nullable=False),
        sa.Column('due_at', T, nullable=True),
        sa.Column('lease_owner', sa.String(length=64), nullable=True),
        sa.Column('lease_expires_at', T, nullable=True),
        sa.Column('lease_token', sa.String(length=32), nullable=True),
        sa.Column('heartbeat_at', T, nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('solved', sa.Boolean(), nullable=True),
        sa.Column('rating', sa.String(length=8), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('reason_audio', sa.Text(), nullable=True),
        sa.Column('transcript', sa.JSON(), nullable=True),
        sa.Column('skip_reason', sa.Text(), nullable=True),
        sa.Column('chat_message_id', sa.Integer(), nullable=True),
        sa.Column('chat_state', sa.JSON(), nullable=True),
        sa.Column('chat_deadline_at', T, nullable=True),
        sa.Column('applied', sa.Boolean(), nullable=False),
        sa.Column('created_at', T, nullable=False),
        sa.Column('updated_at', T, nullable=False),
        sa.Column('completed_at', T, nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['callback_campaigns.id']),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id', 'round', name='uq_callback_jobs_ticket_round'),
    )
    with op.batch_alter_table('callback_jobs') as batch:
        for column in ('ticket_id', 'ticket_no', 'department_id', 'campaign_id', 'status', 'next_attempt_at',
                       'lease_expires_at', 'rating', 'created_at', 'completed_at'):
            batch.create_index(f'ix_callback_jobs_{column}', [column])

    op.create_table(
        'callback_attempts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('worker', sa.String(length=64), nullable=False),
        sa.Column('lease_token', sa.String(length=32), nullable=False),
        sa.Column('started_at', T, nullable=False),
        sa.Column('ended_at', T, nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('sip_status', sa.Integer(), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['callback_jobs.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('callback_attempts') as batch:
        batch.create_index('ix_callback_attempts_job_id', ['job_id'])

    op.create_table(
        'callback_optouts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', T, nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('callback_optouts') as batch:
        batch.create_index('ix_callback_optouts_phone', ['phone'])
        batch.create_index('ix_callback_optouts_ticket_id', ['ticket_id'])


def downgrade() -> None:
    op.drop_table('callback_optouts')
    op.drop_table('callback_attempts')
    op.drop_table('callback_jobs')
    op.drop_table('callback_campaigns')
