"""analytics (issue 14): warning rules, 预警, 工作提醒函, 未诉先办 tasks; enterprise tag on tickets

Revision ID: 0006_issue14
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import api.core.db

revision = '0006_issue14'
down_revision = '0006_issue16'
branch_labels = None
depends_on = None

T = api.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'analytics_warning_rules',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', T, nullable=False),
        sa.Column('updated_at', T, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('analytics_warning_rules') as batch:
        batch.create_index('ix_analytics_warning_rules_kind', ['kind'])
        batch.create_index('ix_analytics_warning_rules_active', ['active'])

    op.create_table(
        'analytics_warnings',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('rule_id', sa.Integer(), sa.ForeignKey('analytics_warning_rules.id'), nullable=True),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=True),
        sa.Column('place', sa.String(length=128), nullable=True),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('ticket_nos', sa.JSON(), nullable=False),
        sa.Column('window_start', sa.Date(), nullable=True),
        sa.Column('window_end', sa.Date(), nullable=True),
        sa.Column('created_at', T, nullable=False),
        sa.Column('updated_at', T, nullable=False),
        sa.Column('acknowledged_at', T, nullable=True),
        sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
        sa.Column('ack_note', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
    )
    with op.batch_alter_table('analytics_warnings') as batch:
        batch.create_index('ix_analytics_warnings_rule_id', ['rule_id'])
        batch.create_index('ix_analytics_warnings_kind', ['kind'])
        batch.create_index('ix_analytics_warnings_department_id', ['department_id'])
        batch.create_index('ix_analytics_warnings_created_at', ['created_at'])

    op.create_table(
        'analytics_reminders',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('month', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=False),
        sa.Column('topics', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', T, nullable=False),
        sa.Column('sent_at', T, nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('analytics_reminders') as batch:
        batch.create_index('ix_analytics_reminders_year', ['year'])
        batch.create_index('ix_analytics_reminders_department_id', ['department_id'])

    op.create_table(
        'analytics_tasks',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('origin_ref', sa.String(length=64), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=True),
        sa.Column('topic', sa.JSON(), nullable=False),
        sa.Column('action', sa.Text(), nullable=True),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('window_days', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('outcome', sa.JSON(), nullable=True),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', T, nullable=False),
        sa.Column('closed_at', T, nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('analytics_tasks') as batch:
        batch.create_index('ix_analytics_tasks_department_id', ['department_id'])
        batch.create_index('ix_analytics_tasks_status', ['status'])

    # 企业诉求 tagged at intake; analysed on their own.
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('enterprise', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index('ix_tickets_enterprise', ['enterprise'])


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_index('ix_tickets_enterprise')
        batch.drop_column('enterprise')
    op.drop_table('analytics_tasks')
    op.drop_table('analytics_reminders')
    op.drop_table('analytics_warnings')
    op.drop_table('analytics_warning_rules')
