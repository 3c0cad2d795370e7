"""year end: draft reports, the record of carried items (carry_overs) and of rollover runs

Revision ID: e4ad95ffee0b
Revises: ed338ba2591f
Create Date: 2026-11-22 05:26:57.350214

"""
from alembic import op
import sqlalchemy as sa

import tracker.types


# revision identifiers, used by Alembic.
revision = 'e4ad95ffee0b'
down_revision = 'ed338ba2591f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rollover_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('carried', sa.Integer(), nullable=False),
    sa.Column('reports', sa.Integer(), nullable=False),
    sa.Column('created_reports', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_rollover_runs_actor_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_rollover_runs_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rollover_runs'))
    )
    with op.batch_alter_table('rollover_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollover_runs_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rollover_runs_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rollover_runs_year'), ['year'], unique=False)

    op.create_table('carry_overs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('from_year', sa.Integer(), nullable=False),
    sa.Column('from_report_id', sa.Integer(), nullable=True),
    sa.Column('to_report_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('carried_at', tracker.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['from_report_id'], ['reports.id'], name=op.f('fk_carry_overs_from_report_id_reports')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_carry_overs_item_id_items')),
    sa.ForeignKeyConstraint(['run_id'], ['rollover_runs.id'], name=op.f('fk_carry_overs_run_id_rollover_runs')),
    sa.ForeignKeyConstraint(['to_report_id'], ['reports.id'], name=op.f('fk_carry_overs_to_report_id_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_carry_overs')),
    sa.UniqueConstraint('item_id', 'from_year', name='uq_carry_overs_item_id_from_year')
    )
    with op.batch_alter_table('carry_overs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carry_overs_from_report_id'), ['from_report_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carry_overs_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_carry_overs_to_report_id'), ['to_report_id'], unique=False)

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_draft', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ux_reports_draft_unit_id_year', ['unit_id', 'year'], unique=True, sqlite_where=sa.text('is_draft'), postgresql_where=sa.text('is_draft'))



def downgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ux_reports_draft_unit_id_year', sqlite_where=sa.text('is_draft'), postgresql_where=sa.text('is_draft'))
        batch_op.drop_column('is_draft')

    with op.batch_alter_table('carry_overs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carry_overs_to_report_id'))
        batch_op.drop_index(batch_op.f('ix_carry_overs_run_id'))
        batch_op.drop_index(batch_op.f('ix_carry_overs_from_report_id'))

    op.drop_table('carry_overs')
    with op.batch_alter_table('rollover_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rollover_runs_year'))
        batch_op.drop_index(batch_op.f('ix_rollover_runs_unit_id'))
        batch_op.drop_index(batch_op.f('ix_rollover_runs_actor_id'))

    op.drop_table('rollover_runs')
