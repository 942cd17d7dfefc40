"""queue index of what a clerk holds

"Held by me" on a department's queue: the requests one clerk holds, in queue order. Without
it PostgreSQL reads all the department's open requests through ix_requests_open_queue to find
a clerk's few (BitmapAnd with ix_requests_assignee_id: 50,000 entries, 4-20 ms in
benchmarks/queue.py); with it, the clerk's rows directly (0.1 ms).

Revision ID: 9b7e4c2a1d58
Revises: 5c3e9a1d7f20
Create Date: 2026-12-02 06:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b7e4c2a1d58'
down_revision = '5c3e9a1d7f20'
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
        'ix_requests_held_queue',
        'requests',
        ['assignee_id', 'department_id', due_on, 'id'],
        postgresql_where=sa.text(OPEN),
        sqlite_where=sa.text(OPEN),
    )


def downgrade():
    op.drop_index('ix_requests_held_queue', table_name='requests')
