"""the tenant key in the keys of status list entries and certificates

The municipality is the tenant key (portal/tenancy/distribution.py): a status list entry's
primary key and its reference to its list, and a certificate's reference to its request and
the key that allows one per request, name the municipality too, so that on Citus each is
checked within one node. A list and a request get a unique (id, municipality_id) for those
references to name. Nothing changes in what the rows may hold: an entry is in its
municipality's list, a certificate of its request's municipality.

Revision ID: b7d3e1a90c42
Revises: c4a9e2f71b36
Create Date: 2026-12-03 08:00:00.000000

"""
import warnings
from contextlib import contextmanager

from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d3e1a90c42'
down_revision = 'c4a9e2f71b36'
branch_labels = None
depends_on = None


@contextmanager
def _batch(table):
    """SQLite's batch mode copies ``table``, reflecting the tables it refers to: the
    requests' expression indexes cannot be reflected (SQLAlchemy warns), and need not be,
    as the requests table itself is left as it is."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Skipped unsupported reflection of expression-based')
        with op.batch_alter_table(table, schema=None) as batch_op:
            yield batch_op


def upgrade():
    with _batch('status_lists') as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f('uq_status_lists_id_municipality_id'), ['id', 'municipality_id']
        )
    # An index, not a constraint: SQLite's batch mode would copy the table without its
    # expression indexes (the queues'); either database takes a unique index as the target.
    op.create_index(
        'uq_requests_id_municipality_id', 'requests', ['id', 'municipality_id'], unique=True
    )
    with _batch('status_list_entries') as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_status_list_entries_list_id_status_lists'), type_='foreignkey'
        )
        batch_op.drop_constraint(batch_op.f('pk_status_list_entries'), type_='primary')
        batch_op.create_primary_key(
            batch_op.f('pk_status_list_entries'), ['list_id', 'idx', 'municipality_id']
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_status_list_entries_list_id_status_lists'),
            'status_lists',
            ['list_id', 'municipality_id'],
            ['id', 'municipality_id'],
            ondelete='RESTRICT',
        )
    with _batch('certificates') as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_certificates_request_id_requests'), type_='foreignkey'
        )
        batch_op.drop_constraint(batch_op.f('uq_certificates_request_id'), type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_certificates_request_id_municipality_id'),
            ['request_id', 'municipality_id'],
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_certificates_request_id_requests'),
            'requests',
            ['request_id', 'municipality_id'],
            ['id', 'municipality_id'],
            ondelete='CASCADE',
        )


def downgrade():
    with _batch('certificates') as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_certificates_request_id_requests'), type_='foreignkey'
        )
        batch_op.drop_constraint(
            batch_op.f('uq_certificates_request_id_municipality_id'), type_='unique'
        )
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_request_id'), ['request_id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_certificates_request_id_requests'),
            'requests',
            ['request_id'],
            ['id'],
            ondelete='CASCADE',
        )
    with _batch('status_list_entries') as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_status_list_entries_list_id_status_lists'), type_='foreignkey'
        )
        batch_op.drop_constraint(batch_op.f('pk_status_list_entries'), type_='primary')
        batch_op.create_primary_key(batch_op.f('pk_status_list_entries'), ['list_id', 'idx'])
        batch_op.create_foreign_key(
            batch_op.f('fk_status_list_entries_list_id_status_lists'),
            'status_lists',
            ['list_id'],
            ['id'],
            ondelete='RESTRICT',
        )
    op.drop_index('uq_requests_id_municipality_id', table_name='requests')
    with _batch('status_lists') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_status_lists_id_municipality_id'), type_='unique')
