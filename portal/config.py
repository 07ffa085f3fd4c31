"""Configuration: these defaults, then instance/config.py, then the environment.

Everything a municipality may want to change is data here, never a literal in a view:
distribution lists, districts, person limits, retention periods, e-mail domains. Every key here is
read somewhere (tests/test_config_truth.py); a key in instance/config.py that neither the portal
nor Flask knows is logged as a warning at start (a typo would otherwise be silently without effect).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Config

log = logging.getLogger(__name__)


class Defaults:
    SQLALCHEMY_DATABASE_URI: str | None = None  # set from instance path in load_config
    # hide_parameters: SQL parameters (form content) never appear in an error message or in
    # SQLAlchemy's own log lines, whatever level an operator turns logging up to (SPEC §1.2).
    # On PostgreSQL load_config adds pool_pre_ping: a connection the server dropped (a restart, a
    # failover, an idle timeout) is replaced before a request uses it. A SQLite file cannot drop
    # a connection.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"hide_parameters": True}
    PRODUCTION = False

    # Sessions: HttpOnly, SameSite, Secure in production; idle timeout 15 min, absolute 8 h.
    SESSION_COOKIE_NAME = "skydd_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    IDLE_TIMEOUT = timedelta(minutes=15)
    # The last activity is written into the session (and the cookie sent again) when it moved by at
    # least this much, not on every request: a signed cookie less per request (bench/README.md).
    # The idle timeout then strikes between IDLE_TIMEOUT minus this and IDLE_TIMEOUT after the
    # last request, never later.
    LAST_SEEN_RESOLUTION = timedelta(seconds=60)
    # The cookie's expiry is renewed when the session changes (last_seen above), not on every
    # response; the 8 h and 15 min limits are checked on the server in portal/web.py anyway.
    SESSION_REFRESH_EACH_REQUEST = False

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 6 * 1024 * 1024

    BABEL_DEFAULT_LOCALE = "sv"
    BABEL_DEFAULT_TIMEZONE = "Europe/Stockholm"
    # Source language is Swedish (msgids are the Swedish texts). Another language: add its catalogue
    # under portal/translations and list it here; Accept-Language then picks among these.
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "translations")
    LANGUAGES = ["sv"]

    # The routine's organisation (SPEC §2).
    CITY_DISTRICTS = ["Centrum", "Hisingen", "Nordost", "Sydväst"]
    UNIT_TYPES = {
        "myndighet": "Myndighet",
        "bosam": "BoSam",
        "boende": "Boende (vård- och omsorgsboende, korttid, avlösning)",
        "hemtjanst": "Hemtjänst",
        "trygghetsjouren": "Trygghetsjouren",
        "avgift": "Avgiftshandläggning",
    }
    # Most people with access per case for a unit of each type (§2.1, §6.1, §7.1, §8.1, §9.2, §7.2).
    PERSON_LIMITS = {
        "myndighet": 3,
        "bosam": 2,
        "boende": 2,
        "hemtjanst": 4,
        "trygghetsjouren": 3,
        "avgift": 0,
    }
    JUSTIFICATION_MIN_LENGTH = 20
    DISTRIBUTION_LISTS = {
        "lvs": "ÄVO Myndighet LVS admin sekretessbehörighet",
        "trygghetsjouren": "Trygghetsjouren uppdragsmottagare",
        "fee_handler": "Avgiftshandläggare",
        # Deviation reserve reports go to the managers and planners of the reporter's unit (§4.2;
        # issue 13, part 13-A).
        "unit_managers": "Enhetschef och planerare för enheten",
        # The checklist has no list: its text is pasted into the assignment document (§5.9).
        "assignment_document": "Uppdragsdokument (klistras in)",
        # Issue 13, part 13-B: a hand-over goes to the recipient of its purpose
        # (HANDOVER_RECIPIENTS); tickets go to Intraservice's support (§3.6, §9.2).
        "handover": "Mottagaren av överlämningen",
        "intraservice": "Intraservice support (support.intraservice@intraservice.goteborg.se)",
    }
    # Issue 13, part 13-B (hand-overs, SPEC §3.6): who receives each hand-over message in Treserva,
    # named on top of the message and the PDF (portal/forms/handover.py). Roles, never a unit's
    # name: the residence or home-care unit that took the case is indirect location data (§1.1).
    HANDOVER_RECIPIENTS = {
        "assignment": "Uppdragsmottagare hos utföraren",  # §5.9
        "assignment_updated": "Uppdragsmottagare hos utföraren",  # §5.10, §6.1
        "case_number_to_residence": "Enhetschef på boendet",  # §6.1, §6.2
        "assignment_received": "Ansvarig socialsekreterare",  # §7.2
    }
    # Issue 16, part B (envelopes, portal/forms/envelopes.py): Skatteverket's forwarding address
    # (förmedlingsadress) for letters to a person with protected personal data, printed on the
    # outer envelope and nothing else (§3.1; `001` §3.1, "senast uppdaterad i juni 2021"). One
    # line each; the form's page prefills it and asks the user to check it on skatteverket.se.
    # Set in instance/config.py when Skatteverket changes it (not from the environment: it is
    # the routine's data, not a secret of a deployment).
    FORWARDING_ADDRESS = "Skatteverket\nFörmedlingsuppdrag\nBox 2820\n403 20 Göteborg"
    # Checklist (issue 11, H2): the largest pasted assignment-document text accepted by
    # /forms/checklist/import (§5.12), in UTF-8 bytes; a full checklist's text is some 10 kB.
    CHECKLIST_IMPORT_MAX_BYTES = 64 * 1024
    ALLOWED_EMAIL_DOMAINS = ["goteborg.se"]
    CASE_NUMBER_PATTERN = r"\d{7}"
    POSITIONS = [
        "enhetschef",
        "förste socialsekreterare",
        "socialsekreterare",
        "planerare",
        "boendesekreterare",
        "uppdragsmottagare",
        "samordnare",
        "undersköterska",
    ]
    REMINDER_DAYS = 30  # grants and local protections ending within this many days are highlighted
    MAX_PERSON_ROWS = 10
    # Access order (issue 11, M1/M2 part): a username is a city account's name, ASCII only, so
    # that a look-alike letter (fullwidth, Cyrillic) cannot slip past the fee-handler lookup or
    # count one person as two (rules.check_username).
    USERNAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"

    # Field encryption (portal/crypto.py): "kid1:base64key,kid2:base64key", first = current; when
    # unset, key files in FIELD_KEYS_DIR (default instance/keys/, mode 0600) made on first use.
    # These are key-encryption keys: each record has its own data key, wrapped by them (issue 11
    # H4). PRODUCTION=1 refuses key files inside instance/ (beside the database): set FIELD_KEYS,
    # or FIELD_KEYS_DIR to a folder outside instance/ (load_config below).
    FIELD_KEYS: str | None = None
    FIELD_KEYS_DIR: str | None = None

    # Retention (SPEC §3; issue 3 applies these).
    RETENTION_ACTUALISATION_DAYS = 30
    RETENTION_DAY_NOTES_MONTHS = 2
    DEVIATION_FLAG_DAYS = 7
    # Deviation retention (issue 11): a reserve report nobody registered in Treserva loses its
    # content after this many days (a tombstone stays); its unit's managers see it flagged, with
    # the date, from DEVIATION_FLAG_DAYS on (SPEC §3.4).
    DEVIATION_RETENTION_DAYS = 30
    # Day notes not compiled into the journal after this many days are flagged (§8.6: weekly).
    DAY_NOTES_COMPILE_DAYS = 7
    # Issue 13, part 13-C (day notes, SPEC §3.5): the routine has staff write day notes by hand
    # (§7.1), so the portal offers paper sheets only (blank, or prefilled with a fictional file's
    # fictional name) unless the routine owner has decided on digital notes. Uncompiled notes are
    # shown to the unit's managers and planners from DAY_NOTES_WARN_DAYS on, with the date they
    # will be purged (RETENTION_DAY_NOTES_MONTHS).
    DAY_NOTES_DIGITAL = False
    DAY_NOTES_WARN_DAYS = 42
    # Deviation categories (§4.2; spec §3.4): code -> Swedish label.
    DEVIATION_CATEGORIES = {
        "fall": "Fall",
        "lakemedel": "Läkemedel",
        "utebliven_insats": "Utebliven insats",
        "informationssakerhet": "Informationssäkerhet/röjande av skyddade uppgifter",
        "annat": "Annat",
    }
    PURGE_INTERVAL_SECONDS = 3600  # the server applies every retention rule this often (0: never)

    # Audit log (issue 11, H3; portal/audit.py). The chain's HMAC key: AUDIT_KEY (base64, 32
    # bytes; production sets it from the environment, kept with the other secrets, never in the
    # database) or else the file audit.secret in the key folder (FIELD_KEYS_DIR), made on a fresh
    # install. The committed head (seq, MAC, time) is appended outside the database every
    # AUDIT_ANCHOR_EVERY events and every AUDIT_ANCHOR_SECONDS (0: never) by the server: to
    # AUDIT_ANCHOR_PATH (default instance/audit-anchors.log; O_APPEND, 0600, never rotate it) and,
    # when set, to syslog AUDIT_ANCHOR_SYSLOG ("/dev/log", "host:port" over UDP, or "1").
    AUDIT_KEY: str | None = None
    AUDIT_ANCHOR_EVERY = 100
    AUDIT_ANCHOR_SECONDS = 300
    AUDIT_ANCHOR_PATH: str | None = None
    AUDIT_ANCHOR_SYSLOG: str | None = None

    # Login throttling (issue 11, M6 and L1). The limiter's store: memory:// counts per process,
    # so production with more than one worker sets a shared store (redis://host:6379/0) in the
    # environment; PRODUCTION=1 refuses memory:// then (portal/__init__.py).
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Failed logins only (a successful one does not count), per client address.
    LOGIN_RATE_PER_ADDRESS = "20 per 10 minutes"
    # Proxies in front of the portal that append to X-Forwarded-For (the load balancer: 1). 0
    # ignores the header: then every user behind the balancer shares its address.
    PROXY_FIX_X_FOR = 0
    # Per account AND source address (table login_throttle): after LOGIN_MAX_FAILURES failures
    # from one address for one username, that address waits LOGIN_LOCKOUT, then twice as long
    # after each further failure, at most LOGIN_LOCKOUT_MAX. Other addresses are not affected, so
    # nobody can lock another person out. Failures older than LOGIN_THROTTLE_FORGET are forgotten.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT = timedelta(minutes=1)
    LOGIN_LOCKOUT_MAX = timedelta(hours=1)
    LOGIN_THROTTLE_FORGET = timedelta(days=1)

    PASSWORD_MIN_LENGTH = 12
    # Re-authentication (ASVS V3.7.1): LVS re-enters the password before reading an encrypted
    # form's content (the personnummer) when it last authenticated longer ago than this.
    REAUTH_MINUTES = 5

    # Issue 14, part D (context where a decision is made). Whom a user is told to contact: on the
    # login page (the wait after failed logins) and on the deviation report of a unit without a
    # manager or planner in the portal. Plain Swedish text, shown as it is.
    SUPPORT_CONTACT = "IT-support eller systemförvaltaren"
    # LVS's list of what it handled (GET /lvs/handled): how many days back, and rows per page.
    LVS_HANDLED_DAYS = 30
    LVS_HANDLED_PAGE = 50

    # Issue 14, part U (the audit log page, GET /audit; portal/audit_trail.py). An admin's page
    # checks the newest AUDIT_PAGE_VERIFY_NEWEST events of the chain on every request (0: the
    # whole chain; linear in what it checks: 0.25 ms an event on the 2-core build machine under
    # load 15, 4.9 s for 20,000; far less when idle): the whole chain is
    # `flask audit-verify`'s daily run (SECURITY.md). GET /audit.csv holds at most
    # AUDIT_EXPORT_MAX_ROWS rows; a larger extract is refused with the advice to narrow it.
    AUDIT_PAGE_VERIFY_NEWEST = 20_000
    AUDIT_EXPORT_MAX_ROWS = 100_000

    # Issue 15, part O (sign-in with the city account, OpenID Connect; portal/sso.py). On when
    # OIDC_ISSUER (its discovery document is read from it), OIDC_CLIENT_ID and OIDC_CLIENT_SECRET
    # are set. The staden-konto name is OIDC_USERNAME_CLAIM's part before '@'. Roles come from the
    # portal (an admin) unless OIDC_ROLE_CLAIM and OIDC_ROLE_MAP (the claim's value, e.g. a group,
    # -> a role of models.ROLES) are both set: then they are re-read at every sign-in. In the
    # environment OIDC_ROLE_MAP is JSON. OIDC_LEEWAY_SECONDS: the clock difference allowed when
    # the ID token's times are checked. LOCAL_LOGIN off (production): local passwords sign in
    # admins' break-glass accounts only.
    OIDC_ISSUER: str | None = None
    OIDC_CLIENT_ID: str | None = None
    OIDC_CLIENT_SECRET: str | None = None
    OIDC_USERNAME_CLAIM = "preferred_username"
    OIDC_ROLE_CLAIM: str | None = None
    OIDC_ROLE_MAP: dict[str, str] = {}
    OIDC_LEEWAY_SECONDS = 60
    OIDC_TIMEOUT_SECONDS = 10  # each request to the provider (discovery, keys, token)
    LOCAL_LOGIN = True

    # Issue 15, part N (notices by e-mail; portal/notices.py). Someone with something waiting (LVS's
    # queue; a unit's ending grants, uncompiled day notes, unregistered deviation reports; a user
    # waiting for roles) gets at most one e-mail a day per kind, fixed words and PUBLIC_URL only.
    # Off while SMTP_HOST is unset. STARTTLS is verified against the system's trust store and
    # never falls back to plain text; SMTP_USERNAME/SMTP_PASSWORD need it on. The scheduler looks
    # for what is due every NOTICE_INTERVAL_SECONDS (0: never; `flask notices` runs it by hand).
    SMTP_HOST: str | None = None
    SMTP_PORT = 587
    SMTP_STARTTLS = True
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_SENDER: str | None = None  # e.g. "skyddsportalen-noreply@goteborg.se"
    SMTP_TIMEOUT = 10.0  # seconds per SMTP round trip
    PUBLIC_URL: str | None = None  # the portal's address as users open it, e.g. "https://…/"
    NOTICE_INTERVAL_SECONDS = 3600
    NOTICE_EARLIEST_HOUR = 7  # Swedish time: the scheduler sends none before (the command may)

    # Issue 15, part I (several instances; portal/scheduler.py, deploy/). The scheduled jobs run
    # once per interval across every process that schedules them: the server's workers (unless
    # SCHEDULER_IN_SERVER is off, as where the scheduler unit runs them: deploy/) and
    # `flask scheduler`. Each looks whether a job is due every SCHEDULER_TICK_SECONDS.
    SCHEDULER_IN_SERVER = True
    SCHEDULER_TICK_SECONDS = 60

    # Issue 16, part D (self-check, §4.1; portal/self_check.py). A unit manager's start page
    # reminds them of the self-check of the unit's access when the last one is this many calendar
    # months old (Swedish dates), or when there is none.
    SELF_CHECK_MONTHS = 6


def _secret_key(instance: Path) -> str:
    """The key from the environment, else one made once and kept in instance/ (mode 0600)."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


ENV_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "PRODUCTION",
    "SESSION_COOKIE_SECURE",
    "FIELD_KEYS",
    "FIELD_KEYS_DIR",
    # Audit log (issue 11, H3): its key and where its anchors go.
    "AUDIT_KEY",
    "AUDIT_ANCHOR_PATH",
    "AUDIT_ANCHOR_SYSLOG",
    # Login throttling (issue 11, M6): the limiter's shared store and the proxy hop count.
    "RATELIMIT_STORAGE_URI",
    "PROXY_FIX_X_FOR",
    # Sign-in with the city account (issue 15, part O).
    "OIDC_ISSUER",
    "OIDC_CLIENT_ID",
    "OIDC_CLIENT_SECRET",
    "OIDC_USERNAME_CLAIM",
    "OIDC_ROLE_CLAIM",
    "OIDC_ROLE_MAP",
    "LOCAL_LOGIN",
    # Notices by e-mail (issue 15, part N): the SMTP server and the portal's address.
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_STARTTLS",
    "SMTP_USERNAME",
    "SMTP_PASSWORD",
    "SMTP_SENDER",
    "SMTP_TIMEOUT",
    "PUBLIC_URL",
    # Several instances (issue 15, part I): whether the server's workers run the scheduled jobs.
    "SCHEDULER_IN_SERVER",
    # The self-check reminder's period (issue 16, part D).
    "SELF_CHECK_MONTHS",
)


def load_config(app: Any, overrides: dict[str, Any] | None = None) -> None:
    """Defaults -> instance/config.py -> environment -> overrides (tests)."""
    instance = Path(app.instance_path)
    app.config.from_object(Defaults)
    settings = Config(app.root_path)
    settings.from_pyfile(str(instance / "config.py"), silent=True)
    warn_unknown(settings, known=set(app.config))
    app.config.update(settings)
    for key in ENV_KEYS:
        value = os.environ.get(key)
        if value is None:
            continue
        if key in ("PRODUCTION", "SESSION_COOKIE_SECURE", "LOCAL_LOGIN"):
            app.config[key] = value.lower() in ("1", "true", "yes")
        elif key in ("PROXY_FIX_X_FOR", "SELF_CHECK_MONTHS"):
            app.config[key] = int(value)
        elif key == "SCHEDULER_IN_SERVER":
            app.config[key] = value.lower() in ("1", "true", "yes")
        elif key == "OIDC_ROLE_MAP":  # JSON: {"<claim value>": "<role>", …}; empty: none
            try:
                app.config[key] = json.loads(value) if value.strip() else {}
            except ValueError as exc:
                raise RuntimeError(f"OIDC_ROLE_MAP is not JSON: {exc}") from exc
            if not isinstance(app.config[key], dict):
                raise RuntimeError("OIDC_ROLE_MAP must be a JSON object")
        elif key == "DATABASE_URL":
            app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(value)
        else:
            app.config[key] = value
    if overrides:
        app.config.update(overrides)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        instance.mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'portal.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A new dict: Defaults' own is shared by every app of the process.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True, **app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        }
    if app.config["PRODUCTION"]:
        app.config["SESSION_COOKIE_SECURE"] = True
        if not app.config.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production")
        _keys_outside_instance(app.config, instance)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(instance)


# Settings of the extensions the portal uses (Flask-SQLAlchemy, Flask-WTF, Flask-Babel,
# Flask-Limiter, Flask-Login's remember cookie): instance/config.py may set theirs, unlisted here.
EXTENSION_PREFIXES = ("SQLALCHEMY_", "WTF_", "BABEL_", "RATELIMIT_", "REMEMBER_COOKIE_")


def warn_unknown(settings: Any, known: set[str]) -> None:
    """Log a warning for each key of instance/config.py that is neither the portal's (Defaults)
    nor Flask's nor an extension's: nothing reads it, so a typo (PERSON_LIMIT for PERSON_LIMITS)
    would leave the default in force without a word. The portal starts anyway."""
    unknown = (k for k in settings if k not in known and not k.startswith(EXTENSION_PREFIXES))
    for key in sorted(unknown):
        close = difflib.get_close_matches(key, sorted(known), n=1)
        log.warning(
            "instance/config.py sets %s, which is no setting of the portal: it has no effect%s",
            key,
            f" (did you mean {close[0]}?)" if close else "",
        )


def _keys_outside_instance(config: Any, instance: Path) -> None:
    """Issue 11 H4: whoever has instance/ (the SQLite database, a copy of the folder) must not
    have the key-encryption keys too. In production they come from FIELD_KEYS, or from key files
    in FIELD_KEYS_DIR outside instance/; the default instance/keys is refused."""
    directory = config.get("FIELD_KEYS_DIR")
    if not directory:
        if config.get("FIELD_KEYS"):
            # The audit chain's key (crypto.named_secret) would otherwise be a file in
            # instance/keys: whoever has the database and instance/ could re-key the chain.
            if not config.get("AUDIT_KEY"):
                raise RuntimeError(
                    "PRODUCTION=1 with FIELD_KEYS: set AUDIT_KEY too (base64, 32 bytes, from the "
                    "secret store), or FIELD_KEYS_DIR outside instance/ for its file"
                )
            return
        raise RuntimeError(
            "PRODUCTION=1: set FIELD_KEYS (from a secret store) or FIELD_KEYS_DIR (a folder "
            "outside instance/); the field keys must not lie beside the database in instance/keys"
        )
    keys = Path(directory).expanduser().resolve()
    if keys == instance.resolve() or keys.is_relative_to(instance.resolve()):
        raise RuntimeError(
            f"PRODUCTION=1: FIELD_KEYS_DIR ({keys}) is inside instance/; put the field keys in a "
            "folder outside it, or give them in FIELD_KEYS"
        )


def _normalise_db_url(url: str) -> str:
    """Accept postgres:// and postgresql:// and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
