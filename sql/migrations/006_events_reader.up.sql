-- Metric and exposures queries on the built-in events store run as
-- waypost_events_reader (SET LOCAL ROLE inside their READ ONLY
-- transaction): the role may read events_exposures and events_metric and
-- nothing else of Waypost's database, so a metric query (or "test query")
-- cannot read connections, SDK keys or anything else.
--
-- Roles belong to the whole server. When the migrating user may not create
-- roles, this is skipped with a notice and those queries run with
-- Waypost's own privileges (still READ ONLY, with a statement timeout).

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'waypost_events_reader') THEN
    CREATE ROLE waypost_events_reader NOLOGIN;
  END IF;
EXCEPTION
  WHEN duplicate_object OR unique_violation THEN NULL; -- created concurrently
  WHEN insufficient_privilege THEN
    RAISE NOTICE 'waypost: cannot create role waypost_events_reader (%); built-in store queries will run with Waypost''s privileges', SQLERRM;
END $$;

DO $$
BEGIN
  GRANT SELECT ON events_exposures, events_metric TO waypost_events_reader;
  IF NOT pg_has_role(current_user, 'waypost_events_reader', 'MEMBER') THEN
    EXECUTE format('GRANT waypost_events_reader TO %I', current_user);
  END IF;
EXCEPTION
  WHEN undefined_object OR insufficient_privilege OR invalid_grant_operation THEN
    RAISE NOTICE 'waypost: cannot grant waypost_events_reader (%); built-in store queries will run with Waypost''s privileges', SQLERRM;
END $$;
