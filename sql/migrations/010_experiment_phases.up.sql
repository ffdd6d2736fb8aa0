-- Experiment phases: a running experiment cannot be silently broken.
--
-- An experiment runs in phases; each phase fixes the split (weights), the
-- traffic and its start/end. The experiments row keeps the plan of the
-- current (latest) phase. The database itself guards a running
-- experiment, so a psql edit is held to the same rules as the API:
--   * changing the flag's rollout (or salt) in the experiment's
--     environment is refused with SQLSTATE WPX01 (experiment_running)
--     unless the current phase already has those weights (the API's
--     "confirmed" path ends the phase and opens a new one first);
--   * archiving a flag with a running experiment is refused (WPX01);
--   * the kill switch (enabled true -> false) is always allowed and marks
--     the current phase interrupted, with who and when.
-- Phase changes and interruptions are written to the flag-event log.

CREATE TABLE experiment_phases (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  experiment_id  bigint NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  number         integer NOT NULL CHECK (number >= 1),
  weights        jsonb NOT NULL CHECK (waypost_valid_rollout(weights)),
  traffic_bp     integer NOT NULL CHECK (traffic_bp BETWEEN 1 AND 10000),
  started_at     timestamptz NOT NULL DEFAULT now(),
  started_by     text NOT NULL DEFAULT waypost_actor(),
  ended_at       timestamptz,
  ended_by       text,
  end_reason     text CHECK (end_reason IN ('new_phase', 'stopped', 'shipped')),
  interrupted_at timestamptz,
  interrupted_by text,
  UNIQUE (experiment_id, number),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
  CHECK ((interrupted_at IS NULL) = (interrupted_by IS NULL))
);
COMMENT ON TABLE experiment_phases IS 'The phases of an experiment: each fixes weights and traffic between started_at and ended_at. Results are computed per phase (the latest by default).';
COMMENT ON COLUMN experiment_phases.number IS '1 for the first phase; a confirmed rollout/traffic change or a restart opens the next.';
COMMENT ON COLUMN experiment_phases.weights IS 'The split in basis points, in the flag''s variant order; equals the flag''s rollout while the phase is open.';
COMMENT ON COLUMN experiment_phases.end_reason IS 'new_phase (plan changed while running), stopped (rollout restored) or shipped (a variant served to everyone).';
COMMENT ON COLUMN experiment_phases.interrupted_at IS 'When the kill switch turned the flag off during this phase (the first time); its users then got the off variant.';
CREATE UNIQUE INDEX experiment_phases_one_open ON experiment_phases (experiment_id) WHERE ended_at IS NULL;
COMMENT ON INDEX experiment_phases_one_open IS 'At most one open phase per experiment.';

-- Experiments started before phases existed get phase 1.
INSERT INTO experiment_phases (experiment_id, number, weights, traffic_bp, started_at, started_by, ended_at, ended_by, end_reason)
SELECT x.id, 1, coalesce(s.rollout, x.weights), x.traffic_bp, x.started_at, 'migration', x.stopped_at,
       CASE WHEN x.stopped_at IS NOT NULL THEN 'migration' END,
       CASE WHEN x.stopped_at IS NULL THEN NULL WHEN x.shipped_variant IS NULL THEN 'stopped' ELSE 'shipped' END
  FROM experiments x LEFT JOIN flag_states s ON s.flag_id = x.flag_id AND s.environment_id = x.environment_id AND x.status = 'running'
 WHERE x.started_at IS NOT NULL;

-- New event types, added to whatever list earlier migrations left (so
-- this migration composes with others that extend the list too).
DO $$
DECLARE
  types text[];
BEGIN
  SELECT array_agg(DISTINCT m[1]) INTO types
    FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
   WHERE c.conname = 'flag_events_event_type_check';
  types := types || ARRAY['experiment_phase_changed', 'experiment_interrupted'];
  ALTER TABLE flag_events DROP CONSTRAINT flag_events_event_type_check;
  EXECUTE format('ALTER TABLE flag_events ADD CONSTRAINT flag_events_event_type_check CHECK (event_type = ANY (%L::text[]))',
                 (SELECT array_agg(DISTINCT t) FROM unnest(types) t));
END $$;

-- The running experiment of a flag in an environment, with its open phase.
CREATE VIEW experiment_current_phases AS
SELECT x.id AS experiment_id, x.key AS experiment_key, x.flag_id, x.environment_id, x.status,
       ph.id AS phase_id, ph.number, ph.weights, ph.traffic_bp, ph.started_at, ph.interrupted_at, ph.interrupted_by
  FROM experiments x JOIN experiment_phases ph ON ph.experiment_id = x.id AND ph.ended_at IS NULL
 WHERE x.status = 'running';
COMMENT ON VIEW experiment_current_phases IS 'Running experiments with their open phase (one row per flag and environment at most).';

CREATE FUNCTION waypost_guard_running_experiment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  cur experiment_current_phases;
BEGIN
  SELECT * INTO cur FROM experiment_current_phases
   WHERE flag_id = NEW.flag_id AND environment_id = NEW.environment_id;
  IF NOT FOUND THEN
    RETURN NEW;
  END IF;
  IF NEW.salt IS DISTINCT FROM OLD.salt OR (NEW.rollout IS DISTINCT FROM OLD.rollout AND NEW.rollout <> cur.weights) THEN
    RAISE EXCEPTION 'experiment "%" is running on this flag in this environment (phase %): changing the rollout would break it; confirm a new phase, or stop the experiment first', cur.experiment_key, cur.number
      USING ERRCODE = 'WPX01', DETAIL = cur.experiment_key;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION waypost_guard_running_experiment() IS 'Refuses (SQLSTATE WPX01) a rollout or salt change that does not match the running experiment''s open phase.';
CREATE TRIGGER flag_states_guard_experiment BEFORE UPDATE ON flag_states
  FOR EACH ROW WHEN (OLD.rollout IS DISTINCT FROM NEW.rollout OR OLD.salt IS DISTINCT FROM NEW.salt)
  EXECUTE FUNCTION waypost_guard_running_experiment();

-- The kill switch interrupts the open phase (the first time only).
CREATE FUNCTION waypost_interrupt_experiment() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  cur experiment_current_phases;
  f flags;
BEGIN
  SELECT * INTO cur FROM experiment_current_phases
   WHERE flag_id = NEW.flag_id AND environment_id = NEW.environment_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT * INTO f FROM flags WHERE id = NEW.flag_id;
  IF cur.interrupted_at IS NULL THEN
    UPDATE experiment_phases SET interrupted_at = now(), interrupted_by = waypost_actor() WHERE id = cur.phase_id;
  END IF;
  INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (f.project_id, NEW.environment_id, f.id, f.key, 'experiment_interrupted', waypost_actor(), waypost_actor_source(),
          jsonb_build_object('experiment', cur.experiment_key, 'phase', cur.number, 'enabled', true),
          jsonb_build_object('experiment', cur.experiment_key, 'phase', cur.number, 'enabled', false));
  RETURN NULL;
END $$;
CREATE TRIGGER flag_states_interrupt_experiment AFTER UPDATE ON flag_states
  FOR EACH ROW WHEN (OLD.enabled AND NOT NEW.enabled) EXECUTE FUNCTION waypost_interrupt_experiment();

CREATE FUNCTION waypost_guard_archive() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  k text;
  e text;
BEGIN
  SELECT x.key, en.key INTO k, e FROM experiments x JOIN environments en ON en.id = x.environment_id
   WHERE x.flag_id = NEW.id AND x.status = 'running' ORDER BY x.id LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'experiment "%" is running on this flag in %: stop it before archiving the flag', k, e
      USING ERRCODE = 'WPX01', DETAIL = k;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER flags_guard_archive BEFORE UPDATE ON flags
  FOR EACH ROW WHEN (OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL) EXECUTE FUNCTION waypost_guard_archive();

-- A new phase after one ended with new_phase is a phase change: logged,
-- and the served flag set's experiment traffic may have changed.
CREATE FUNCTION waypost_log_phase_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  x experiments;
  f flags;
  prev experiment_phases;
BEGIN
  SELECT * INTO prev FROM experiment_phases
   WHERE experiment_id = NEW.experiment_id AND number = NEW.number - 1 AND end_reason = 'new_phase';
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT * INTO x FROM experiments WHERE id = NEW.experiment_id;
  SELECT * INTO f FROM flags WHERE id = x.flag_id;
  INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (x.project_id, x.environment_id, f.id, f.key, 'experiment_phase_changed', waypost_actor(), waypost_actor_source(),
          jsonb_build_object('experiment', x.key, 'phase', prev.number, 'weights', prev.weights, 'traffic', prev.traffic_bp),
          jsonb_build_object('experiment', x.key, 'phase', NEW.number, 'weights', NEW.weights, 'traffic', NEW.traffic_bp));
  PERFORM waypost_bump_revisions(ARRAY[x.environment_id]);
  RETURN NULL;
END $$;
CREATE TRIGGER experiment_phases_log_change AFTER INSERT ON experiment_phases
  FOR EACH ROW EXECUTE FUNCTION waypost_log_phase_change();
