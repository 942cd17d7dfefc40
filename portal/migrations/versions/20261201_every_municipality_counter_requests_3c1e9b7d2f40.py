"""every municipality of Japan; requests at the counter

Revision ID: 3c1e9b7d2f40
Revises: 509c094ec533
Create Date: 2026-12-01 21:50:00

Municipalities get a kind and a parent (a ward's designated city): wards are rows of their
own, which replaces municipality_areas. A request records its office (the counter) and may
have no department: a procedure for a municipality not served here, filed at its counter.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1e9b7d2f40'
down_revision = '509c094ec533'
branch_labels = None
depends_on = None

KINDS = ('city', 'designated_city', 'ward', 'special_ward', 'town', 'village')
CHECK = (
    "(status = 'at_counter' AND department_id IS NULL)"
    " OR (status != 'at_counter' AND department_id IS NOT NULL)"
)


def upgrade():
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'kind', sa.Enum(*KINDS, name='municipalitykind', native_enum=False, length=20),
            nullable=False, server_default='city'))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_municipalities_parent_id'), ['parent_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_municipalities_parent_id_municipalities'), 'municipalities',
            ['parent_id'], ['id'], ondelete='CASCADE')
    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)

    with op.batch_alter_table('municipality_areas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_municipality_areas_municipality_id'))
    op.drop_table('municipality_areas')

    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_id', sa.Integer(), nullable=True))
    op.execute('UPDATE requests SET office_id = municipality_id')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.alter_column('office_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('department_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_requests_office_id'), ['office_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_requests_office_id_municipalities'), 'municipalities',
            ['office_id'], ['id'])
        batch_op.create_check_constraint('online_has_department', CHECK)


def downgrade():
    # Counter rows have no department to go back to.
    op.execute("DELETE FROM requests WHERE status = 'at_counter'")
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_requests_online_has_department'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_requests_office_id_municipalities'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_requests_office_id'))
        batch_op.alter_column('department_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('office_id')

    op.create_table('municipality_areas',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('municipality_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['municipality_id'], ['municipalities.id'], name=op.f('fk_municipality_areas_municipality_id_municipalities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_municipality_areas'))
    )
    with op.batch_alter_table('municipality_areas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_municipality_areas_municipality_id'), ['municipality_id'], unique=False)
    # Each municipality serves its own code again, and a designated city its wards' codes.
    op.execute(
        'INSERT INTO municipality_areas (code, municipality_id)'
        ' SELECT m.code, COALESCE(m.parent_id, m.id) FROM municipalities m WHERE EXISTS'
        ' (SELECT 1 FROM departments d WHERE d.municipality_id = COALESCE(m.parent_id, m.id))'
    )
    # Only the municipalities served here were rows before.
    op.execute(
        "DELETE FROM municipalities WHERE NOT EXISTS"
        " (SELECT 1 FROM departments d WHERE d.municipality_id = municipalities.id)"
    )

    with op.batch_alter_table('municipalities', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_municipalities_parent_id_municipalities'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_municipalities_parent_id'))
        batch_op.drop_column('parent_id')
        batch_op.drop_column('kind')
