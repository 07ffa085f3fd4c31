"""indexes for the pages that grow with stored data (issue 6; bench/README.md, target 4)

- audit_events (unit_id, seq): a unit manager's audit page reads the unit's newest events in
  seq order; with unit_id alone SQLite sorted all of the unit's events (tens of thousands) for
  each page. It replaces ix_audit_events_unit_id (its prefix), so an append maintains no more
  indexes than before.
- submissions (status, created_at, id): the LVS queue (unprocessed, oldest first); SQLite walked
  all submissions in created_at order to find the few still submitted.
- grants (revoked_at, case_number, valid_to, id): the access register (not revoked, in case order)
  one page at a time without sorting every active grant.

Revision ID: 0003_performance_indexes
Revises: 0002_day_notes
Create Date: 2026-11-24

"""
from alembic import op


revision = '0003_performance_indexes'
down_revision = '0002_day_notes'
branch_labels = None
depends_on = None


# Plain create/drop (no batch mode): on SQLite a batch could rebuild audit_events and lose its
# append-only triggers.
def upgrade():
    op.create_index('ix_audit_events_unit_id_seq', 'audit_events', ['unit_id', 'seq'])
    op.drop_index('ix_audit_events_unit_id', table_name='audit_events')
    op.create_index('ix_submissions_status_created_at', 'submissions',
                    ['status', 'created_at', 'id'])
    op.create_index('ix_grants_revoked_at_case_number', 'grants',
                    ['revoked_at', 'case_number', 'valid_to', 'id'])


def downgrade():
    op.drop_index('ix_grants_revoked_at_case_number', table_name='grants')
    op.drop_index('ix_submissions_status_created_at', table_name='submissions')
    op.create_index('ix_audit_events_unit_id', 'audit_events', ['unit_id'])
    op.drop_index('ix_audit_events_unit_id_seq', table_name='audit_events')
