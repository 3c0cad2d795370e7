"""我的视图 (saved_views): a list's filters and search kept under a name, shared with the supervisors of a
unit or not, sent to its owner every Monday or not

Revision ID: c8d2e4f6a913
Revises: a3e9c7b5d2f1
Create Date: 2026-12-02 02:06:52.395528

"""
from alembic import op
import sqlalchemy as sa

import tracker.types


# revision identifiers, used by Alembic.
revision = 'c8d2e4f6a913'
down_revision = 'a3e9c7b5d2f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('list', sa.Enum('items', 'overdue', name='savedlist', native_enum=False, length=20), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('shared_unit_id', sa.Integer(), nullable=True),
    sa.Column('weekly', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', tracker.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['shared_unit_id'], ['units.id'], name=op.f('fk_saved_views_shared_unit_id_units')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_views_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
    sa.UniqueConstraint('user_id', 'name', name='uq_saved_views_user_id_name')
    )
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_views_shared_unit_id'), ['shared_unit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_views_shared_unit_id'))

    op.drop_table('saved_views')
