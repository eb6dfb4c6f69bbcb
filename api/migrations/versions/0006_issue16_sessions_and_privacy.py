"""issue 16: token versions (revocation), chat session tokens, turn forwarding marks, privacy audit

Revision ID: 0006_issue16
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_issue16'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forwarded_at', sa.DateTime(), nullable=True))
    op.create_table(
        'privacy_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=128), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_privacy_events_subject', 'privacy_events', ['subject'])


def downgrade() -> None:
    op.drop_index('ix_privacy_events_subject', table_name='privacy_events')
    op.drop_table('privacy_events')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('forwarded_at')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('token_hash')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('token_version')
