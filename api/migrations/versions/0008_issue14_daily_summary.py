"""analytics (issue 14): daily summary (counts per day and dimension), its validity, change markers, job runs

Revision ID: 0008_issue14
Revises: 0006_issue14
"""
import sqlalchemy as sa
from alembic import op

import api.core.db

revision = '0008_issue14'
down_revision = '0006_issue14'
branch_labels = None
depends_on = None

T = api.core.db.UTCDateTime(timezone=True)
COUNTS = ("total", "dispatched", "sign_due", "sign_on_time", "complete_due", "complete_on_time", "overdue",
          "late_replied", "returned", "repeats", "enterprise", "closed", "rated", "rated_good", "dissatisfied",
          "solved_asked", "solved")


def upgrade() -> None:
    op.create_table(
        'analytics_daily_counts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('dim', sa.String(length=16), nullable=False),
        sa.Column('k1', sa.String(length=64), nullable=True),
        sa.Column('k2', sa.String(length=64), nullable=True),
        sa.Column('k3', sa.String(length=64), nullable=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_analytics_daily_counts_dim_day', 'analytics_daily_counts', ['dim', 'day'])
    op.create_table(
        'analytics_daily_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('computed_at', T, nullable=False),
        sa.Column('fresh_from', T, nullable=False),
        sa.Column('valid_until', T, nullable=True),
        sa.PrimaryKeyConstraint('day'),
    )
    op.create_table(
        'analytics_daily_changes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('changed_at', T, nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_analytics_daily_changes_day_changed', 'analytics_daily_changes', ['day', 'changed_at'])
    op.create_table(
        'analytics_job_runs',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('started_at', T, nullable=False),
        sa.Column('finished_at', T, nullable=True),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('day'),
    )


def downgrade() -> None:
    op.drop_table('analytics_job_runs')
    op.drop_index('ix_analytics_daily_changes_day_changed', 'analytics_daily_changes')
    op.drop_table('analytics_daily_changes')
    op.drop_table('analytics_daily_days')
    op.drop_index('ix_analytics_daily_counts_dim_day', 'analytics_daily_counts')
    op.drop_table('analytics_daily_counts')
