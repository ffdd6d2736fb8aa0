-- Safe rollouts (issue 14): the stages of a draft or paused rollout can be
-- edited (PATCH /safe-rollouts/{key}); the edit is logged to the flag-event
-- log as safe_rollout_stages_changed, with the actor and the stages before
-- and after.
--
-- The event-type constraint is recreated with what it holds now (read back
-- from the constraint, in either form PostgreSQL prints it) plus the new
-- type, as migration 016 does.
DO $$
DECLARE
  types text[] := ARRAY['safe_rollout_stages_changed'];
BEGIN
  SELECT types || coalesce(array_agg(DISTINCT m[1]), '{}') INTO types
    FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '([a-z][a-z_]*)', 'g') AS m
   WHERE c.conname = 'flag_events_event_type_check' AND m[1] NOT IN ('event_type', 'text');
  ALTER TABLE flag_events DROP CONSTRAINT flag_events_event_type_check;
  EXECUTE format('ALTER TABLE flag_events ADD CONSTRAINT flag_events_event_type_check CHECK (event_type = ANY (%L::text[]))',
                 (SELECT array_agg(DISTINCT t ORDER BY t) FROM unnest(types) t));
END $$;

CREATE OR REPLACE FUNCTION waypost_log_safe_rollout() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f flags;
  typ text;
BEGIN
  typ := CASE
    WHEN NEW.state = 'running' AND OLD.state = 'draft' THEN 'safe_rollout_started'
    WHEN NEW.state = 'running' AND OLD.state = 'paused' THEN 'safe_rollout_resumed'
    WHEN NEW.state = 'paused' AND OLD.state IS DISTINCT FROM 'paused' THEN 'safe_rollout_paused'
    WHEN NEW.state = 'rolled_back' THEN 'safe_rollout_rolled_back'
    WHEN NEW.state = 'completed' THEN 'safe_rollout_completed'
    WHEN NEW.current_stage <> OLD.current_stage THEN 'safe_rollout_advanced'
    WHEN NEW.stages IS DISTINCT FROM OLD.stages THEN 'safe_rollout_stages_changed'
  END;
  IF typ IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT * INTO f FROM flags WHERE id = NEW.flag_id;
  IF typ = 'safe_rollout_stages_changed' THEN
    INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
    VALUES (NEW.project_id, NEW.environment_id, NEW.flag_id, f.key, typ, waypost_actor(), waypost_actor_source(),
            jsonb_build_object('safe_rollout', OLD.key, 'state', OLD.state, 'stage', OLD.current_stage, 'stages', OLD.stages),
            jsonb_build_object('safe_rollout', NEW.key, 'state', NEW.state, 'stage', NEW.current_stage, 'stages', NEW.stages));
    RETURN NULL;
  END IF;
  INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (NEW.project_id, NEW.environment_id, NEW.flag_id, f.key, typ, waypost_actor(), waypost_actor_source(),
          jsonb_build_object('safe_rollout', OLD.key, 'state', OLD.state, 'stage', OLD.current_stage,
                             'percent', OLD.stages->OLD.current_stage->'percent'),
          jsonb_build_object('safe_rollout', NEW.key, 'state', NEW.state, 'stage', NEW.current_stage,
                             'percent', NEW.stages->NEW.current_stage->'percent', 'reason', NEW.state_reason));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION waypost_log_safe_rollout() IS 'Logs safe_rollout_* flag events when a safe rollout changes state or stage, or its stages are edited.';

DROP TRIGGER safe_rollouts_log ON safe_rollouts;
CREATE TRIGGER safe_rollouts_log AFTER UPDATE ON safe_rollouts
  FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.current_stage IS DISTINCT FROM NEW.current_stage
                     OR OLD.stages IS DISTINCT FROM NEW.stages)
  EXECUTE FUNCTION waypost_log_safe_rollout();
