"""a data key per record (crypto-shredding) (issue 11; placeholder until its change lands: no schema change yet)

Revision ID: 0005_data_keys
Revises: 0004_audit_keyed
Create Date: 2026-12-01

"""
from alembic import op  # noqa: F401


revision = '0005_data_keys'
down_revision = '0004_audit_keyed'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
