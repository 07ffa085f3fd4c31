"""Issue 11, encrypted storage and purging: H4 (crypto-shredding: purged content cannot be
recovered from any file under instance/, keys included), L4 (a ciphertext is bound to its table,
column, row, form and unit), L8 (a broken ciphertext is a clear page; a missing key folder is never
silently replaced by a new key), the storage half of M4 (the access order's local-protection
reason and justification are sealed and purged when LVS marks it done), and production keys
outside instance/.

The database lives inside instance/ here (as in a default install), so that the file search sees
the database, its -wal and -shm, the keys, and anything else the portal wrote there."""
from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CsrfClient, _seed, _truncate_pg, login, order_form, submit_form
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from sqlalchemy import func, select, text, update

from portal import create_app, crypto, scheduler
from portal.clock import today
from portal.extensions import db
from portal.models import AuditEvent, DataKey, DayNote, Submission, Unit

PNR = "19470823-0018"  # valid check digit, used nowhere else in the tests
PNR_FORMS = ["19470823-0018", "194708230018", "470823-0018", "4708230018"]
NAME = "Quirinius Zwetschgenbaum"
REASON = "Hot från Zacharias Quellenberg, tidigare partner; akut läge."
JUSTIFICATION = "Xylofonia Brandqvist behövs som extra handläggare under utredningen."
NOTE = "Brukaren Wilhelmina Oxenstjärna var orolig i dag och ville inte öppna."


@pytest.fixture
def app(tmp_path: Path, migrated_sqlite: Path | None, migrated_pg: str | None,
        password_hash: str) -> Iterator[Flask]:
    """As conftest's app, but with the SQLite database in instance/ (the default install)."""
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    if migrated_pg:
        uri = migrated_pg
    else:
        assert migrated_sqlite is not None
        target = instance / "portal.db"
        shutil.copy(migrated_sqlite, target)
        target.chmod(0o600)
        uri = f"sqlite:///{target}"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": uri, "SECRET_KEY": "test-secret-" + "x" * 20,
         "TESTING": True,
         # the day-note tests write digital notes (off by default, SPEC §3.5; issue 13, 13-C)
         "DAY_NOTES_DIGITAL": True},
        instance_path=str(instance),
    )
    app.test_client_class = CsrfClient
    with app.app_context():
        if migrated_pg:
            _truncate_pg()
        _seed(password_hash)
    yield app
    with app.app_context():
        db.session.remove()
        if migrated_pg:
            _truncate_pg()
        db.engine.dispose()


def sqlite(app: Flask) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


# --- helpers ---------------------------------------------------------------------------------


def actualisation(**overrides: str) -> dict[str, str]:
    from test_actualisation import form

    return form(**({"personnummer": PNR, "full_name": NAME} | overrides))


def row(app: Flask, public_id: str) -> Submission:
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        assert sub is not None
        db.session.expunge(sub)
        return sub


def secrets_of(app: Flask, record: Any) -> dict[str, bytes]:
    """What an attacker could use to read `record` later: its ciphertext, its wrapped data key,
    and the data key itself (unwrapped with the portal's key-encryption key)."""
    with app.app_context():
        key = db.session.get(DataKey, record.data_key_id)
        assert key is not None
        raw = crypto.unwrap(key.kek_id, key.wrapped, key.owner)
        value = bytes(getattr(record, "data_enc", None) or record.text_enc)
        return {"ciphertext": value, "wrapped key": bytes(key.wrapped), "data key": raw}


def instance_bytes(app: Flask) -> dict[str, bytes]:
    """Every file under instance/ as raw bytes (the database, -wal, -shm, keys, anything), and on
    PostgreSQL every value of every table as the server gives it (its files are elsewhere)."""
    files = {str(p): p.read_bytes() for p in Path(app.instance_path).rglob("*") if p.is_file()}
    if not sqlite(app):
        out = bytearray()
        with app.app_context():
            for table in db.metadata.sorted_tables:
                for values in db.session.execute(table.select()):
                    for value in values:
                        out += value if isinstance(value, bytes) else str(value).encode()
                        out += b"\0"
        files["postgresql"] = bytes(out)
    return files


def assert_unrecoverable(app: Flask, plaintexts: list[str], secrets: dict[str, bytes]) -> None:
    files = instance_bytes(app)
    if sqlite(app):
        assert str(Path(app.instance_path) / "portal.db") in files
    everything = b"".join(files.values())
    assert b"Sara Socialsekreterare" in everything  # the search sees the database's content
    needles = {t: t.encode("utf-8") for t in plaintexts}
    needles |= {name: value for name, value in secrets.items()}
    # A piece of the ciphertext or key is enough to look for (a page may split nothing here,
    # but a partial overwrite could leave a part).
    needles |= {f"{name} (bytes 13-29)": value[13:29] for name, value in secrets.items()}
    found = {(name, path) for name, needle in needles.items()
             for path, data in files.items() if needle in data}
    assert found == set(), f"recoverable after the purge: {sorted(found)}"
    # Even with every key-encryption key of instance/keys, the old ciphertext (say, from a copy
    # taken before the purge) does not open: it is under the data key, which is gone.
    keys = sorted((Path(app.instance_path) / "keys").glob("*.key"))
    assert keys, "the key files are in instance/keys (the default install)"
    value = secrets["ciphertext"]
    for path in keys:
        kek = AESGCM(base64.b64decode(path.read_text()))
        with pytest.raises(InvalidTag):
            kek.decrypt(value[1:13], value[13:], None)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DataKey).where(
            DataKey.wrapped == secrets["wrapped key"])) == 0


def mark_done_actualisation(lvs: FlaskClient, public_id: str) -> None:
    resp = lvs.post(f"/lvs/submissions/{public_id}/done",
                    data={"reply": "", "version": "1", "case_number": "0655599"})
    assert resp.status_code == 303, resp.get_data(as_text=True)


# --- H4: crypto-shredding ----------------------------------------------------------------------


def test_h4_actualisation_marked_done_cannot_be_recovered_from_any_file(
        app: Flask, as_user) -> None:
    secretary, lvs = as_user("secretary"), as_user("lvs")
    public_id = submit_form(secretary, "/forms/actualisation", actualisation())
    kept = submit_form(secretary, "/forms/actualisation", actualisation(full_name="Annan Person"))
    assert NAME in lvs.get(f"/submissions/{public_id}").get_data(as_text=True)
    secrets = secrets_of(app, row(app, public_id))

    mark_done_actualisation(lvs, public_id)

    tombstone = row(app, public_id)
    assert tombstone.data_enc is None and tombstone.data_key_id is None
    assert_unrecoverable(app, [*PNR_FORMS, NAME, "Zwetschgenbaum"], secrets)
    # The other request, not purged, still reads: only the purged record's key went.
    assert "Annan Person" in lvs.get(f"/submissions/{kept}").get_data(as_text=True)


def test_h4_actualisation_purged_by_retention_cannot_be_recovered_from_any_file(
        app: Flask, as_user) -> None:
    public_id = submit_form(as_user("secretary"), "/forms/actualisation", actualisation())
    secrets = secrets_of(app, row(app, public_id))
    with freeze_time(datetime.now(UTC) + timedelta(days=31)), app.app_context():
        assert scheduler.purge_job()["actualisation_unprocessed"] == 1
    assert row(app, public_id).status == "expired"
    assert_unrecoverable(app, [*PNR_FORMS, NAME, "Zwetschgenbaum"], secrets)


def test_h4_deviation_registered_cannot_be_recovered_from_any_file(app: Flask, as_user) -> None:
    from test_deviation import report as deviation_form

    public_id = submit_form(as_user("staff"), "/forms/deviation",
                       deviation_form(description=NOTE))
    secrets = secrets_of(app, row(app, public_id))
    manager = as_user("hemtjanst_manager")
    resp = manager.post(f"/submissions/{public_id}/done", data={"version": "1"})
    assert resp.status_code == 303
    assert row(app, public_id).status == "purged"
    assert_unrecoverable(app, [NOTE, "Oxenstjärna"], secrets)


def test_h4_day_note_purged_by_retention_cannot_be_recovered_from_any_file(
        app: Flask, as_user) -> None:
    manager = as_user("hemtjanst_manager")
    resp = manager.post("/day-notes/", data={"fictional_name": "Kalle Anka", "case_number": ""})
    file_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert manager.post(f"/day-notes/{file_id}/notes", data={"text": NOTE}).status_code == 303
    with app.app_context():
        note = db.session.scalar(select(DayNote))
        assert note is not None and note.data_key_id is not None
        db.session.expunge(note)
    secrets = secrets_of(app, note)
    with freeze_time(datetime.now(UTC) + timedelta(days=95)), app.app_context():
        assert scheduler.purge_job()["day_notes"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DataKey)) == 0
    assert_unrecoverable(app, [NOTE, "Oxenstjärna"], secrets)


def test_h4_a_data_key_left_behind_by_a_cascade_is_deleted_by_the_next_purge(
        app: Flask, as_user) -> None:
    """A fictional file deleted with its notes by the database's ON DELETE CASCADE (a path that
    does not shred) leaves data keys without a record: the retention run deletes them."""
    manager = as_user("hemtjanst_manager")
    resp = manager.post("/day-notes/", data={"fictional_name": "Kalle Anka", "case_number": ""})
    file_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert manager.post(f"/day-notes/{file_id}/notes", data={"text": NOTE}).status_code == 303
    with app.app_context():
        db.session.execute(text("DELETE FROM fictional_files"))
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(DayNote)) == 0
        assert db.session.scalar(select(func.count()).select_from(DataKey)) == 1
        assert scheduler.purge_job()["data_keys_orphaned"] == 1
        assert db.session.scalar(select(func.count()).select_from(DataKey)) == 0


@pytest.fixture
def sqlite_app(tmp_path: Path, migrated_sqlite: Path | None, password_hash: str) -> Iterator[Flask]:
    """An app on SQLite in instance/ even in the PostgreSQL pass (the SQLite-only guarantees)."""
    instance = tmp_path / "sqlite-instance"
    instance.mkdir(mode=0o700)
    target = instance / "portal.db"
    if migrated_sqlite is not None:
        shutil.copy(migrated_sqlite, target)
        target.chmod(0o600)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}", "SECRET_KEY": "s" * 40,
                      "WTF_CSRF_ENABLED": False, "TESTING": True}, instance_path=str(instance))
    with app.app_context():
        if migrated_sqlite is None:
            from portal.db_setup import upgrade_schema

            upgrade_schema()
        _seed(password_hash)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_h4_secure_delete_is_on_for_every_connection(sqlite_app: Flask) -> None:
    app = sqlite_app
    with app.app_context():
        conns = [db.engine.connect() for _ in range(4)]  # four at once: four connections
        try:
            assert [c.exec_driver_sql("PRAGMA secure_delete").scalar() for c in conns] == [1] * 4
            assert {c.exec_driver_sql("PRAGMA journal_mode").scalar() for c in conns} == {"wal"}
        finally:
            for c in conns:
                c.close()


def test_h4_the_wal_is_truncated_after_the_purge_commits(sqlite_app: Flask) -> None:
    app = sqlite_app
    secretary, lvs = app.test_client(), app.test_client()
    assert login(secretary, "secretary").status_code == 303
    assert login(lvs, "lvs").status_code == 303
    public_id = submit_form(secretary, "/forms/actualisation", actualisation())
    wal = Path(app.instance_path) / "portal.db-wal"
    assert wal.stat().st_size > 0
    mark_done_actualisation(lvs, public_id)
    # Nothing was written after the purge's commit but its checkpoint (the redirect's page
    # is not fetched): the WAL is empty.
    assert wal.stat().st_size == 0


def test_h4_rotation_rewraps_data_keys_and_gives_older_values_a_data_key(
        app: Flask, as_user) -> None:
    """`rotate-keys` re-wraps each data key under the new key-encryption key, and a value written
    before migration 0005 (under the KEK directly) gets a data key of its own."""
    secretary, lvs = as_user("secretary"), as_user("lvs")
    new_style = submit_form(secretary, "/forms/actualisation", actualisation())
    old_style = submit_form(secretary, "/forms/actualisation", actualisation(full_name="Gammal Post"))
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == old_style))
        kid, value = crypto.encrypt_json(crypto.unseal_json(sub, "data_enc"), old_style)
        key_row = sub.data_key
        sub.data_key = None
        db.session.delete(key_row)
        sub.data_enc, sub.key_id = value, kid
        db.session.commit()
    assert "Gammal Post" in lvs.get(f"/submissions/{old_style}").get_data(as_text=True)

    result = app.test_cli_runner().invoke(args=["rotate-keys", "--remove-old"])
    assert result.exit_code == 0, result.output
    assert "Omkrypterade: 2" in result.output
    assert "Varav äldre värden som fått en egen datanyckel: 1" in result.output
    assert sorted(p.name for p in (Path(app.instance_path) / "keys").glob("*.key")) == [
        "k0002.key"]
    for public_id, name in ((new_style, NAME), (old_style, "Gammal Post")):
        converted = row(app, public_id)
        assert converted.key_id is None and converted.data_key_id is not None
        assert name in lvs.get(f"/submissions/{public_id}").get_data(as_text=True)
    status = app.test_cli_runner().invoke(args=["keys", "status"])
    assert "k0002 (aktuell): 2 värden" in status.output and "Datanycklar: 2" in status.output


# --- L4: bound to table, column, row, form and unit -------------------------------------------


class Record:
    """Anything with a public id, a form and unit, and encrypted columns can be sealed."""

    __tablename__ = "submissions"

    def __init__(self, public_id: str = "row-1", form: str = "deviation", unit: int = 1) -> None:
        self.public_id, self.form, self.unit = public_id, form, unit
        self.data_key: Any = None
        self.key_id: str | None = None
        self.data_enc: bytes | None = None
        self.other_enc: bytes | None = None

    def sealed_context(self) -> tuple[str, int]:
        return self.form, self.unit


@pytest.mark.parametrize("change", ["table", "column", "public_id", "form", "unit"])
def test_l4_a_ciphertext_moved_to_another_table_column_row_form_or_unit_does_not_decrypt(
        app: Flask, change: str) -> None:
    with app.app_context():
        record = Record()
        crypto.seal(record, "data_enc", NOTE.encode())
        assert crypto.unseal(record, "data_enc") == NOTE.encode()
        column = "data_enc"
        if change == "table":
            record.__tablename__ = "day_notes"
        elif change == "column":
            record.other_enc, column = record.data_enc, "other_enc"
        elif change == "public_id":
            record.public_id = "row-2"
        elif change == "form":
            record.form = "actualisation"
        else:
            record.unit = 2
        with pytest.raises(crypto.CryptoError):
            crypto.unseal(record, column)


def test_l4_a_report_moved_to_another_unit_in_the_database_is_not_shown_there(
        app: Flask, as_user) -> None:
    """An insider who can write the database moves a deviation report to another unit, whose
    manager would then read it: it does not decrypt there (the unit is bound), and the move is
    audited as unreadable content."""
    from test_deviation import report as deviation_form

    public_id = submit_form(as_user("staff"), "/forms/deviation", deviation_form(description=NOTE))
    with app.app_context():
        other = db.session.scalar(select(Unit.id).where(Unit.name == "Myndighet Centrum"))
        db.session.execute(update(Submission).values(unit_id=other))
        db.session.commit()
    resp = as_user("manager").get(f"/submissions/{public_id}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 500 and NOTE not in page and "Oxenstjärna" not in page
    assert "Innehållet kan inte läsas" in page


# --- L8: a broken ciphertext, a missing key folder ----------------------------------------------


@pytest.mark.parametrize("damage", ["tampered", "data key deleted"])
def test_l8_a_broken_ciphertext_gives_a_clear_page_and_an_audit_event(
        app: Flask, as_user, damage: str) -> None:
    public_id = submit_form(as_user("secretary"), "/forms/actualisation", actualisation())
    with app.app_context():
        sub = db.session.scalar(select(Submission).where(Submission.public_id == public_id))
        if damage == "tampered":
            value = bytearray(sub.data_enc)
            value[20] ^= 0x01
            sub.data_enc = bytes(value)
        else:
            db.session.execute(text("DELETE FROM data_keys"))
        db.session.commit()
    lvs = as_user("lvs")
    for path in ("", ".json", "/pdf", "/message"):
        resp = lvs.get(f"/submissions/{public_id}{path}")
        page = resp.get_data(as_text=True)
        assert resp.status_code == 500
        assert "Innehållet kan inte läsas" in page and "systemförvaltaren" in page
        assert "Traceback" not in page and "CryptoError" not in page
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "protected_content_unreadable")).all()
        assert len(events) == 4
        assert {e.object_id for e in events} == {public_id}
        assert {e.username for e in events} == {"lvs"}
        assert not db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "protected_content_read")).all()


def test_l8_a_broken_day_note_gives_the_clear_page(app: Flask, as_user) -> None:
    manager = as_user("hemtjanst_manager")
    resp = manager.post("/day-notes/", data={"fictional_name": "Kalle Anka", "case_number": ""})
    file_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert manager.post(f"/day-notes/{file_id}/notes", data={"text": NOTE}).status_code == 303
    with app.app_context():
        db.session.execute(text("DELETE FROM data_keys"))
        db.session.commit()
    resp = manager.get(f"/day-notes/{file_id}")
    assert resp.status_code == 500 and "Innehållet kan inte läsas" in resp.get_data(as_text=True)


def test_l8_a_missing_key_folder_with_encrypted_data_is_refused_and_no_key_is_made(
        app: Flask, as_user) -> None:
    public_id = submit_form(as_user("secretary"), "/forms/actualisation", actualisation())
    keys = Path(app.instance_path) / "keys"
    moved = keys.with_name("keys-elsewhere")
    keys.rename(moved)  # e.g. a restore that forgot the key folder
    with app.app_context():
        with pytest.raises(crypto.KeysMissing) as refused:
            crypto.keyring()
        assert "FIELD_KEYS_DIR" in str(refused.value) and "FIELD_KEYS" in str(refused.value)
    assert not list(keys.glob("*.key"))
    result = app.test_cli_runner().invoke(args=["keys", "status"])
    assert result.exit_code == 1 and "FIELD_KEYS_DIR" in result.output
    assert not list(keys.glob("*.key"))
    lvs, secretary = as_user("lvs"), as_user("secretary")
    # The requests fail (a 500 in production; the test client raises): nothing read or stored.
    with pytest.raises(crypto.KeysMissing):
        lvs.get(f"/submissions/{public_id}")
    with pytest.raises(crypto.KeysMissing):
        secretary.post("/forms/actualisation", data=actualisation())
    assert not list(keys.glob("*.key"))  # no new key that would orphan the stored content
    # A restart over the same database and the empty key folder refuses to start at all.
    with pytest.raises(crypto.KeysMissing):
        create_app(
            {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
             "SECRET_KEY": app.config["SECRET_KEY"]},
            instance_path=app.instance_path,
        )
    assert not list(keys.glob("*.key"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Submission)) == 1
    shutil.rmtree(keys, ignore_errors=True)
    moved.rename(keys)  # the folder back: everything reads again
    assert NAME in lvs.get(f"/submissions/{public_id}").get_data(as_text=True)


def test_l8_a_fresh_install_still_makes_its_first_key(app: Flask) -> None:
    keys = Path(app.instance_path) / "keys"
    assert not list(keys.glob("*.key"))
    with app.app_context():
        assert not crypto.holds_encrypted_data()
        assert crypto.keyring().current == "k0001"
    assert (keys / "k0001.key").exists()


# --- production: the key-encryption keys outside instance/ ---------------------------------------


def production(tmp_path: Path, **settings: Any) -> Flask:
    """load_config as create_app runs it, with PRODUCTION=1 (only the key rule is looked at)."""
    from portal.config import load_config

    instance = tmp_path / "instance"
    app = Flask("production-test", instance_path=str(instance))
    load_config(app, {"PRODUCTION": True, "SECRET_KEY": "s" * 40,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://", **settings})
    return app


def test_h4_production_refuses_key_files_inside_instance(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELD_KEYS", raising=False)
    monkeypatch.delenv("FIELD_KEYS_DIR", raising=False)
    instance = tmp_path / "instance"
    for inside in (None, str(instance / "keys"), str(instance), str(instance / "a" / ".." / "k")):
        with pytest.raises(RuntimeError) as refused:
            production(tmp_path, FIELD_KEYS_DIR=inside)
        assert "FIELD_KEYS" in str(refused.value)
    with pytest.raises(RuntimeError):
        production(tmp_path)  # nothing set: the default instance/keys
    outside = tmp_path / "secrets" / "keys"
    assert production(tmp_path, FIELD_KEYS_DIR=str(outside)).config["FIELD_KEYS_DIR"] == str(
        outside)
    ring = f"k1:{base64.b64encode(bytes(32)).decode()}"
    audit_key = base64.b64encode(bytes(range(32))).decode()
    # FIELD_KEYS alone would leave the audit chain's key a file in instance/keys: refused.
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    with pytest.raises(RuntimeError, match="AUDIT_KEY"):
        production(tmp_path, FIELD_KEYS=ring)
    assert production(tmp_path, FIELD_KEYS=ring, AUDIT_KEY=audit_key).config["FIELD_KEYS"] == ring
    # From the environment (ENV_KEYS), as production sets them.
    monkeypatch.setenv("FIELD_KEYS_DIR", str(outside))
    assert production(tmp_path).config["FIELD_KEYS_DIR"] == str(outside)
    monkeypatch.setenv("FIELD_KEYS_DIR", str(instance / "keys"))
    with pytest.raises(RuntimeError):
        production(tmp_path)
    monkeypatch.delenv("FIELD_KEYS_DIR")
    monkeypatch.setenv("FIELD_KEYS", ring)
    monkeypatch.setenv("AUDIT_KEY", audit_key)
    assert production(tmp_path).config["FIELD_KEYS"] == ring


# --- M4: the access order's reason and justification ---------------------------------------------


def test_m4_reason_and_justification_are_sealed_and_purged_when_lvs_marks_the_order_done(
        app: Flask, as_user) -> None:
    manager, lvs = as_user("manager"), as_user("lvs")
    day = today()
    data = order_form(
        valid_from=day.isoformat(), valid_to=(day + timedelta(days=180)).isoformat(),
        local_protection="y", local_protection_until=(day + timedelta(days=60)).isoformat(),
        local_protection_reason=REASON, justification=JUSTIFICATION)
    public_id = submit_form(manager, "/forms/access-order", data)
    sub = row(app, public_id)
    assert sub.data is not None and sub.data_enc is not None and sub.data_key_id is not None
    assert "local_protection_reason" not in sub.data and "justification" not in sub.data
    assert sub.data["local_protection"] is True  # what stays plain: yes, until when
    secrets = secrets_of(app, sub)
    with app.app_context():
        raw = b"".join(instance_bytes(app).values())
        for needle in (REASON, JUSTIFICATION, "Quellenberg", "Xylofonia"):
            assert needle.encode() not in raw

    # Before done: the orderer and LVS see them, on the page, message, PDF and JSON; audited.
    for client in (manager, lvs):
        page = client.get(f"/submissions/{public_id}").get_data(as_text=True)
        assert "Quellenberg" in page and "Xylofonia" in page
    assert "Quellenberg" in lvs.get(f"/submissions/{public_id}/message").get_data(as_text=True)
    exported = lvs.get(f"/submissions/{public_id}.json").get_json()
    assert exported["local_protection_reason"] == REASON
    assert exported["justification"] == JUSTIFICATION
    with app.app_context():
        reads = db.session.scalars(select(AuditEvent.username).where(
            AuditEvent.action == "protected_content_read",
            AuditEvent.object_id == public_id)).all()
        assert sorted(reads) == ["lvs", "lvs", "lvs", "manager"]

    resp = lvs.post(f"/lvs/submissions/{public_id}/done", data={"reply": "", "version": "1"})
    assert resp.status_code == 303

    done = row(app, public_id)
    assert done.status == "done" and done.data_enc is None and done.data_key_id is None
    assert done.data["local_protection"] is True and done.data["local_protection_until"]
    assert_unrecoverable(app, [REASON, JUSTIFICATION, "Quellenberg", "Xylofonia"], secrets)
    page = manager.get(f"/submissions/{public_id}").get_data(as_text=True)
    assert "Quellenberg" not in page and "Orsaken är raderad" in page
    assert "Raderad: LVS har hanterat beställningen." in page
    message = manager.get(f"/submissions/{public_id}/message").get_data(as_text=True)
    assert "Lokalt skydd: ja, till och med" in message and "(raderad:" in message
    assert "Quellenberg" not in message
    exported = manager.get(f"/submissions/{public_id}.json").get_json()
    assert exported["local_protection"] is True
    assert exported["local_protection_reason"] is None and exported["justification"] is None
    assert manager.get(f"/submissions/{public_id}/pdf").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "protected_content_purged",
            AuditEvent.object_id == public_id)) == 1


def test_m4_an_order_without_a_reason_or_justification_has_no_data_key(
        app: Flask, as_user) -> None:
    day = today()
    public_id = submit_form(as_user("manager"), "/forms/access-order", order_form(
        valid_from=day.isoformat(), valid_to=(day + timedelta(days=180)).isoformat()))
    sub = row(app, public_id)
    assert sub.data_enc is None and sub.data_key_id is None
    assert sub.data["justification"] == "" and sub.data["local_protection_reason"] == ""
    page = as_user("lvs").get(f"/submissions/{public_id}").get_data(as_text=True)
    assert "Raderad" not in page and "raderad" not in page
