"""users.unit_id nullable (issue 15, user administration)

A user made by the first sign-in with the city account (OpenID Connect) has no role and no unit
until an admin gives it both at /admin/users ("väntar på behörighet"): users.unit_id may be NULL.
portal/accounts.py keeps the rule that a user with a role has a unit.

The session epoch that deactivation raises (users.session_version) and the login throttle that
unlocking clears (login_throttle, 0006) exist already: nothing else changes.

SQLite cannot drop a NOT NULL with ALTER TABLE: the users table is rebuilt (Alembic's batch
mode, SQLite's own procedure), with foreign keys off so that dropping the old table neither
cascades to user_roles nor trips the references of submissions, grants and day notes. The
rebuild keeps the table's named constraints (reflected). The downgrade refuses while a user
has no unit: the operator gives each one a unit, or removes them, first.

Revision ID: 0008_user_admin
Revises: 0007_day_note_text_dropped
Create Date: 2026-12-01

"""
import sqlalchemy as sa
from alembic import op

revision = '0008_user_admin'
down_revision = '0007_day_note_text_dropped'
branch_labels = None
depends_on = None


def _alter(nullable):
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        op.alter_column('users', 'unit_id', existing_type=sa.Integer(), nullable=nullable)
        return
    # SQLite's procedure for changing a table: foreign keys off, rebuild, check, commit, on.
    # PRAGMA foreign_keys is a no-op while the driver holds a BEGIN, so the rebuild is committed
    # on the driver's connection before they go back on (Alembic's own transaction object stays
    # open and commits the version stamp after this; running 0008 again is harmless).
    dbapi = bind.connection.dbapi_connection
    if dbapi.in_transaction:
        dbapi.commit()
    bind.exec_driver_sql('PRAGMA foreign_keys=OFF')
    try:
        if bind.exec_driver_sql('PRAGMA foreign_keys').scalar() != 0:
            raise RuntimeError('foreign keys could not be turned off to rebuild users')
        with op.batch_alter_table('users', recreate='always') as batch_op:
            batch_op.alter_column('unit_id', existing_type=sa.Integer(), nullable=nullable)
        broken = bind.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'users rebuilt with broken references: {broken[:5]}')
        dbapi.commit()
    except BaseException:
        dbapi.rollback()
        raise
    finally:
        bind.exec_driver_sql('PRAGMA foreign_keys=ON')


def upgrade():
    _alter(True)


def downgrade():
    unassigned = op.get_bind().execute(
        sa.text('SELECT count(*) FROM users WHERE unit_id IS NULL')).scalar_one()
    if unassigned:
        raise RuntimeError(
            f'{unassigned} user(s) have no unit: give each a unit (/admin/users) or remove '
            'them, then downgrade again.')
    _alter(False)
