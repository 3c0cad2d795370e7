"""initial schema: units, users, categories (seeded with the default taxonomy), reports,
items, item categories, evidence, extension requests and item history

Revision ID: 725ac67ec1b6
Revises: 
Create Date: 2026-11-22 02:07:42.176753

"""
from alembic import op
import sqlalchemy as sa

import tracker.types


# revision identifiers, used by Alembic.
revision = '725ac67ec1b6'
down_revision = None
branch_labels = None
depends_on = None

# CONTRACT.md's default taxonomy, as it stood when this revision was written (kept here, not
# imported, so that the migration never changes when the application's code does).
DEFAULT_CATEGORIES = [
    ("legal_publicity", "普法宣传"),
    ("fine_instead_of_management", "以罚代管"),
    ("case_file_quality", "案卷质量"),
    ("enforcement_capacity", "执法力量与保障"),
    ("enforcement_competence", "执法能力素质"),
    ("enforcement_methods", "执法方式"),
    ("theory_study", "学习贯彻与法治观念"),
    ("accountability", "责任落实与监督"),
    ("safety_supervision", "安全生产监管"),
    ("institutional_mechanism", "制度机制"),
    ("other", "其他"),
]


def upgrade():
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_categories_code'))
    )
    categories = sa.table(
        "categories", sa.column("code", sa.String), sa.column("name", sa.String),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(categories, [
        {"code": code, "name": name, "position": position}
        for position, (code, name) in enumerate(DEFAULT_CATEGORIES, start=1)
    ])
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('created_at', tracker.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['units.id'], name=op.f('fk_units_parent_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('parent_id', 'name', name=op.f('uq_units_parent_id_name'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_units_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_units_path'), ['path'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('role', sa.Enum('official', 'supervisor', 'admin', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', tracker.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_users_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_unit_id'), ['unit_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('source_filename', sa.String(length=255), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', tracker.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_reports_created_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_reports_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_sha256'), ['sha256'], unique=False)
        batch_op.create_index('ix_reports_unit_id_year', ['unit_id', 'year'], unique=False)

    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('open', 'in_progress', 'pending_review', 'closed', name='status', native_enum=False, length=20), nullable=False),
    sa.Column('carried_over_from_year', sa.Integer(), nullable=True),
    sa.Column('carry_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('closed_at', tracker.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_items_owner_id_users')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_items_report_id_reports')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_items_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_owner_id_status', ['owner_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_items_report_id'), ['report_id'], unique=False)
        batch_op.create_index('ix_items_status_deadline', ['status', 'deadline'], unique=False)
        batch_op.create_index('ix_items_unit_id_year', ['unit_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_items_year'), ['year'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('removed_at', tracker.types.UTCDateTime(), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_evidence_item_id_items')),
    sa.ForeignKeyConstraint(['removed_by_id'], ['users.id'], name=op.f('fk_evidence_removed_by_id_users')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_evidence_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_evidence_stored_name'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_removed_by_id'), ['removed_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_uploaded_by_id'), ['uploaded_by_id'], unique=False)

    op.create_table('extension_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('old_deadline', sa.Date(), nullable=True),
    sa.Column('new_deadline', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'rejected', name='extensionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', tracker.types.UTCDateTime(), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_extension_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_extension_requests_item_id_items')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_extension_requests_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_requests'))
    )
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_extension_requests_decided_by_id'), ['decided_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_requests_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_requests_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_extension_requests_status'), ['status'], unique=False)

    op.create_table('item_categories',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_item_categories_category_id_categories')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_categories_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'category_id', name=op.f('pk_item_categories'))
    )
    with op.batch_alter_table('item_categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_categories_category_id'), ['category_id'], unique=False)

    op.create_table('item_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_item_events_actor_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_events_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_events'))
    )
    with op.batch_alter_table('item_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_item_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_item_events_item_id'), ['item_id'], unique=False)



def downgrade():
    with op.batch_alter_table('item_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_events_item_id'))
        batch_op.drop_index(batch_op.f('ix_item_events_actor_id'))

    op.drop_table('item_events')
    with op.batch_alter_table('item_categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_item_categories_category_id'))

    op.drop_table('item_categories')
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_extension_requests_status'))
        batch_op.drop_index(batch_op.f('ix_extension_requests_requested_by_id'))
        batch_op.drop_index(batch_op.f('ix_extension_requests_item_id'))
        batch_op.drop_index(batch_op.f('ix_extension_requests_decided_by_id'))

    op.drop_table('extension_requests')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_uploaded_by_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_removed_by_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_item_id'))

    op.drop_table('evidence')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_items_year'))
        batch_op.drop_index('ix_items_unit_id_year')
        batch_op.drop_index('ix_items_status_deadline')
        batch_op.drop_index(batch_op.f('ix_items_report_id'))
        batch_op.drop_index('ix_items_owner_id_status')

    op.drop_table('items')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_unit_id_year')
        batch_op.drop_index(batch_op.f('ix_reports_sha256'))
        batch_op.drop_index(batch_op.f('ix_reports_created_by_id'))

    op.drop_table('reports')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_unit_id'))

    op.drop_table('users')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_units_path'))
        batch_op.drop_index(batch_op.f('ix_units_parent_id'))

    op.drop_table('units')
    op.drop_table('categories')
