-- Experiment phases record their audience (issue 12): a phase fixes the
-- split, the traffic and who may enter. A running experiment's audience
-- changes only as a new phase (POST .../phases with "audience"): the open
-- phase ends with new_phase and the next one starts with the new audience,
-- which the experiments row (and so the served flag set) takes over in the
-- same transaction.
--
-- Existing phases get the experiment's current audience: until now an
-- audience could change only while the experiment was a draft, so every
-- phase ran with it.

ALTER TABLE experiment_phases ADD COLUMN audience jsonb;
UPDATE experiment_phases ph SET audience = x.audience FROM experiments x WHERE x.id = ph.experiment_id;
ALTER TABLE experiment_phases
  ALTER COLUMN audience SET NOT NULL,
  ADD CONSTRAINT experiment_phases_audience_array CHECK (jsonb_typeof(audience) = 'array');
COMMENT ON COLUMN experiment_phases.audience IS
  'The clauses (AND) a context had to match to enter during this phase ([] lets everybody in); equals the experiment''s audience while the phase is open.';
COMMENT ON TABLE experiment_phases IS
  'The phases of an experiment: each fixes weights, traffic and audience between started_at and ended_at. Results are computed per phase (the latest by default).';
COMMENT ON COLUMN experiment_phases.number IS
  '1 for the first phase; a confirmed rollout, traffic or audience change, or a restart, opens the next.';

-- The phase-change event says what changed, the audience included.
CREATE OR REPLACE FUNCTION waypost_log_phase_change() RETURNS trigger
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
          jsonb_build_object('experiment', x.key, 'phase', prev.number, 'weights', prev.weights, 'traffic', prev.traffic_bp,
                             'audience', prev.audience),
          jsonb_build_object('experiment', x.key, 'phase', NEW.number, 'weights', NEW.weights, 'traffic', NEW.traffic_bp,
                             'audience', NEW.audience));
  PERFORM waypost_bump_revisions(ARRAY[x.environment_id]);
  RETURN NULL;
END $$;
