"""department kinds as data

The kinds a department handles become rows an admin manages, seeded with the kinds the
portal was born with (the Python enum they replace) and their Japanese and English labels;
``departments.kind`` now refers to one.

Revision ID: 4d2b8e61c0a7
Revises: 4b2d9e6a1c73
Create Date: 2026-12-02 13:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '4d2b8e61c0a7'
down_revision = '4b2d9e6a1c73'
branch_labels = None
depends_on = None

#: The seed, as it was when kinds became data (later changes are admins', in the table).
SEED = [
    ('resident_registration', '住民登録', 'Resident registration'),
    ('insurance_pension', '保険・年金', 'Insurance and pension'),
    ('child_support', '子育て支援', 'Child support'),
    ('childcare', '保育', 'Childcare'),
    ('long_term_care', '介護保険', 'Long-term care'),
    ('education', '教育', 'Education'),
    ('maternal_health', '母子保健', 'Maternal health'),
    ('environment', '生活衛生', 'Environment and sanitation'),
]


def upgrade():
    kinds = op.create_table('department_kinds',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint('length(key) BETWEEN 2 AND 40', name=op.f('ck_department_kinds_key_length')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_department_kinds'))
    )
    op.bulk_insert(kinds, [
        {'key': key, 'labels': {'ja': ja, 'en': en}, 'position': (index + 1) * 10}
        for index, (key, ja, en) in enumerate(SEED)
    ])
    # A deployment's departments of a kind the seed lacks (none is known) keep it, as a kind
    # labelled by its key, for an admin to name.
    no_labels = "CAST('{}' AS JSON)" if op.get_bind().dialect.name == "postgresql" else "'{}'"
    op.execute(
        "INSERT INTO department_kinds (key, labels, position)"
        f" SELECT kind, {no_labels}, 1000 FROM departments"
        " WHERE kind NOT IN (SELECT key FROM department_kinds) GROUP BY kind"
    )
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.VARCHAR(length=40), type_=sa.String(length=40), existing_nullable=False)
        batch_op.create_index(batch_op.f('ix_departments_kind'), ['kind'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_departments_kind_department_kinds'), 'department_kinds', ['kind'], ['key'], ondelete='RESTRICT')


def downgrade():
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_departments_kind_department_kinds'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_departments_kind'))

    op.drop_table('department_kinds')
