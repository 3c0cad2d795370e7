"""indexes the lists read at province scale: items by deadline with what visibility and the filters read
(ix_items_deadline_cover), a tree's items by year, deadline and status (ix_items_unit_cover, in place of
ix_items_unit_id_year), the review queue (ix_items_review_queue, partial), a category's items
(ix_item_categories_category_id_item_id, in place of the index on category_id alone)

Revision ID: f2c7a9d4e831
Revises: b7d2f9a31c64
Create Date: 2026-12-02 01:20:29.121097

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f2c7a9d4e831'
down_revision = 'b7d2f9a31c64'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('item_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_categories_category_id'))
        batch_op.create_index('ix_item_categories_category_id_item_id', ['category_id', 'item_id'], unique=False)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_unit_id_year'))
        batch_op.create_index('ix_items_deadline_cover', ['deadline', 'id', 'unit_id', 'owner_id', 'status', 'year', 'withdrawn_at'], unique=False)
        batch_op.create_index('ix_items_review_queue', ['updated_at', 'id', 'unit_id', 'withdrawn_at'], unique=False, postgresql_where=sa.text("status = 'pending_review'"), sqlite_where=sa.text("status = 'pending_review'"))
        batch_op.create_index('ix_items_unit_cover', ['unit_id', 'year', 'deadline', 'status', 'withdrawn_at', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_unit_cover')
        batch_op.drop_index('ix_items_review_queue', postgresql_where=sa.text("status = 'pending_review'"), sqlite_where=sa.text("status = 'pending_review'"))
        batch_op.drop_index('ix_items_deadline_cover')
        batch_op.create_index(batch_op.f('ix_items_unit_id_year'), ['unit_id', 'year'], unique=False)

    with op.batch_alter_table('item_categories', schema=None) as batch_op:
        batch_op.drop_index('ix_item_categories_category_id_item_id')
        batch_op.create_index(batch_op.f('ix_item_categories_category_id'), ['category_id'], unique=False)

