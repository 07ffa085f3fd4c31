"""login throttling per account and source (issue 11, L1)

Failed logins are counted per username and source address, not per user row: an attacker at one
address can no longer lock the real user out at another (users.failed_logins and
users.locked_until are left in place, unused, so that the users table is not rebuilt). The
username is kept as an HMAC (account_key); nothing typed in the password field is kept.

Revision ID: 0006_login_throttle
Revises: 0005_data_keys
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


revision = '0006_login_throttle'
down_revision = '0005_data_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_key', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttle')),
    sa.UniqueConstraint('account_key', 'source', name=op.f('uq_login_throttle_account_key'))
    )
    op.create_index(op.f('ix_login_throttle_last_failure_at'), 'login_throttle',
                    ['last_failure_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_login_throttle_last_failure_at'), table_name='login_throttle')
    op.drop_table('login_throttle')
