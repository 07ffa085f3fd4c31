"""Field encryption (SPEC §1.1: client data only encrypted, and only while a step of the routine
needs it): AES-256-GCM with a random 96-bit nonce and a key id stored with every value, so that
keys can be rotated without losing what is stored.

Keys come from the environment, `FIELD_KEYS="kid1:base64key,kid2:base64key"` (the first is the
current key), or else from files `instance/keys/<kid>.key` (mode 0600, one base64 key each; the
highest `kNNNN` is the current key), the first made on first use. The associated data binds a
ciphertext to its row (the submission's public id): copied to another row, it does not decrypt.

Stored value: 1 format byte, 12 bytes nonce, ciphertext with its 16-byte tag. Nothing here logs
a key or a plaintext; errors name the key id at most.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

FORMAT = b"\x01"
NONCE_BYTES = 12  # 96 bits, the size GCM is made for
KEY_BYTES = 32  # AES-256
KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
FILE_KID = re.compile(r"k(\d{4,8})")


class CryptoError(Exception):
    """A value could not be encrypted or decrypted: unknown key, tampered data, wrong row."""


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


def create_file_key(directory: Path, first: bool = False) -> str:
    """Write a new key file (0600) with the next key id and return the id. The key is written to
    a temporary file first and then linked into place, so nobody reads a half-written key, and
    two processes doing this at once cannot overwrite each other's key (link fails if taken).
    `first`: make the first key only; if another process just made it, use that one."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = directory / f".new-{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(encode_key(new_key()) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
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
        ring = load_files(directory)
        _cache.clear()
        _cache[_stamp(directory)] = ring
        return ring


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
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = directory / f".new-{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(encode_key(new_key()) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            tmp.unlink(missing_ok=True)
    return _read_key_file(path)


# --- encrypt and decrypt --------------------------------------------------------------------------


def _aad(associated: str | bytes) -> bytes:
    return associated.encode("utf-8") if isinstance(associated, str) else associated


def encrypt(
    plaintext: bytes, associated: str | bytes, ring: Keyring | None = None
) -> tuple[str, bytes]:
    """(key id, stored value) under the current key, bound to `associated` (the row's public id)."""
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
    value = bytes(value)
    if len(value) < 1 + NONCE_BYTES + 16 or value[:1] != FORMAT:
        raise CryptoError("okänt format på krypterat värde")
    nonce, body = value[1 : 1 + NONCE_BYTES], value[1 + NONCE_BYTES :]
    try:
        return ring.cipher(kid).decrypt(nonce, body, _aad(associated))
    except InvalidTag as exc:
        raise CryptoError("det krypterade värdet är ändrat eller hör till en annan rad") from exc


def encrypt_json(
    data: dict[str, Any], associated: str | bytes, ring: Keyring | None = None
) -> tuple[str, bytes]:
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return encrypt(raw.encode("utf-8"), associated, ring)


def decrypt_json(
    value: bytes, kid: str | None, associated: str | bytes, ring: Keyring | None = None
) -> dict[str, Any]:
    data = json.loads(decrypt(value, kid, associated, ring).decode("utf-8"))
    if not isinstance(data, dict):
        raise CryptoError("okänt innehåll i krypterat värde")
    return data


# --- rotation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptedColumn:
    model: Any
    name: str  # e.g. "data_enc"

    @property
    def label(self) -> str:
        return f"{self.model.__tablename__}.{self.name}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every column that holds a value of this module: a `*_enc` column in a table that also has
    `key_id` and `public_id` (the associated data), e.g. submissions.data_enc, day_notes.text_enc."""
    from .extensions import db

    out = []
    for mapper in db.Model.registry.mappers:
        keys = {c.key for c in mapper.column_attrs}
        if {"key_id", "public_id", "id"} <= keys:
            out += [EncryptedColumn(mapper.class_, k) for k in sorted(keys) if k.endswith("_enc")]
    return sorted(out, key=lambda c: c.label)


def key_usage() -> dict[str, int]:
    """How many stored values each key id encrypts (counts only)."""
    from sqlalchemy import func, select

    from .extensions import db

    used: dict[str, int] = {}
    for col in encrypted_columns():
        m = col.model
        rows = (
            db.session.execute(
                select(m.key_id, func.count())
                .where(getattr(m, col.name).is_not(None))
                .group_by(m.key_id)
            )
            .tuples()
            .all()
        )
        for kid, n in rows:
            used[kid or "?"] = used.get(kid or "?", 0) + n
    return used


@dataclass
class RotationResult:
    current: str
    new_key: bool
    reencrypted: int = 0
    already_current: int = 0
    skipped: int = 0  # changed (e.g. purged) by someone else meanwhile
    failed: int = 0  # could not be decrypted: key missing or value altered
    removed_keys: list[str] = field(default_factory=list)


def rotate(make_new_key: bool = True, remove_old: bool = False, batch: int = 200) -> RotationResult:
    """Make a new current key (key files only) and re-encrypt every stored value under it.

    Each row is rewritten with a compare-and-set on its old value, so a row purged meanwhile
    stays purged, and without touching the row's optimistic-lock version, so an LVS user who has
    the row open can still mark it done. With FIELD_KEYS the environment decides the current key:
    put the new key first there, then run this to re-encrypt. `remove_old` deletes key files that
    no value uses any more; run it when nothing else writes (a request that read the keys before
    the rotation may still be writing under the old key)."""
    from sqlalchemy import select, update

    from .extensions import db

    ring = keyring()
    made = False
    if make_new_key and ring.source == "files":
        if ring.directory is None:
            raise CryptoError("nyckelkatalogen saknas")
        create_file_key(ring.directory)
        ring = load_files(ring.directory, create=False)
        made = True
    result = RotationResult(current=ring.current, new_key=made)
    for col in encrypted_columns():
        m, column = col.model, getattr(col.model, col.name)
        last_id = 0
        while True:
            rows = db.session.execute(
                select(m.id, m.public_id, m.key_id, column)
                .where(column.is_not(None), m.id > last_id)
                .order_by(m.id)
                .limit(batch)
            ).all()
            if not rows:
                break
            for row_id, public_id, kid, value in rows:
                last_id = row_id
                if kid == ring.current:
                    result.already_current += 1
                    continue
                try:
                    plain = decrypt(value, kid, public_id, ring)
                except CryptoError:
                    result.failed += 1
                    continue
                new_kid, new_value = encrypt(plain, public_id, ring)
                del plain
                done = db.session.execute(
                    update(m)
                    .where(m.id == row_id, column == value, m.key_id == kid)
                    .values({col.name: new_value, "key_id": new_kid})
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if done:
                    result.reencrypted += 1
                else:
                    result.skipped += 1
            db.session.commit()
    if remove_old and ring.source == "files" and result.failed == 0 and ring.directory is not None:
        in_use = set(key_usage())
        for kid in list(ring.keys):
            if kid != ring.current and kid not in in_use:
                (ring.directory / f"{kid}.key").unlink(missing_ok=True)
                result.removed_keys.append(kid)
    return result
