"""audit chain keyed and protected (issue 11; placeholder until its change lands: no schema change yet)

Revision ID: 0004_audit_keyed
Revises: 0003_performance_indexes
Create Date: 2026-12-01

"""
from alembic import op  # noqa: F401


revision = '0004_audit_keyed'
down_revision = '0003_performance_indexes'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
