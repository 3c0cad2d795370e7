"""ledger exports built in the background (ledger_exports), and a 长期坚持 item's own progress cadence
(items.review_every_days; null: LONG_TERM_REVIEW_DAYS)

Revision ID: b7d2f9a31c64
Revises: a8c4e6f20b13
Create Date: 2026-12-01 21:53:09.506267

"""
from alembic import op
import sqlalchemy as sa

import tracker.types


# revision identifiers, used by Alembic.
revision = 'b7d2f9a31c64'
down_revision = 'a8c4e6f20b13'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ledger_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('running', 'done', 'failed', name='exportstate', native_enum=False, length=20), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('created_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('touched_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('finished_at', tracker.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ledger_exports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_exports'))
    )
    with op.batch_alter_table('ledger_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_exports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_exports_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_every_days', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('review_every_days')

    with op.batch_alter_table('ledger_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_exports_user_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_exports_created_at'))

    op.drop_table('ledger_exports')
