"""counter bookings: opening hours, capacity, slot counts and visits

Revision ID: bbb6ec6092ca
Revises: e44784715220
Create Date: 2026-12-02 00:58:17.840053

"""
from alembic import op
import sqlalchemy as sa

import portal.db  # noqa: F401 - custom column types


# revision identifiers, used by Alembic.
revision = 'bbb6ec6092ca'
down_revision = 'e44784715220'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('counter_settings',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('bookable_days', sa.Integer(), nullable=False),
    sa.Column('open_on_holidays', sa.Boolean(), nullable=False),
    sa.CheckConstraint('bookable_days BETWEEN 1 AND 366', name=op.f('ck_counter_settings_bookable_days_in_range')),
    sa.CheckConstraint('capacity >= 1', name=op.f('ck_counter_settings_capacity_positive')),
    sa.CheckConstraint('slot_minutes BETWEEN 5 AND 240', name=op.f('ck_counter_settings_slot_minutes_in_range')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_counter_settings_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('department_id', name=op.f('pk_counter_settings'))
    )
    op.create_table('slot_counts',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('slot_start', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.CheckConstraint('booked >= 0 AND booked <= capacity', name=op.f('ck_slot_counts_within_capacity')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_slot_counts_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('department_id', 'slot_start', name=op.f('pk_slot_counts'))
    )
    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('slot_start', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('booked', 'cancelled', name='bookingstatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name=op.f('ck_bookings_cancelled_when_cancelled')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_bookings_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], name=op.f('fk_bookings_request_id_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_department_slot', ['department_id', 'slot_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_request_id'), ['request_id'], unique=False)
        batch_op.create_index('uq_bookings_active_request', ['request_id'], unique=True, sqlite_where=sa.text("status = 'booked'"), postgresql_where=sa.text("status = 'booked'"))

    op.create_table('closed_dates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['counter_settings.department_id'], name=op.f('fk_closed_dates_department_id_counter_settings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_closed_dates')),
    sa.UniqueConstraint('department_id', 'day', name=op.f('uq_closed_dates_department_id_day'))
    )
    with op.batch_alter_table('closed_dates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closed_dates_department_id'), ['department_id'], unique=False)

    op.create_table('opening_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.CheckConstraint('opens < closes', name=op.f('ck_opening_hours_opens_before_closing')),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_opening_hours_weekday_in_range')),
    sa.ForeignKeyConstraint(['department_id'], ['counter_settings.department_id'], name=op.f('fk_opening_hours_department_id_counter_settings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_hours')),
    sa.UniqueConstraint('department_id', 'weekday', 'opens', name=op.f('uq_opening_hours_department_id_weekday_opens'))
    )
    with op.batch_alter_table('opening_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opening_hours_department_id'), ['department_id'], unique=False)



def downgrade():
    with op.batch_alter_table('opening_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opening_hours_department_id'))

    op.drop_table('opening_hours')
    with op.batch_alter_table('closed_dates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closed_dates_department_id'))

    op.drop_table('closed_dates')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('uq_bookings_active_request', sqlite_where=sa.text("status = 'booked'"), postgresql_where=sa.text("status = 'booked'"))
        batch_op.drop_index(batch_op.f('ix_bookings_request_id'))
        batch_op.drop_index('ix_bookings_department_slot')

    op.drop_table('bookings')
    op.drop_table('slot_counts')
    op.drop_table('counter_settings')
