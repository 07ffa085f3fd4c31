"""self_checks and follow_ups (issue 16)

self_checks: the unit manager's "Egenkontroll genomförd" (§4.1): who, when, what was checked
(per case, per employee, the rules followed, the logs reviewed) and how many active grants and
cases the register held. Kept for the self-check file; nothing about any client.

follow_ups: a follow-up its user set (the checklist's next follow-up §5.12, the end of a local
protection §1.3): a case number, a kind and a date, for that user only; deleted when done or
when the day has passed (portal/retention.py). The rows go with their user (ON DELETE CASCADE).

Revision ID: 0010_self_checks_follow_ups
Revises: 0009_notices
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_self_checks_follow_ups'
down_revision = '0009_notices'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('self_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('per_case', sa.Boolean(), nullable=False),
    sa.Column('per_employee', sa.Boolean(), nullable=False),
    sa.Column('rules_followed', sa.Boolean(), nullable=False),
    sa.Column('logs_reviewed', sa.Boolean(), nullable=False),
    sa.Column('active_grants', sa.Integer(), nullable=False),
    sa.Column('cases', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'],
                            name=op.f('fk_self_checks_done_by_id_users')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_self_checks_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_self_checks'))
    )
    op.create_index(op.f('ix_self_checks_unit_id'), 'self_checks', ['unit_id'], unique=False)
    op.create_index(op.f('ix_self_checks_done_at'), 'self_checks', ['done_at'], unique=False)
    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('case_number', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_follow_ups_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
    sa.UniqueConstraint('public_id', name=op.f('uq_follow_ups_public_id')),
    sa.UniqueConstraint('user_id', 'case_number', 'kind',
                        name=op.f('uq_follow_ups_user_id'))
    )
    op.create_index(op.f('ix_follow_ups_user_id'), 'follow_ups', ['user_id'], unique=False)
    op.create_index(op.f('ix_follow_ups_due_on'), 'follow_ups', ['due_on'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_follow_ups_due_on'), table_name='follow_ups')
    op.drop_index(op.f('ix_follow_ups_user_id'), table_name='follow_ups')
    op.drop_table('follow_ups')
    op.drop_index(op.f('ix_self_checks_done_at'), table_name='self_checks')
    op.drop_index(op.f('ix_self_checks_unit_id'), table_name='self_checks')
    op.drop_table('self_checks')
