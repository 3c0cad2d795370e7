"""items by deadline then number (ix_items_deadline_id): every list's default order, which a province's
first page can walk instead of sorting all its items

Revision ID: d3f8a6c2e917
Revises: b7d2f9a31c64
Create Date: 2026-12-01 23:13:36.983980

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3f8a6c2e917'
down_revision = 'b7d2f9a31c64'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_deadline_id', ['deadline', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_deadline_id')

