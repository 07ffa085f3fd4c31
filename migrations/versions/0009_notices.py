"""notices_sent: the day each notice by e-mail last went out (issue 15, notices)

One row per user and kind of notice (portal/notices.py): the Swedish calendar day it was last
sent, so that a person gets at most one e-mail a day per kind. A send the SMTP server did not
accept writes no row, so the next run tries again. Only the kind's code and the day are kept:
nothing about what was waiting. The rows go with their user (ON DELETE CASCADE).

Revision ID: 0009_notices
Revises: 0008_user_admin
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


revision = '0009_notices'
down_revision = '0008_user_admin'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notices_sent',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_notices_sent_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notices_sent'))
    )


def downgrade():
    op.drop_table('notices_sent')
