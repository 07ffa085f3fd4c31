"""Field encryption (SPEC §1.1: client data only encrypted, and only while a step of the routine
needs it), by crypto-shredding (issue 11 H4).

Every record with encrypted fields (a submission's `data_enc`, a day note's `text_enc`) has its
own random 256-bit data key, in its own row of `data_keys`, stored only wrapped (AES-256-GCM) by a
key-encryption key (KEK). Purging the record deletes that row: from then on its ciphertext cannot
be decrypted by anyone, from any copy of the database, its WAL or a backup, even with the KEK.
Rotating the KEK re-wraps the data keys; the content itself is not re-encrypted.

KEKs come from the environment, `FIELD_KEYS="kid1:base64key,kid2:base64key"` (the first is the
current key), or else from files `<FIELD_KEYS_DIR>/<kid>.key` (default instance/keys/, mode 0600,
one base64 key each; the highest `kNNNN` is the current key). The first key file is made on first
use of a fresh install only: when the database already holds encrypted values and the folder has
no key, nothing is made and the app refuses to go on (KeysMissing), since a new key would leave
the stored content unreadable. Production keeps the KEKs outside instance/ (portal/config.py).

A sealed value is bound (AES-GCM associated data) to its table, column, row (public id), form and
unit (issue 11 L4): moved anywhere else, it does not decrypt.

Stored values: 1 format byte, 12 bytes nonce, ciphertext with its 16-byte tag. Format 1 is the
older one (content under the KEK itself, bound to the public id only; `key_id` on the row names
the KEK): still read, and given a data key by `flask rotate-keys`. Format 2 is content under the
record's data key; format 3 a wrapped data key. Nothing here logs a key or a plaintext; errors
name the key id at most.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

FORMAT = b"\x01"  # older values: content under the KEK itself
SEALED = b"\x02"  # content under the record's own data key
WRAPPED = b"\x03"  # a data key under a KEK
NONCE_BYTES = 12  # 96 bits, the size GCM is made for
KEY_BYTES = 32  # AES-256
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
FILE_KID = re.compile(r"k(\d{4,8})")


log = logging.getLogger(__name__)


class CryptoError(Exception):
    """A value could not be encrypted or decrypted: unknown key, tampered data, wrong row, or its
    data key is missing."""


class KeysMissing(RuntimeError):
    """The key folder has no key while the database holds encrypted values: refuse, never make a
    new key (it could not read what is stored)."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # key id -> 32-byte key
    current: str
    source: Literal["env", "files"]
    directory: Path | None = None
    _ciphers: dict[str, AESGCM] = field(default_factory=dict, compare=False, repr=False)

    def cipher(self, kid: str) -> AESGCM:
        if kid not in self.keys:
            raise CryptoError(f"okänd nyckel {kid!r}")
        if kid not in self._ciphers:
            self._ciphers[kid] = AESGCM(self.keys[kid])
        return self._ciphers[kid]

    def __repr__(self) -> str:  # never the key bytes
        kids = sorted(self.keys)
        return f"Keyring(current={self.current!r}, kids={kids!r}, source={self.source!r})"


def _decode_key(kid: str, text: str) -> bytes:
    if not KID_PATTERN.fullmatch(kid):
        raise CryptoError(
            "en nyckels id får bara innehålla A–Z, a–z, 0–9, _ och - (högst 32 tecken)"
        )
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError(f"nyckeln {kid!r} är inte giltig base64") from exc
    if len(key) != KEY_BYTES:
        raise CryptoError(f"nyckeln {kid!r} ska vara {KEY_BYTES} byte (256 bitar)")
    return key


def parse_env(value: str) -> Keyring:
    """`kid1:base64key,kid2:base64key`; the first is the current key."""
    keys: dict[str, bytes] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        kid, sep, text = part.partition(":")
        if not sep:
            raise CryptoError("FIELD_KEYS ska ha formen id:base64nyckel,id:base64nyckel")
        kid = kid.strip()
        if kid in keys:
            raise CryptoError(f"nyckeln {kid!r} står två gånger i FIELD_KEYS")
        keys[kid] = _decode_key(kid, text)
    if not keys:
        raise CryptoError("FIELD_KEYS innehåller ingen nyckel")
    return Keyring(keys=keys, current=next(iter(keys)), source="env")


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _file_kids(directory: Path) -> list[str]:
    """Key ids of the key files, oldest first (k0001, k0002, …)."""
    if not directory.is_dir():
        return []
    kids = [p.stem for p in directory.glob("*.key") if FILE_KID.fullmatch(p.stem)]
    return sorted(kids, key=lambda k: int(k[1:]))


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CryptoError(f"nyckelfilen {path.name} får bara vara läsbar för ägaren (chmod 600)")
    return _decode_key(path.stem, path.read_text(encoding="ascii"))


def _new_key_file(directory: Path) -> Path:
    """A new random key written (0600, synced) to a temporary file in `directory`, to be linked
    into place by the caller: nobody reads a half-written key."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = directory / f".new-{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(encode_key(new_key()) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def create_file_key(directory: Path, first: bool = False) -> str:
    """Write a new key file (0600) with the next key id and return the id. The key is written to
    a temporary file first and then linked into place, so nobody reads a half-written key, and
    two processes doing this at once cannot overwrite each other's key (link fails if taken).
    `first`: make the first key only; if another process just made it, use that one."""
    tmp = _new_key_file(directory)
    try:
        while True:
            kids = _file_kids(directory)
            kid = f"k{(int(kids[-1][1:]) + 1) if kids else 1:04d}"
            try:
                os.link(tmp, directory / f"{kid}.key")
            except FileExistsError:
                if first:
                    return _file_kids(directory)[-1]
                continue
            return kid
    finally:
        tmp.unlink(missing_ok=True)


def load_files(directory: Path, create: bool = True) -> Keyring:
    kids = _file_kids(directory)
    if not kids:
        if not create:
            raise CryptoError("det finns inga nycklar")
        create_file_key(directory, first=True)
        kids = _file_kids(directory)
    keys = {kid: _read_key_file(directory / f"{kid}.key") for kid in kids}
    return Keyring(keys=keys, current=kids[-1], source="files", directory=directory)


# --- the app's keyring ---------------------------------------------------------------------------

_cache: dict[Any, Keyring] = {}
_lock = threading.Lock()


def keys_dir() -> Path:
    configured = current_app.config.get("FIELD_KEYS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "keys"


def _stamp(directory: Path) -> tuple[Any, ...]:
    """What the key folder holds now: a new or removed key file gives a new stamp."""
    try:
        with os.scandir(directory) as entries:
            return (
                str(directory),
                *sorted((e.name, e.stat().st_mtime_ns) for e in entries if e.name.endswith(".key")),
            )
    except FileNotFoundError:
        return (str(directory),)


def keyring() -> Keyring:
    """The keys of the running app: FIELD_KEYS if set, else the key files. A file keyring is
    cached until the folder's key files change, so running workers see a rotation by
    `flask rotate-keys` without a restart."""
    env = current_app.config.get("FIELD_KEYS")
    with _lock:
        if env:
            cache_key: Any = ("env", env)
            if cache_key not in _cache:
                _cache[cache_key] = parse_env(env)
            return _cache[cache_key]
        directory = keys_dir()
        cache_key = _stamp(directory)
        cached = _cache.get(cache_key)
        if cached is not None:
            return cached
        if not _file_kids(directory) and holds_encrypted_data():
            raise KeysMissing(
                f"Nyckelkatalogen {directory} saknar nycklar, men databasen har krypterat "
                "innehåll. Ingen ny nyckel skapas (den kan inte läsa det som finns). Ange "
                "katalogen med nycklarna i FIELD_KEYS_DIR, eller nycklarna i FIELD_KEYS."
            )
        ring = load_files(directory)
        _cache.clear()
        _cache[_stamp(directory)] = ring
        return ring


def refuse_missing_keys() -> None:
    """At start (create_app): key files expected but none there while the database holds
    encrypted content or data keys, e.g. a restore that forgot the key folder, is refused before
    any request (issue 11 L8). FIELD_KEYS given, or key files present: nothing to check."""
    if current_app.config.get("FIELD_KEYS"):
        return
    directory = keys_dir()
    if not _file_kids(directory) and holds_encrypted_data():
        raise KeysMissing(
            f"Nyckelkatalogen {directory} saknar nycklar, men databasen har krypterat "
            "innehåll. Portalen startar inte och skapar ingen ny nyckel (den kan inte läsa det som "
            "finns). Ange katalogen med nycklarna i FIELD_KEYS_DIR, eller nycklarna i FIELD_KEYS."
        )


def holds_encrypted_data() -> bool:
    """Whether the database holds any data key or encrypted value (of any format). A schema not
    migrated yet holds none."""
    from sqlalchemy import inspect, text

    from .extensions import db

    with db.engine.connect() as conn:
        insp = inspect(conn)
        tables = set(insp.get_table_names())
        checks = ["SELECT 1 FROM data_keys"] if "data_keys" in tables else []
        for col in encrypted_columns():
            table = col.model.__tablename__
            if table in tables and col.name in {c["name"] for c in insp.get_columns(table)}:
                checks.append(f"SELECT 1 FROM {table} WHERE {col.name} IS NOT NULL")  # noqa: S608
        found = any(conn.execute(text(q + " LIMIT 1")).first() for q in checks)
        conn.rollback()
    return found


def named_secret(name: str) -> bytes:
    """A 32-byte secret of the key store for a purpose other than field encryption, e.g. the audit
    chain's MAC key (`named_secret("audit")`): the setting ``<NAME>_KEY`` (base64, e.g. AUDIT_KEY
    from the environment), else the file ``<keys_dir>/<name>.secret`` (mode 0600), made on first
    use. It lives with the field keys, never in the database."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
        raise CryptoError("ogiltigt namn på hemlighet")
    configured = current_app.config.get(f"{name.upper()}_KEY")
    if configured:
        return _decode_key(name, configured)
    directory = keys_dir()
    path = directory / f"{name}.secret"
    if not path.exists():
        tmp = _new_key_file(directory)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    return _read_key_file(path)


# --- encrypt and decrypt under a KEK (format 1: values written before data keys) ---------------


def _aad(associated: str | bytes) -> bytes:
    return associated.encode("utf-8") if isinstance(associated, str) else associated


def encrypt(
    plaintext: bytes, associated: str | bytes, ring: Keyring | None = None
) -> tuple[str, bytes]:
    """(key id, stored value) under the current KEK, bound to `associated`. Records use seal()."""
    ring = ring or keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = ring.cipher(ring.current).encrypt(nonce, plaintext, _aad(associated))
    return ring.current, FORMAT + nonce + body


def decrypt(
    value: bytes, kid: str | None, associated: str | bytes, ring: Keyring | None = None
) -> bytes:
    """The plaintext, or CryptoError when the key is unknown, the value altered, or it belongs
    to another row."""
    ring = ring or keyring()
    if not kid:
        raise CryptoError("värdet saknar nyckel-id")
    if kid not in ring.keys:
        raise CryptoError(f"okänd nyckel {kid!r}")
    nonce, body = _split(value, FORMAT)
    try:
        return ring.cipher(kid).decrypt(nonce, body, _aad(associated))
    except InvalidTag as exc:
        raise CryptoError("det krypterade värdet är ändrat eller hör till en annan rad") from exc


def _split(value: bytes | None, fmt: bytes) -> tuple[bytes, bytes]:
    value = bytes(value or b"")
    if len(value) < 1 + NONCE_BYTES + 16 or value[:1] != fmt:
        raise CryptoError("okänt format på krypterat värde")
    return value[1 : 1 + NONCE_BYTES], value[1 + NONCE_BYTES :]


def encrypt_json(
    data: dict[str, Any], associated: str | bytes, ring: Keyring | None = None
) -> tuple[str, bytes]:
    return encrypt(_dump(data), associated, ring)


def decrypt_json(
    value: bytes, kid: str | None, associated: str | bytes, ring: Keyring | None = None
) -> dict[str, Any]:
    return _load(decrypt(value, kid, associated, ring))


def _dump(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def _load(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw.decode("utf-8"))
    if not isinstance(data, dict):
        raise CryptoError("okänt innehåll i krypterat värde")
    return data


# --- a data key per record (crypto-shredding) ----------------------------------------------------


@dataclass(frozen=True)
class Binding:
    """What a sealed value belongs to (AES-GCM associated data, issue 11 L4): its table, column,
    row, form and unit. Copied to another row, column, form or unit, it does not decrypt."""

    table: str
    column: str
    public_id: str
    form: str
    unit_id: int | None

    def aad(self) -> bytes:
        parts = ["skydd/sealed/1", self.table, self.column, self.public_id, self.form, self.unit_id]
        return json.dumps(parts, separators=(",", ":")).encode("utf-8")


def binding(record: Any, column: str) -> Binding:
    """A record's binding: the model says its form and unit (`sealed_context()`)."""
    form, unit_id = record.sealed_context()
    return Binding(record.__tablename__, column, record.public_id, form, unit_id)


def _wrap_aad(owner: str) -> bytes:
    return json.dumps(["skydd/data-key/1", owner], separators=(",", ":")).encode("utf-8")


def wrap(data_key: bytes, owner: str, ring: Keyring | None = None) -> tuple[str, bytes]:
    """(KEK id, wrapped key): the data key under the current KEK."""
    ring = ring or keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = ring.cipher(ring.current).encrypt(nonce, data_key, _wrap_aad(owner))
    return ring.current, WRAPPED + nonce + body


def unwrap(kek_id: str, wrapped: bytes, owner: str, ring: Keyring | None = None) -> bytes:
    ring = ring or keyring()
    nonce, body = _split(wrapped, WRAPPED)
    try:
        key = ring.cipher(kek_id).decrypt(nonce, body, _wrap_aad(owner))
    except InvalidTag as exc:
        raise CryptoError("datanyckeln är ändrad eller hör inte till sin nyckel") from exc
    if len(key) != KEY_BYTES:
        raise CryptoError("datanyckeln har fel längd")
    return key


def _record_key(record: Any, ring: Keyring, create: bool) -> bytes:
    """The record's data key in the clear (never stored so): unwrapped from its row, or, with
    `create`, a new random one whose wrapped row is added to the session with the record."""
    from .models import DataKey

    row = record.data_key
    if row is None:
        if not create:
            raise CryptoError("datanyckeln saknas (innehållet är raderat eller nyckeln borttagen)")
        key = new_key()
        kek_id, wrapped = wrap(key, record.__tablename__, ring)
        record.data_key = DataKey(owner=record.__tablename__, kek_id=kek_id, wrapped=wrapped)
        return key
    return unwrap(row.kek_id, row.wrapped, row.owner, ring)


def seal(record: Any, column: str, plaintext: bytes, ring: Keyring | None = None) -> None:
    """Encrypt `plaintext` into `record.<column>` under the record's data key (made on first
    use), bound to the record (Binding). The caller adds and commits the record."""
    ring = ring or keyring()
    key = _record_key(record, ring, create=True)
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = AESGCM(key).encrypt(nonce, plaintext, binding(record, column).aad())
    setattr(record, column, SEALED + nonce + body)
    record.key_id = None


def unseal(record: Any, column: str, ring: Keyring | None = None) -> bytes:
    """The plaintext of `record.<column>`; CryptoError when it is altered, moved from elsewhere,
    or its data key is gone. A format-1 value (before data keys) is read under its KEK."""
    value = getattr(record, column)
    if value is None:
        raise CryptoError("värdet saknas")
    ring = ring or keyring()
    if bytes(value[:1]) == FORMAT:
        return decrypt(value, record.key_id, record.public_id, ring)
    nonce, body = _split(value, SEALED)
    key = _record_key(record, ring, create=False)
    try:
        return AESGCM(key).decrypt(nonce, body, binding(record, column).aad())
    except InvalidTag as exc:
        raise CryptoError("det krypterade värdet är ändrat eller hör till en annan rad") from exc


def seal_json(record: Any, column: str, data: dict[str, Any], ring: Keyring | None = None) -> None:
    seal(record, column, _dump(data), ring)


def unseal_json(record: Any, column: str, ring: Keyring | None = None) -> dict[str, Any]:
    return _load(unseal(record, column, ring))


def shred(record: Any, *columns: str) -> None:
    """Crypto-shredding: empty the record's encrypted columns and delete its data key row, in the
    caller's transaction. After the commit the database is checkpointed (SQLite), see below."""
    from .extensions import db

    with db.session.no_autoflush:  # the record's changes go in one UPDATE (one row version)
        row = record.data_key
    for column in columns:
        setattr(record, column, None)
    record.key_id = None
    if row is not None:
        record.data_key = None
        db.session.delete(row)
    mark_shredded()


def shred_keys(ids: Iterable[int | None]) -> int:
    """Delete these data key rows (for records deleted in bulk, e.g. by a retention rule)."""
    from sqlalchemy import delete

    from .extensions import db
    from .models import DataKey

    wanted = sorted({i for i in ids if i is not None})
    done = 0
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        result = db.session.execute(
            delete(DataKey)
            .where(DataKey.id.in_(chunk))
            .execution_options(synchronize_session=False)
        )
        done += int(result.rowcount or 0)  # type: ignore[attr-defined]
    if done:
        mark_shredded()
    return done


def purge_orphaned_keys() -> int:
    """Delete data keys no record refers to (a record removed by a path that did not shred, e.g.
    a database-level cascade). A record and its key are written in one transaction, so a key
    another transaction sees without its record has none."""
    from sqlalchemy import delete, select

    from .extensions import db
    from .models import DataKey

    used = [
        select(m.data_key_id).where(m.data_key_id == DataKey.id).exists()
        for m in sealed_models()
    ]
    cond = ~used[0]
    for other in used[1:]:
        cond = cond & ~other
    result = db.session.execute(
        delete(DataKey).where(cond).execution_options(synchronize_session=False)
    )
    n = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if n:
        mark_shredded()
    return n


# --- after a purge: SQLite's WAL --------------------------------------------------------------------


def mark_shredded() -> None:
    """Note on the session that this transaction destroys content: after its commit, SQLite's WAL
    is checkpointed and truncated, so the old pages (the ciphertext, the wrapped data key) do not
    stay in portal.db-wal. secure_delete (portal/db_setup.py) zeroes them in the main file."""
    from .extensions import db

    db.session.info["shredded"] = True


def checkpoint() -> bool:
    """`PRAGMA wal_checkpoint(TRUNCATE)` on SQLite, outside any transaction; True when done
    (False when a reader held it up: the next purge tries again). Nothing to do on PostgreSQL:
    there crypto-shredding alone makes what dead tuples, WAL and backups keep unreadable."""
    from .extensions import db

    engine = db.engine
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
    if busy:
        log.warning("WAL checkpoint after a purge was held up by a reader; retried at the next")
    return not busy


def _after_commit(session: Any) -> None:
    if session.info.pop("shredded", False):
        checkpoint()


def _after_rollback(session: Any) -> None:
    session.info.pop("shredded", None)


def _listen() -> None:
    from sqlalchemy import event

    from .extensions import db

    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)


_listen()


# --- rotation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    model: Any
    name: str  # e.g. "data_enc"

    @property
    def label(self) -> str:
        return f"{self.model.__tablename__}.{self.name}"


def sealed_models() -> list[Any]:
    """Every model whose rows have a data key (a `data_key_id` column)."""
    from .extensions import Base

    out = []
    for mapper in Base.registry.mappers:
        keys = {c.key for c in mapper.column_attrs}
        if {"data_key_id", "key_id", "public_id", "id"} <= keys:
            out.append(mapper.class_)
    return sorted(out, key=lambda m: m.__tablename__)


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column that holds a value of this module: a `*_enc` column of a model with a data
    key, e.g. submissions.data_enc, day_notes.text_enc."""
    out = []
    for model in sealed_models():
        keys = sorted(c.key for c in model.__mapper__.column_attrs if c.key.endswith("_enc"))
        out += [EncryptedColumn(model, k) for k in keys]
    return sorted(out, key=lambda c: c.label)


def key_usage(conn: Connection | None = None) -> dict[str, int]:
    """How many stored values each KEK protects (counts only): the data keys it wraps, and the
    older values encrypted under it directly. Read in the session's transaction, or on `conn`
    (a connection of its own: what is committed)."""
    from sqlalchemy import func, select

    from .extensions import db
    from .models import DataKey

    run = conn if conn is not None else db.session
    used: dict[str, int] = {}
    rows = run.execute(select(DataKey.kek_id, func.count()).group_by(DataKey.kek_id))
    for kid, n in rows.all():
        used[kid] = used.get(kid, 0) + n
    for col in encrypted_columns():
        m = col.model
        rows = run.execute(
            select(m.key_id, func.count())
            .where(getattr(m, col.name).is_not(None), m.key_id.is_not(None))
            .group_by(m.key_id)
        )
        for kid, n in rows.all():
            used[kid] = used.get(kid, 0) + n
    return used


@dataclass
class RotationResult:
    current: str
    new_key: bool
    reencrypted: int = 0  # data keys re-wrapped under the current KEK, plus older values converted
    converted: int = 0  # of which older values (format 1) given a data key of their own
    already_current: int = 0
    skipped: int = 0  # changed (e.g. purged) by someone else meanwhile
    failed: int = 0  # could not be decrypted: key missing or value altered
    removed_keys: list[str] = field(default_factory=list)


def rotate(
    make_new_key: bool = True, batch: int = 200, end_batch: Callable[[], None] | None = None
) -> RotationResult:
    """Make a new current KEK (key files only) and re-wrap every data key under it; the content
    is not re-encrypted. Older values (format 1, under a KEK directly) get a data key of their own.

    Each data key row is rewritten with a compare-and-set on its old value, so a key shredded
    meanwhile stays shredded; the records are not touched, so an LVS user who has one open can
    still mark it done. With FIELD_KEYS the environment decides the current key: put the new key
    first there, then run this. `end_batch` is called after each batch of `batch` rows (the
    command commits there; by default the batch is only flushed). Unused key files are removed
    by `remove_unused_keys`, after the rotation is committed."""
    from sqlalchemy import select, update

    from .extensions import db
    from .models import DataKey

    end_batch = end_batch or db.session.flush

    ring = keyring()
    made = False
    if make_new_key and ring.source == "files":
        if ring.directory is None:
            raise CryptoError("nyckelkatalogen saknas")
        create_file_key(ring.directory)
        ring = load_files(ring.directory, create=False)
        made = True
    result = RotationResult(current=ring.current, new_key=made)
    last_id = 0
    while True:
        rows = db.session.execute(
            select(DataKey.id, DataKey.owner, DataKey.kek_id, DataKey.wrapped)
            .where(DataKey.id > last_id)
            .order_by(DataKey.id)
            .limit(batch)
        ).all()
        if not rows:
            break
        for key_id, owner, kek_id, wrapped in rows:
            last_id = key_id
            if kek_id == ring.current:
                result.already_current += 1
                continue
            try:
                key = unwrap(kek_id, wrapped, owner, ring)
            except CryptoError:
                result.failed += 1
                continue
            new_kek, new_wrapped = wrap(key, owner, ring)
            del key
            done = db.session.execute(
                update(DataKey)
                .where(DataKey.id == key_id, DataKey.kek_id == kek_id, DataKey.wrapped == wrapped)
                .values(kek_id=new_kek, wrapped=new_wrapped)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if done:
                result.reencrypted += 1
            else:
                result.skipped += 1
        end_batch()
    for col in encrypted_columns():
        _convert_older_values(col, ring, result, batch, end_batch)
    return result


def remove_unused_keys() -> list[str]:
    """Delete the key files (not the current one) no committed data key or value uses; return
    their ids. Usage is read on a connection of its own, so a re-wrap not yet committed (and that
    may still roll back) never lets the key it still needs go. Key files only (FIELD_KEYS: the
    environment's keys are removed there). Run it when nothing else writes (a request that read
    the keys before the rotation may still be writing under the old key). A deleted KEK makes
    every backup that needs it unreadable."""
    from .extensions import db

    ring = keyring()
    if ring.source != "files" or ring.directory is None:
        return []
    with db.engine.connect() as conn:
        in_use = set(key_usage(conn))
    removed = []
    for kid in list(ring.keys):
        if kid != ring.current and kid not in in_use:
            (ring.directory / f"{kid}.key").unlink(missing_ok=True)
            removed.append(kid)
    return removed


def _convert_older_values(
    col: EncryptedColumn,
    ring: Keyring,
    result: RotationResult,
    batch: int,
    end_batch: Callable[[], None],
) -> None:
    """Format-1 values (written before data keys) get a data key of their own: decrypt under the
    KEK, seal under a new data key, compare-and-set on the old value (the row's version stays)."""
    from sqlalchemy import select, update

    from .extensions import db

    m, column = col.model, getattr(col.model, col.name)
    last_id = 0
    while True:
        records = db.session.scalars(
            select(m)
            .where(column.is_not(None), m.key_id.is_not(None), m.id > last_id)
            .order_by(m.id)
            .limit(batch)
        ).all()
        if not records:
            break
        for record in records:
            last_id = record.id
            old, kid = getattr(record, col.name), record.key_id
            try:
                plain = decrypt(old, kid, record.public_id, ring)
            except CryptoError:
                result.failed += 1
                continue
            key = new_key()
            kek_id, wrapped = wrap(key, m.__tablename__, ring)
            from .models import DataKey

            row = DataKey(owner=m.__tablename__, kek_id=kek_id, wrapped=wrapped)
            db.session.add(row)
            db.session.flush()
            nonce = secrets.token_bytes(NONCE_BYTES)
            value = SEALED + nonce + AESGCM(key).encrypt(
                nonce, plain, binding(record, col.name).aad()
            )
            del plain, key
            done = db.session.execute(
                update(m)
                .where(m.id == record.id, column == old, m.key_id == kid)
                .values({col.name: value, "key_id": None, "data_key_id": row.id})
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if done:
                result.reencrypted += 1
                result.converted += 1
            else:
                db.session.delete(row)
                result.skipped += 1
        end_batch()
