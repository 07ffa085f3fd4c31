"""login throttling per account and source (issue 11; placeholder until its change lands: no schema change yet)

Revision ID: 0006_login_throttle
Revises: 0005_data_keys
Create Date: 2026-12-01

"""
from alembic import op  # noqa: F401


revision = '0006_login_throttle'
down_revision = '0005_data_keys'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
