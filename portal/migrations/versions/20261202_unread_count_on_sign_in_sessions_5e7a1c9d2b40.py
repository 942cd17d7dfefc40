"""unread count on sign-in sessions

The header shows the mailbox's unread count on every page; the mailbox's services keep it on
each of the account's sign-in session rows (read on every request already), so that no page
counts messages. Sessions open when this runs get the count from their messages.

Revision ID: 5e7a1c9d2b40
Revises: e7a1c4d9b250
Create Date: 2026-12-02 06:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e7a1c9d2b40'
down_revision = 'e7a1c4d9b250'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('unread_messages', sa.Integer(), server_default='0', nullable=False)
        )
    op.execute(
        "UPDATE sign_in_sessions SET unread_messages = (SELECT count(*) FROM messages"
        " WHERE messages.account_id = sign_in_sessions.account_id"
        " AND messages.read_at IS NULL)"
    )


def downgrade():
    with op.batch_alter_table('sign_in_sessions', schema=None) as batch_op:
        batch_op.drop_column('unread_messages')
