"""notification e-mail on accounts

The address a resident gave for notifications by e-mail, its confirmation (when, and the
link's pending nonce) and whether notifications are on.

Revision ID: e7a1c4d9b250
Revises: 9b7e4c2a1d58
Create Date: 2026-12-02 06:15:00.000000

"""
from alembic import op
import sqlalchemy as sa

import portal.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = 'e7a1c4d9b250'
down_revision = '9b7e4c2a1d58'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notification_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('notification_email_confirmed_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('notification_email_requested_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('notification_email_nonce', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email_notifications', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('email_notifications')
        batch_op.drop_column('notification_email_nonce')
        batch_op.drop_column('notification_email_requested_at')
        batch_op.drop_column('notification_email_confirmed_at')
        batch_op.drop_column('notification_email')
