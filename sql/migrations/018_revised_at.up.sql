-- environments.revised_at: when the environment's newest revision was made
-- (the clock time of the revision bump, inside the transaction that then
-- commits it). Providers read it with the flag set and measure, per change,
-- the time from it to the announcement (NOTIFY or webhook), to the apply and
-- to the last byte written to streams (waypost_provider_change_stage_seconds,
-- docs/benchmarks.md). A BEFORE UPDATE trigger keeps it, so the revision
-- functions of earlier migrations are not redefined.
ALTER TABLE environments ADD COLUMN revised_at timestamptz NOT NULL DEFAULT clock_timestamp();
COMMENT ON COLUMN environments.revised_at IS
  'Clock time of the newest revision bump (set by a trigger when revision changes); providers time change delivery from it.';

CREATE FUNCTION waypost_environments_revised_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.revised_at := clock_timestamp();
  RETURN NEW;
END $$;
CREATE TRIGGER environments_revised_at BEFORE UPDATE OF revision ON environments
  FOR EACH ROW WHEN (OLD.revision IS DISTINCT FROM NEW.revision) EXECUTE FUNCTION waypost_environments_revised_at();
