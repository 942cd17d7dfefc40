"""status lists

The Token Status Lists of the certificates: a list per municipality and purpose, and every
index handed out (its primary key keeps an index from being handed out twice).

Revision ID: 700a3e1b8c20
Revises: dd03b7a4101d
Create Date: 2026-12-02 09:42:02.187258

"""
from alembic import op
import sqlalchemy as sa

import portal.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '700a3e1b8c20'
down_revision = 'dd03b7a4101d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('status_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('certificate', name='statuspurpose', native_enum=False, length=20), nullable=False),
    sa.Column('bits', sa.SmallInteger(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('allocated', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('allocated >= 0 AND allocated <= size', name=op.f('ck_status_lists_allocated')),
    sa.CheckConstraint('bits IN (1, 2, 4, 8)', name=op.f('ck_status_lists_bits')),
    sa.CheckConstraint('size > 0 AND (size * bits) % 8 = 0', name=op.f('ck_status_lists_whole_bytes')),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_status_lists_municipality_id_municipalities'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_lists'))
    )
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_lists_municipality_id'), ['municipality_id'], unique=False)

    op.create_table('status_list_entries',
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('idx', sa.Integer(), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('allocated_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('idx >= 0 AND status >= 0 AND status <= 255', name=op.f('ck_status_list_entries_idx')),
    sa.ForeignKeyConstraint(['list_id'], ['status_lists.id'], name=op.f('fk_status_list_entries_list_id_status_lists'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_status_list_entries_municipality_id_municipalities'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('list_id', 'idx', name=op.f('pk_status_list_entries'))
    )
    with op.batch_alter_table('status_list_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_list_entries_municipality_id'), ['municipality_id'], unique=False)



def downgrade():
    with op.batch_alter_table('status_list_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_list_entries_municipality_id'))

    op.drop_table('status_list_entries')
    with op.batch_alter_table('status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_lists_municipality_id'))

    op.drop_table('status_lists')
