"""The portal's files on disk are its owner's alone (issue 11, M5).

What it writes — the SQLite database and its -wal/-shm, instance/secret_key, the field keys and
named secrets, the audit anchors, backups, the demo passwords — may bring back client data or
forge a session, so no other account on the machine may read it:

- `private_umask()` makes every file the process creates 0600 and every folder 0700 (whatever
  code creates it, SQLite included: it gives -wal/-shm the database file's own mode). It runs first
  in create_app (which every path goes through: gunicorn, `flask …`, the tests) and at the top of
  gunicorn.conf.py (gunicorn's own error log is opened before the app).
- `check_private(app)` runs at start. instance/ and the key folder are made 0700 (created so, or
  narrowed where the portal's account owns them: git checks instance/ out 0755, and a folder's
  mode shows file names, not content). A secret *file* that others could read may have been read
  already, so the portal refuses to start, naming each file and the `chmod` that fixes it; whoever
  runs it should also ask who could have copied the file meanwhile."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

PRIVATE_UMASK = 0o077
OTHERS = stat.S_IRWXG | stat.S_IRWXO  # any permission for the group or for everyone
EMPTY = frozenset({".gitkeep"})  # git's placeholder for instance/, checked out 0644: holds nothing


class UnsafeFileModes(RuntimeError):
    """Secret files that others than the portal's account may read or write: the portal does not
    start (the message names each file and the chmod to run)."""


def private_umask() -> None:
    os.umask(PRIVATE_UMASK)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a SQLite URI (also `sqlite:///file:…?uri=true`), else None."""
    url = make_url(uri)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    return Path(database)


def key_folder(config: Any, instance: Path) -> Path:
    """Where portal/crypto.py keeps key files and named secrets (crypto.keys_dir without an app
    context)."""
    configured = config.get("FIELD_KEYS_DIR")
    return Path(configured) if configured else instance / "keys"


def secret_files(config: Any, instance: Path) -> list[Path]:
    """Every file whose mode is checked at start: the SQLite database with its -wal, -shm and
    -journal, every file in instance/ (secret_key, demo passwords, anchors, config.py with its
    passwords), every file in the key folder and the audit anchor file wherever it is. A file
    that does not exist is fine."""
    files: list[Path] = []
    database = sqlite_path(config["SQLALCHEMY_DATABASE_URI"])
    if database is not None:
        files += [database] + [Path(f"{database}{s}") for s in ("-wal", "-shm", "-journal")]
    for folder in (instance, key_folder(config, instance)):
        if folder.is_dir():
            files += sorted(p for p in folder.iterdir() if p.is_file() and p.name not in EMPTY)
    if config.get("AUDIT_ANCHOR_PATH"):  # not secret, but nobody else may write it (H3)
        files.append(Path(config["AUDIT_ANCHOR_PATH"]))
    return list(dict.fromkeys(files))


def _private_folder(folder: Path) -> str | None:
    """Create `folder` 0700, or narrow it to 0700; a problem in words if neither can be done."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = folder.stat().st_mode
    if not mode & OTHERS:
        return None
    try:
        os.chmod(folder, 0o700)
    except OSError:
        return f"  {folder} (mappen, läge {stat.S_IMODE(mode):04o}): kör  chmod 700 {folder}"
    return None


def problems(config: Any, instance: Path) -> list[str]:
    out = []
    for folder in (instance, key_folder(config, instance)):
        if folder == instance or folder.exists():
            problem = _private_folder(folder)
            if problem:
                out.append(problem)
    for path in secret_files(config, instance):
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & OTHERS:
            out.append(f"  {path} (läge {stat.S_IMODE(mode):04o}): kör  chmod 600 {path}")
    return out


def check_private(app: Any) -> None:
    """Refuse to start when a secret file is open to others (see the module's docstring)."""
    found = problems(app.config, Path(app.instance_path))
    if found:
        raise UnsafeFileModes(
            "Skyddsportalen startar inte: de här filerna kan läsas eller ändras av andra än "
            "portalens eget konto. Ta reda på vem som kan ha kopierat dem, och kör sedan:\n"
            + "\n".join(found)
        )
