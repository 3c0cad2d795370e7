"""the close record: the local day an item was closed and the deadline in force then
(items.closed_on, items.closed_deadline), filled for items already closed

Revision ID: 5e1c0a7d2b10
Revises: 35164754015a
Create Date: 2026-12-01 16:00:00

"""
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import tracker.types

revision = '5e1c0a7d2b10'
down_revision = '35164754015a'
branch_labels = None
depends_on = None

BATCH = 5000


def _zone() -> ZoneInfo:
    from flask import current_app

    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_deadline', sa.Date(), nullable=True))

    # An item closed now has not changed its deadline since it was closed (a closed item can be
    # neither edited nor extended; a reopening clears the record): its deadline is the one in
    # force then. The day is the local day of closed_at. In batches, for 10^6 items.
    items = sa.table('items', sa.column('id', sa.Integer), sa.column('status', sa.String),
                     sa.column('deadline', sa.Date), sa.column('closed_at', tracker.types.UTCDateTime()),
                     sa.column('closed_on', sa.Date), sa.column('closed_deadline', sa.Date))
    connection = op.get_bind()
    zone = _zone()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(items.c.id, items.c.deadline, items.c.closed_at)
            .where(items.c.status == 'closed', items.c.closed_at.is_not(None), items.c.id > last)
            .order_by(items.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        for item_id, deadline, closed_at in rows:
            connection.execute(items.update().where(items.c.id == item_id).values(
                closed_on=closed_at.astimezone(zone).date(), closed_deadline=deadline))
        last = rows[-1][0]


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('closed_deadline')
        batch_op.drop_column('closed_on')
