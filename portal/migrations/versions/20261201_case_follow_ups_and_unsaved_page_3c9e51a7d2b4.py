"""case follow-ups and the unsaved page

Revision ID: 3c9e51a7d2b4
Revises: 3c1e9b7d2f40
Create Date: 2026-12-01 21:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c9e51a7d2b4'
down_revision = '3c1e9b7d2f40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unsaved', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('follows_case_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('follow_up_form', sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_follows_case_id'), ['follows_case_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_cases_follows_case_id_cases'), 'cases', ['follows_case_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_unique_constraint(
            batch_op.f('uq_cases_follows_case_id_follow_up_form'), ['follows_case_id', 'follow_up_form']
        )
        batch_op.create_check_constraint(
            'follow_up_names_its_form', '(follows_case_id IS NULL) = (follow_up_form IS NULL)'
        )


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_cases_follow_up_names_its_form'), type_='check')
        batch_op.drop_constraint(batch_op.f('uq_cases_follows_case_id_follow_up_form'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_cases_follows_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_follows_case_id'))
        batch_op.drop_column('follow_up_form')
        batch_op.drop_column('follows_case_id')
        batch_op.drop_column('unsaved')
