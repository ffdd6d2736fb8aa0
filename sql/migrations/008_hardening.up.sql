-- Hardening (issue 10).
--
-- 1. No-op updates change nothing. The row triggers of 002 already skip
--    rows whose values did not change (WHEN (OLD IS DISTINCT FROM NEW)), but
--    the statement-level revision triggers bumped the revision (and
--    NOTIFYed every provider) for any UPDATE statement, even one that wrote
--    the same values. The UPDATE revision triggers of flags, flag_states and
--    custom_assignments now see both transition tables and bump only the
--    environments whose rows really changed. The functions of 002
--    (waypost_bump_from_env_rows, waypost_bump_from_flag_rows) are kept
--    unchanged for the INSERT and DELETE triggers; two new functions serve
--    the UPDATE triggers.
--
-- 2. The built-in events store's reader logs in as itself. Metric SQL on
--    the built-in store used to run after SET LOCAL ROLE waypost_events_reader
--    on Waypost's own connection, which the query could undo
--    (set_config('role', 'none', true) inside query_to_xml). The role now
--    has LOGIN and Waypost opens a separate connection as that role, so
--    there is no more privileged role to return to. The role may read
--    events_exposures and events_metric and nothing else; EXECUTE on the
--    server-file, large-object and dblink functions is revoked from PUBLIC
--    in this database (Waypost uses none of them).

CREATE FUNCTION waypost_bump_from_env_updates() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Rows of changed_rows with no identical row in old_rows are real changes.
  PERFORM waypost_bump_revisions((
    SELECT array_agg(DISTINCT d.environment_id)
      FROM (SELECT * FROM changed_rows EXCEPT ALL SELECT * FROM old_rows) d));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION waypost_bump_from_env_updates() IS
  'UPDATE statement trigger of tables with an environment_id: bumps the revision of environments whose rows changed value (a no-op UPDATE bumps nothing).';

CREATE FUNCTION waypost_bump_from_flag_updates() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM waypost_bump_revisions((
    SELECT array_agg(e.id) FROM environments e
     WHERE e.project_id IN (SELECT d.project_id
                              FROM (SELECT * FROM changed_rows EXCEPT ALL SELECT * FROM old_rows) d)));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION waypost_bump_from_flag_updates() IS
  'UPDATE statement trigger of flags: bumps the revisions of the project''s environments when a flag row changed value (a no-op UPDATE bumps nothing).';

DROP TRIGGER flags_revision_update ON flags;
CREATE TRIGGER flags_revision_update AFTER UPDATE ON flags
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_flag_updates();

DROP TRIGGER flag_states_revision_update ON flag_states;
CREATE TRIGGER flag_states_revision_update AFTER UPDATE ON flag_states
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_updates();

DROP TRIGGER custom_assignments_revision_update ON custom_assignments;
CREATE TRIGGER custom_assignments_revision_update AFTER UPDATE ON custom_assignments
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_updates();

-- The reader role logs in (Waypost connects as it for built-in store
-- queries; see internal/eventsdb). Skipped with a notice when the migrating
-- user may not alter roles: built-in store queries are then refused.
DO $$
BEGIN
  ALTER ROLE waypost_events_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 64;
  ALTER ROLE waypost_events_reader SET statement_timeout = '60s';
  COMMENT ON ROLE waypost_events_reader IS
    'Waypost: runs metric and exposures SQL on the built-in events store. Reads events_exposures and events_metric only.';
EXCEPTION
  WHEN undefined_object OR insufficient_privilege THEN
    RAISE NOTICE 'waypost: cannot make waypost_events_reader a login role (%); built-in store queries will be refused', SQLERRM;
END $$;

-- Dangerous functions: no EXECUTE for PUBLIC in Waypost's database. Most
-- are superuser-only already; this also covers dblink and the large-object
-- functions when an extension or a grant added them.
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
            WHERE p.proname LIKE 'dblink%'
               OR p.proname IN ('lo_import', 'lo_export', 'lo_get', 'lo_put', 'lo_from_bytea', 'lo_open', 'lo_creat', 'lo_create', 'lo_unlink',
                                'pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_file_write')
  LOOP
    BEGIN
      EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'waypost: cannot revoke EXECUTE on % (%)', f, SQLERRM;
    END;
  END LOOP;
END $$;
