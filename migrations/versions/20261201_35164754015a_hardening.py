"""hardening: sign-in throttling, the sign-in log and server-side sessions; temporary passwords;
one import per file unless a second was confirmed (reports.duplicate_of_id)

Revision ID: 35164754015a
Revises: e4ad95ffee0b
Create Date: 2026-12-01 11:00:48.327634

"""
from alembic import op
import sqlalchemy as sa

import tracker.types


# revision identifiers, used by Alembic.
revision = '35164754015a'
down_revision = 'e4ad95ffee0b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_throttles',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('window_start', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('last_failure_at', tracker.types.UTCDateTime(), nullable=True),
    sa.Column('locked_until', tracker.types.UTCDateTime(), nullable=True),
    sa.Column('refusals', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttles'))
    )
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_throttles_locked_until'), ['locked_until'], unique=False)

    op.create_table('sign_in_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('outcome', sa.Enum('success', 'failure', 'locked', 'unlocked', 'signed_out', 'signed_out_all', 'expired', 'password_changed', 'password_reset', 'token_refused', name='signinoutcome', native_enum=False, length=20), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_sign_in_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_events'))
    )
    with op.batch_alter_table('sign_in_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_events_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_events_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_sign_in_events_username_id', ['username', 'id'], unique=False)

    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', tracker.types.UTCDateTime(), nullable=False),
    sa.Column('ended_at', tracker.types.UTCDateTime(), nullable=True),
    sa.Column('end_reason', sa.Enum('signed_out', 'signed_out_all', 'password_changed', 'password_reset', 'deactivated', 'locked', 'idle', 'lifetime', name='sessionend', native_enum=False, length=20), nullable=True),
    sa.Column('address', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_user_sessions_user_id_ended_at', ['user_id', 'ended_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_reports_duplicate_of_id'), ['duplicate_of_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_reports_duplicate_of_id_reports'), 'reports', ['duplicate_of_id'], ['id'])
    # Files imported more than once so far (each time confirmed): the later imports name the first.
    op.execute(
        "UPDATE reports SET duplicate_of_id = (SELECT MIN(first.id) FROM reports first WHERE first.sha256 = reports.sha256)"
        " WHERE sha256 IS NOT NULL AND id > (SELECT MIN(first.id) FROM reports first WHERE first.sha256 = reports.sha256)"
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ux_reports_sha256_first', ['sha256'], unique=True,
                              sqlite_where=sa.text('sha256 IS NOT NULL AND duplicate_of_id IS NULL'),
                              postgresql_where=sa.text('sha256 IS NOT NULL AND duplicate_of_id IS NULL'))



def downgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ux_reports_sha256_first', sqlite_where=sa.text('sha256 IS NOT NULL AND duplicate_of_id IS NULL'),
                            postgresql_where=sa.text('sha256 IS NOT NULL AND duplicate_of_id IS NULL'))
        batch_op.drop_constraint(batch_op.f('fk_reports_duplicate_of_id_reports'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reports_duplicate_of_id'))
        batch_op.drop_column('duplicate_of_id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_user_sessions_user_id_ended_at')

    op.drop_table('user_sessions')
    with op.batch_alter_table('sign_in_events', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_events_username_id')
        batch_op.drop_index(batch_op.f('ix_sign_in_events_user_id'))
        batch_op.drop_index(batch_op.f('ix_sign_in_events_at'))
        batch_op.drop_index(batch_op.f('ix_sign_in_events_actor_id'))

    op.drop_table('sign_in_events')
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_throttles_locked_until'))

    op.drop_table('sign_in_throttles')
