"""day_notes.text dropped (issue 12, item 7)

A note's text has only ever been written encrypted, to day_notes.text_enc (portal/day_notes.py;
the portal set `text` to NULL on every note it wrote); the plain column is dead. The upgrade
refuses if some row holds plain text all the same (written outside the portal): dropping it would
destroy a note, keeping it would keep protected text in plain; the operator decides.

SQLite drops the column with its own ALTER TABLE DROP COLUMN (3.35+), not a batch rebuild of the
table: a rebuild copies the table from SQLAlchemy's reflection, which does not read the ON DELETE
SET NULL of day_notes.data_key_id (a column-level REFERENCES, migration 0005), and would lose it.

Revision ID: 0007_day_note_text_dropped
Revises: 0006_login_throttle
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


revision = '0007_day_note_text_dropped'
down_revision = '0006_login_throttle'
branch_labels = None
depends_on = None


def upgrade():
    plain = op.get_bind().execute(
        sa.text('SELECT count(*) FROM day_notes WHERE text IS NOT NULL')).scalar_one()
    if plain:
        raise RuntimeError(
            f'day_notes.text holds the plain text of {plain} note(s), which the portal never '
            'writes: move it to text_enc or delete it, then upgrade again.')
    op.drop_column('day_notes', 'text')


def downgrade():
    op.add_column('day_notes', sa.Column('text', sa.Text(), nullable=True))
