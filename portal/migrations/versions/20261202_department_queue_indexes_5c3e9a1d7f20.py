"""department queue indexes

A department's queue is read in the order of the adjusted statutory deadline (the deadline
moved by the days corrections were out, no deadline last) and then id, a page at a time from
a key: one partial index over the open requests for the default view, and one by state for
the counts, one state's rows and claim-next. The expression is each database's own date
arithmetic, written as ``portal.db.days_after`` writes it in queries.

Revision ID: 5c3e9a1d7f20
Revises: dd164d0b5aa3
Create Date: 2026-12-02 06:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c3e9a1d7f20'
down_revision = 'dd164d0b5aa3'
branch_labels = None
depends_on = None

OPEN = "status IN ('awaiting_second_approval', 'in_review', 'submitted', 'waiting_for_resident')"
DUE_ON = {
    'postgresql': "(COALESCE(deadline, DATE '9000-01-01') + paused_days)",
    'sqlite': "date(COALESCE(deadline, '9000-01-01'), '+' || paused_days || ' days')",
}


def upgrade():
    due_on = sa.text(DUE_ON[op.get_bind().dialect.name])
    op.create_index(
        'ix_requests_open_queue',
        'requests',
        ['department_id', due_on, 'id'],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )
    op.create_index(
        'ix_requests_department_status_queue',
        'requests',
        ['department_id', 'status', due_on, 'id'],
    )


def downgrade():
    op.drop_index('ix_requests_department_status_queue', table_name='requests')
    op.drop_index('ix_requests_open_queue', table_name='requests')
