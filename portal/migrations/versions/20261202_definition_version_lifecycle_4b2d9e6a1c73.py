"""definition version lifecycle

Versions gain a state (draft, published, retired), a scope (national, or one municipality),
who made and published them and when, and where they came from. Every version stored before
was loaded from the repository and live: it becomes a published repository version.

Revision ID: 4b2d9e6a1c73
Revises: 700a3e1b8c20
Create Date: 2026-12-02 13:20:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = '4b2d9e6a1c73'
down_revision = '700a3e1b8c20'
branch_labels = None
depends_on = None

STATES = sa.Enum('draft', 'published', 'retired', name='versionstate', native_enum=False, length=20)
ORIGINS = sa.Enum('repository', 'admin', name='versionorigin', native_enum=False, length=20)


def upgrade():
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_definition_versions_kind_key_version', type_='unique')
        batch_op.alter_column('loaded_at', new_column_name='created_at')
        batch_op.add_column(sa.Column('municipality_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('state', STATES, nullable=False, server_default='published'))
        batch_op.add_column(sa.Column('origin', ORIGINS, nullable=False, server_default='repository'))
        batch_op.add_column(sa.Column('source_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('based_on_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('published_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retired_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_definition_versions_municipality_id_municipalities'), 'municipalities', ['municipality_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_foreign_key(batch_op.f('fk_definition_versions_based_on_id_definition_versions'), 'definition_versions', ['based_on_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_definition_versions_created_by_id_accounts'), 'accounts', ['created_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_definition_versions_published_by_id_accounts'), 'accounts', ['published_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_definition_versions_municipality_id'), ['municipality_id'], unique=False)
    op.execute("UPDATE definition_versions SET published_at = created_at")
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.alter_column('state', server_default=None)
        batch_op.alter_column('origin', server_default=None)
        batch_op.create_index('uq_definition_versions_national_number', ['kind', 'key', 'version'], unique=True, sqlite_where=sa.text('municipality_id IS NULL'), postgresql_where=sa.text('municipality_id IS NULL'))
        batch_op.create_index('uq_definition_versions_local_number', ['kind', 'key', 'municipality_id', 'version'], unique=True, sqlite_where=sa.text('municipality_id IS NOT NULL'), postgresql_where=sa.text('municipality_id IS NOT NULL'))
        batch_op.create_index('uq_definition_versions_national_draft', ['kind', 'key'], unique=True, sqlite_where=sa.text("state = 'draft' AND municipality_id IS NULL"), postgresql_where=sa.text("state = 'draft' AND municipality_id IS NULL"))
        batch_op.create_index('uq_definition_versions_local_draft', ['kind', 'key', 'municipality_id'], unique=True, sqlite_where=sa.text("state = 'draft' AND municipality_id IS NOT NULL"), postgresql_where=sa.text("state = 'draft' AND municipality_id IS NOT NULL"))


def downgrade():
    # Only the national published versions fit the old table: drafts and overrides go.
    op.execute("DELETE FROM definition_versions WHERE state = 'draft' OR municipality_id IS NOT NULL")
    with op.batch_alter_table('definition_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_definition_versions_local_draft')
        batch_op.drop_index('uq_definition_versions_national_draft')
        batch_op.drop_index('uq_definition_versions_local_number')
        batch_op.drop_index('uq_definition_versions_national_number')
        batch_op.drop_index(batch_op.f('ix_definition_versions_municipality_id'))
        batch_op.drop_constraint(batch_op.f('fk_definition_versions_published_by_id_accounts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_definition_versions_created_by_id_accounts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_definition_versions_based_on_id_definition_versions'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_definition_versions_municipality_id_municipalities'), type_='foreignkey')
        batch_op.drop_column('retired_at')
        batch_op.drop_column('published_by_id')
        batch_op.drop_column('published_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('based_on_id')
        batch_op.drop_column('source_text')
        batch_op.drop_column('origin')
        batch_op.drop_column('state')
        batch_op.drop_column('municipality_id')
        batch_op.alter_column('created_at', new_column_name='loaded_at')
        batch_op.create_unique_constraint('uq_definition_versions_kind_key_version', ['kind', 'key', 'version'])
