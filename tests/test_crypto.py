"""Field encryption (portal/crypto.py; SPEC §1.1): AES-256-GCM, random 96-bit nonces, key ids for
rotation, keys from FIELD_KEYS or 0600 key files; a data key per record, wrapped by those keys
(crypto-shredding: tests/test_trust_storage.py has the purge and the file search)."""
from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from flask import Flask

from portal import crypto

AD = "row-public-id-1"
DATA = {"personnummer": "19121212-1212", "full_name": "Tolvan Tolvansson", "text": "åäö"}


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


K1, K2 = bytes(range(32)), bytes(range(32, 64))


# --- encrypt and decrypt ---------------------------------------------------------------------


def test_round_trip_under_the_current_key(app: Flask) -> None:
    with app.app_context():
        kid, value = crypto.encrypt_json(DATA, AD)
        assert kid == crypto.keyring().current
        assert crypto.decrypt_json(value, kid, AD) == DATA
        assert b"Tolvan" not in value and b"1212" not in value


def test_each_encryption_has_its_own_nonce(app: Flask) -> None:
    with app.app_context():
        values = {crypto.encrypt(b"same", AD)[1] for _ in range(20)}
        assert len(values) == 20
        nonces = {v[1:1 + crypto.NONCE_BYTES] for v in values}
        assert len(nonces) == 20 and all(len(n) == 12 for n in nonces)


def test_a_value_from_another_row_is_refused(app: Flask) -> None:
    with app.app_context():
        kid, value = crypto.encrypt_json(DATA, AD)
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt_json(value, kid, "row-public-id-2")


@pytest.mark.parametrize("where", [0, 1, 5, 13, 20, -1])
def test_a_tampered_value_is_refused(app: Flask, where: int) -> None:
    with app.app_context():
        kid, value = crypto.encrypt_json(DATA, AD)
        changed = bytearray(value)
        changed[where] ^= 0x01
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt(bytes(changed), kid, AD)


def test_truncated_unknown_key_and_missing_key_id_are_refused(app: Flask) -> None:
    with app.app_context():
        kid, value = crypto.encrypt_json(DATA, AD)
        for bad in (value[:20], b"", value[:-1]):
            with pytest.raises(crypto.CryptoError):
                crypto.decrypt(bad, kid, AD)
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt(value, "k9999", AD)
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt(value, None, AD)


# --- keys from the environment ----------------------------------------------------------------


def test_field_keys_first_is_current_and_old_keys_still_decrypt(app: Flask) -> None:
    app.config["FIELD_KEYS"] = f"old:{b64(K1)}"
    with app.app_context():
        kid, value = crypto.encrypt_json(DATA, AD)
        assert kid == "old"
        app.config["FIELD_KEYS"] = f"new:{b64(K2)}, old:{b64(K1)}"
        assert crypto.keyring().current == "new"
        assert crypto.decrypt_json(value, "old", AD) == DATA
        assert crypto.encrypt_json(DATA, AD)[0] == "new"
    assert not (Path(app.instance_path) / "keys").exists()  # no key files when FIELD_KEYS is set


@pytest.mark.parametrize("value", [
    "", "nocolon", f"bad id!:{b64(K1)}", "a:not-base64!!", f"a:{b64(K1[:16])}",
    f"a:{b64(K1)},a:{b64(K2)}",
])
def test_a_malformed_field_keys_is_refused_without_echoing_the_key(value: str) -> None:
    with pytest.raises(crypto.CryptoError) as exc:
        crypto.parse_env(value)
    assert b64(K1) not in str(exc.value) and b64(K2) not in str(exc.value)


def test_the_keyring_never_shows_its_keys() -> None:
    ring = crypto.parse_env(f"a:{b64(K1)}")
    assert b64(K1) not in repr(ring) and str(K1) not in repr(ring)


# --- keys in files ---------------------------------------------------------------------------


def test_the_first_key_file_is_made_on_first_use_with_mode_0600(app: Flask) -> None:
    keys = Path(app.instance_path) / "keys"
    with app.app_context():
        ring = crypto.keyring()
    assert ring.source == "files" and ring.current == "k0001"
    assert (os.stat(keys).st_mode & 0o777) == 0o700
    assert (os.stat(keys / "k0001.key").st_mode & 0o777) == 0o600
    assert len(base64.b64decode((keys / "k0001.key").read_text())) == 32


def test_a_key_file_readable_by_others_is_refused(app: Flask) -> None:
    with app.app_context():
        crypto.keyring()
        path = Path(app.instance_path) / "keys" / "k0001.key"
        path.chmod(0o644)
        with pytest.raises(crypto.CryptoError):
            crypto.load_files(path.parent)


def test_a_new_key_file_becomes_current_without_a_restart(app: Flask) -> None:
    with app.app_context():
        kid, value = crypto.encrypt_json(DATA, AD)
        made = crypto.create_file_key(crypto.keys_dir())
        assert (kid, made) == ("k0001", "k0002")
        assert crypto.keyring().current == "k0002"
        assert crypto.decrypt_json(value, kid, AD) == DATA


def test_rotation_with_field_keys_reencrypts_to_the_first_key(app: Flask, as_user) -> None:
    from sqlalchemy import select
    from test_actualisation import form, submit

    from portal.extensions import db
    from portal.models import Submission

    app.config["FIELD_KEYS"] = f"a:{b64(K1)}"
    public_id = submit(as_user("secretary"), form())
    app.config["FIELD_KEYS"] = f"b:{b64(K2)},a:{b64(K1)}"
    with app.app_context():
        before = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        value = before.data_enc
        assert before.data_key.kek_id == "a"
        result = crypto.rotate()  # flushes only (rotate-keys commits each batch)
        assert (result.new_key, result.current, result.reencrypted) == (False, "b", 1)
        db.session.commit()
        db.session.expire_all()
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        # The data key is re-wrapped under "b"; the content itself is not re-encrypted.
        assert sub.key_id is None and sub.data_key.kek_id == "b" and sub.data_enc == value
        ring = crypto.parse_env(f"b:{b64(K2)}")
        assert crypto.unseal_json(sub, "data_enc", ring)["full_name"] == "Tolvan Tolvansson"
    app.config["FIELD_KEYS"] = f"b:{b64(K2)}"  # the old key retired: still readable
    assert as_user("lvs").get(f"/submissions/{public_id}.json").get_json()["full_name"]


def test_rotation_counts_a_value_it_cannot_decrypt_and_exits_1(app: Flask, as_user) -> None:
    from sqlalchemy import update
    from test_actualisation import form, submit

    from portal.extensions import db
    from portal.models import DataKey

    submit(as_user("secretary"), form())
    with app.app_context():
        db.session.execute(update(DataKey).values(kek_id="k0077"))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["rotate-keys"])
    assert result.exit_code == 1 and "Kunde inte dekrypteras: 1" in result.output
