"""Extensions, created here and bound to the app in create_app()."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)

# The models' base class. `db.Model` is typed as a variable (`type[flask_sqlalchemy.model.Model]`),
# which a type checker cannot take as a base class; at run time it is a subclass of Base (the same
# registry and metadata) with Flask-SQLAlchemy's mixins, and that is what mypy is told here.
if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FSAModel

    class Model(Base, _FSAModel):
        __abstract__ = True
        # Every model of the portal is mapped to a Table (none to a select or a join).
        __table__: ClassVar[Table]

else:
    Model = db.Model
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage from RATELIMIT_STORAGE_URI; memory:// counts per process, so production with more than
# one worker must point it at a shared store (Redis), and refuses to start otherwise
# (portal/__init__.py). The key is the client's address after ProxyFix (PROXY_FIX_X_FOR). The
# throttle per account and address lives in the database (auth.note_failure) and holds anyway.
limiter = Limiter(key_func=get_remote_address, default_limits=[])
