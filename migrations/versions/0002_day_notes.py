"""day notes: fictional files and their notes (SPEC §3.5, routine §7.5, §8.6)

Revision ID: 0002_day_notes
Revises: 0001
Create Date: 2026-11-24

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_day_notes'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fictional_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('fictional_name', sa.String(length=120), nullable=False),
    sa.Column('case_number', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_fictional_files_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fictional_files')),
    sa.UniqueConstraint('public_id', name=op.f('uq_fictional_files_public_id'))
    )
    with op.batch_alter_table('fictional_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fictional_files_unit_id'), ['unit_id'], unique=False)

    op.create_table('day_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_enc', sa.LargeBinary(), nullable=True),
    sa.Column('key_id', sa.String(length=32), nullable=True),
    sa.Column('compiled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('compiled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_day_notes_author_id_users')),
    sa.ForeignKeyConstraint(['compiled_by_id'], ['users.id'], name=op.f('fk_day_notes_compiled_by_id_users')),
    sa.ForeignKeyConstraint(['file_id'], ['fictional_files.id'], name=op.f('fk_day_notes_file_id_fictional_files'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_day_notes')),
    sa.UniqueConstraint('public_id', name=op.f('uq_day_notes_public_id'))
    )
    with op.batch_alter_table('day_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_day_notes_compiled_at'), ['compiled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_day_notes_file_id'), ['file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_day_notes_written_at'), ['written_at'], unique=False)


def downgrade():
    with op.batch_alter_table('day_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_day_notes_written_at'))
        batch_op.drop_index(batch_op.f('ix_day_notes_file_id'))
        batch_op.drop_index(batch_op.f('ix_day_notes_compiled_at'))

    op.drop_table('day_notes')
    with op.batch_alter_table('fictional_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fictional_files_unit_id'))

    op.drop_table('fictional_files')
