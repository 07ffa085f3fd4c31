"""a data key per record (crypto-shredding, issue 11 H4)

- data_keys: one row per record with encrypted fields: its random 256-bit data key, wrapped
  (AES-256-GCM) by a key-encryption key that is never in the database (kek_id names it).
- submissions.data_key_id, day_notes.data_key_id: the record's data key (unique; SET NULL when the
  key row is deleted, which leaves the ciphertext unreadable).

Values written before this revision (under a KEK directly, `key_id` on the row) stay readable and
get a data key of their own from `flask rotate-keys`.

SQLite cannot add a foreign key with ALTER through Alembic's constraint operations, so there the
column is added with its REFERENCES clause in one ALTER TABLE (no table rebuild: submissions is
referenced by grants and local_protections). PRAGMA foreign_key_list shows it with ON DELETE SET
NULL; SQLAlchemy's SQLite reflection reads neither the name nor the ON DELETE of a column-level
REFERENCES, so an autogenerate comparison on SQLite (only) reports this foreign key as changed.

Revision ID: 0005_data_keys
Revises: 0004_audit_keyed
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa


revision = '0005_data_keys'
down_revision = '0004_audit_keyed'
branch_labels = None
depends_on = None

TABLES = ('submissions', 'day_notes')


def upgrade():
    op.create_table('data_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=32), nullable=False),
    sa.Column('kek_id', sa.String(length=32), nullable=False),
    sa.Column('wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_keys'))
    )
    op.create_index(op.f('ix_data_keys_kek_id'), 'data_keys', ['kek_id'], unique=False)
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in TABLES:
        if sqlite:
            op.execute(f'ALTER TABLE {table} ADD COLUMN data_key_id INTEGER '
                       f'CONSTRAINT fk_{table}_data_key_id_data_keys '
                       'REFERENCES data_keys (id) ON DELETE SET NULL')
        else:
            op.add_column(table, sa.Column('data_key_id', sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(f'fk_{table}_data_key_id_data_keys'), table, 'data_keys',
                                  ['data_key_id'], ['id'], ondelete='SET NULL')
        op.create_index(op.f(f'ix_{table}_data_key_id'), table, ['data_key_id'], unique=True)


def downgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for table in reversed(TABLES):
        op.drop_index(op.f(f'ix_{table}_data_key_id'), table_name=table)
        if sqlite:
            # A column in a foreign key cannot be dropped with ALTER TABLE on SQLite: rebuild,
            # with foreign keys off (grants refer to submissions: dropping the old table would
            # otherwise fail, SQLite's own procedure for changing a table).
            op.execute('PRAGMA foreign_keys=OFF')
            with op.batch_alter_table(table, recreate='always') as batch_op:
                batch_op.drop_column('data_key_id')
            op.execute('PRAGMA foreign_keys=ON')
        else:
            op.drop_constraint(op.f(f'fk_{table}_data_key_id_data_keys'), table,
                               type_='foreignkey')
            op.drop_column(table, 'data_key_id')
    op.drop_index(op.f('ix_data_keys_kek_id'), table_name='data_keys')
    op.drop_table('data_keys')
