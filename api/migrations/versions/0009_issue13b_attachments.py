"""issue 13: reply attachments of the 工单工作台 (files under MINSHENG_OFFICE_ATTACHMENTS_DIR)

Revision ID: 0009_issue13b
Revises: 0008_issue14
"""
import sqlalchemy as sa
from alembic import op

import api.core.db

revision = '0009_issue13b'
down_revision = '0008_issue14'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ticket_attachments',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=False),
        sa.Column('department_id', sa.String(length=64), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('stored_as', sa.String(length=200), nullable=False),
        sa.Column('uploaded_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', api.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('ticket_attachments') as batch:
        batch.create_index('ix_ticket_attachments_ticket_id', ['ticket_id'])


def downgrade() -> None:
    op.drop_table('ticket_attachments')
