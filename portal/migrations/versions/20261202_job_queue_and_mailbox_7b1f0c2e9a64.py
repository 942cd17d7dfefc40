"""job queue (procrastinate, on PostgreSQL) and the residents' mailbox

Revision ID: 7b1f0c2e9a64
Revises: 88b5840a1b50
Create Date: 2026-12-02 01:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.db import UTCDateTime
from portal.jobs.schema import DROP_SQL, schema_sql


# revision identifiers, used by Alembic.
revision = '7b1f0c2e9a64'
down_revision = '88b5840a1b50'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column(
            'kind',
            sa.Enum(
                'correction_asked', 'approved', 'rejected', 'booking_confirmed',
                'booking_cancelled', 'handed_over', 'certificate_ready',
                name='messagekind', native_enum=False, length=40,
            ),
            nullable=False,
        ),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('language', sa.String(length=5), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('read_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('email_to', sa.String(length=254), nullable=True),
        sa.Column('emailed_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['account_id'], ['accounts.id'],
            name=op.f('fk_messages_account_id_accounts'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['case_id'], ['cases.id'], name=op.f('fk_messages_case_id_cases'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['request_id'], ['requests.id'],
            name=op.f('fk_messages_request_id_requests'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_account_unread', ['account_id', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_request_id'), ['request_id'], unique=False)

    if op.get_bind().dialect.name == 'postgresql':
        # procrastinate's own SQL, run as one script on the psycopg connection (it holds
        # PL/pgSQL bodies that SQLAlchemy's text() would read as bind parameters).
        op.get_bind().connection.driver_connection.execute(schema_sql())


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.get_bind().connection.driver_connection.execute(DROP_SQL)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_request_id'))
        batch_op.drop_index(batch_op.f('ix_messages_case_id'))
        batch_op.drop_index('ix_messages_account_unread')
    op.drop_table('messages')
