-- Skyddsportalen on PostgreSQL: two roles (issue 11, H3; SECURITY.md).
--
--   owner     runs the migrations (`flask init-db` with its DATABASE_URL) and so owns every table,
--             trigger and sequence. Only it (or a superuser) can ALTER, DISABLE TRIGGER, DROP.
--   app_role  the portal's own login (gunicorn's DATABASE_URL): reads and writes the tables it
--             needs, and may only SELECT and INSERT on audit_events. It owns nothing, so it can
--             neither change the audit log nor take its append-only triggers away.
--
-- Run as a superuser or as the owner, in the portal's database, after every `flask init-db`
-- (it is idempotent, and it puts back what a new migration's tables need):
--
--   psql -v ON_ERROR_STOP=1 -v app_role=skydd_app -v owner=skydd_owner \
--        -d skydd -f deploy/postgres-roles.sql
--
-- Neither role is a superuser, and app_role is no member of owner. The roles themselves are made
-- once: CREATE ROLE skydd_owner LOGIN; CREATE ROLE skydd_app LOGIN; (passwords or certificates
-- as your pg_hba.conf requires). tests/test_trust_audit.py runs this very file.

-- Nobody else creates objects in the schema (the default before PostgreSQL 15).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app_role";

-- Start from nothing, then grant what the portal does: read and change its own tables ...
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM :"app_role";
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM :"app_role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"app_role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"app_role";

-- ... except the audit log: append and read only (no UPDATE, DELETE, TRUNCATE, TRIGGER) ...
REVOKE ALL ON audit_events FROM :"app_role";
GRANT SELECT, INSERT ON audit_events TO :"app_role";

-- ... and the schema's version, which only the owner's migrations move.
REVOKE ALL ON alembic_version FROM :"app_role";
GRANT SELECT ON alembic_version TO :"app_role";

-- Tables and sequences a later migration makes: the same plain rights from the start. (Run this
-- file again after the migration all the same: that is what re-applies the rules above.)
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app_role";
