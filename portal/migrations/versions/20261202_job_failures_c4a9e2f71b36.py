"""job failures: the error each failed attempt of a job raised

procrastinate keeps a job's status, attempts and events, not what it raised: the operators'
page (/admin/jobs) reads the last error of each failed job here.

Revision ID: c4a9e2f71b36
Revises: 4d2b8e61c0a7
Create Date: 2026-12-02 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'c4a9e2f71b36'
down_revision = '4d2b8e61c0a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.BigInteger(), nullable=True),
        sa.Column('task_name', sa.String(length=128), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_failures')),
    )
    op.create_index('ix_job_failures_job_id', 'job_failures', ['job_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_job_failures_job_id', table_name='job_failures')
    op.drop_table('job_failures')
