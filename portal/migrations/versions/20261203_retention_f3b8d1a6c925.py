"""retention: when a case was anonymised, and the certificates of removed cases

A decided case past its forms' retention is anonymised (``cases.anonymised_at``, and no
account any more) or deleted;
its certificates become ``retired_certificates``, rows without personal data that let the
verify page still say the certificate was issued, and by whom.

Revision ID: f3b8d1a6c925
Revises: c4a9e2f71b36
Create Date: 2026-12-03 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from portal.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'f3b8d1a6c925'
down_revision = 'c4a9e2f71b36'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_cases_status_updated_at', ['status', 'updated_at'], unique=False)
        # An anonymised case belongs to nobody.
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)
    op.create_table(
        'retired_certificates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('serial', sa.String(length=24), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=True),
        sa.Column('kind', sa.String(length=50), nullable=False),
        sa.Column('title', sa.JSON(), nullable=False),
        sa.Column('municipality_id', sa.Integer(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('decision', sa.String(length=20), nullable=False),
        sa.Column('issued_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('retired_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['municipality_id'], ['municipalities.id'],
            name=op.f('fk_retired_certificates_municipality_id_municipalities'),
        ),
        sa.ForeignKeyConstraint(
            ['department_id'], ['departments.id'], ondelete='SET NULL',
            name=op.f('fk_retired_certificates_department_id_departments'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_retired_certificates')),
        sa.UniqueConstraint('serial', name=op.f('uq_retired_certificates_serial')),
    )


def downgrade():
    # account_id stays nullable: the anonymised cases (no account) are kept as they are.
    op.drop_table('retired_certificates')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_status_updated_at')
        batch_op.drop_column('anonymised_at')
