"""the tenant key in the keys of a municipality's rows

The municipality is the tenant key (portal/tenancy/distribution.py): a status list entry's
primary key and its reference to its list, a certificate's reference to its request and the
key that allows one per request, and the references of a request's events, corrections and
bookings to it (with a booking's one-active-per-request key) name the municipality too, so
that on Citus each is checked within one node. Events, corrections and bookings get the
request's municipality, copied from it. A list and a request get a unique
(id, municipality_id) for those references to name. Nothing changes in what the rows may
hold: an entry is in its municipality's list, the rest are of their request's municipality.

Revision ID: b7d3e1a90c42
Revises: f3b8d1a6c925
Create Date: 2026-12-03 08:00:00.000000

"""
import warnings
from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d3e1a90c42'
down_revision = 'f3b8d1a6c925'
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


#: A request's rows: (table, whether it has the one-active-booking key).
OF_A_REQUEST = (('request_events', False), ('corrections', False), ('bookings', True))
ACTIVE = "status = 'booked'"


def _active_booking_key(*columns):
    op.create_index(
        'uq_bookings_active_request',
        'bookings',
        list(columns),
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


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


    for table, booking in OF_A_REQUEST:
        op.add_column(table, sa.Column('municipality_id', sa.Integer(), nullable=True))
        op.execute(
            f'UPDATE {table} SET municipality_id = (SELECT requests.municipality_id'
            f' FROM requests WHERE requests.id = {table}.request_id)'
        )
        if booking:
            op.drop_index('uq_bookings_active_request', table_name='bookings')
            _active_booking_key('request_id', 'municipality_id')
        with _batch(table) as batch_op:
            batch_op.alter_column('municipality_id', existing_type=sa.Integer(), nullable=False)
            batch_op.drop_constraint(f'fk_{table}_request_id_requests', type_='foreignkey')
            batch_op.create_foreign_key(
                f'fk_{table}_request_id_requests',
                'requests',
                ['request_id', 'municipality_id'],
                ['id', 'municipality_id'],
                ondelete='CASCADE',
            )


def downgrade():
    for table, booking in reversed(OF_A_REQUEST):
        if booking:
            op.drop_index('uq_bookings_active_request', table_name='bookings')
            _active_booking_key('request_id')
        with _batch(table) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_request_id_requests', type_='foreignkey')
            batch_op.create_foreign_key(
                f'fk_{table}_request_id_requests',
                'requests',
                ['request_id'],
                ['id'],
                ondelete='CASCADE',
            )
            batch_op.drop_column('municipality_id')
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
