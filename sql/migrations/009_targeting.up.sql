-- Targeting (issue 11): rules and prerequisites per flag and environment,
-- segments per project and environment, experiment audiences and layers.
-- The JSON shapes are the wire format of docs/evaluation.md; the manager
-- validates them (sdk/eval's compiler, on the whole environment) before
-- saving. Triggers log every change with before/after and bump the
-- environment revision, so psql edits reach providers too.

ALTER TABLE flag_states
  ADD COLUMN rules jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rules) = 'array'),
  ADD COLUMN prerequisites jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(prerequisites) = 'array');
COMMENT ON COLUMN flag_states.rules IS
  'Ordered targeting rules [{"id","clauses":[{"attribute","op","values","negate"}],"variant"|"rollout","bucketBy"}]; the first match decides (docs/evaluation.md).';
COMMENT ON COLUMN flag_states.prerequisites IS
  'Prerequisite flags [{"flag","variants"}]: unless each serves one of its variants, the off variant is served. Cycles are refused at save.';

CREATE TABLE segments (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id      bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  environment_id  bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  key             text NOT NULL CHECK (waypost_valid_key(key)),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description     text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
  included        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(included) <= 200000),
  excluded        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(excluded) <= 200000),
  rules           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(rules) = 'array'),
  version         bigint NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (environment_id, key)
);
COMMENT ON TABLE segments IS
  'Reusable sets of contexts per project and environment: excluded ids never belong, included ids always do, then any rule matches. Shipped once per environment in the flag set.';
COMMENT ON COLUMN segments.included IS 'Targeting keys that always belong (unless excluded).';
COMMENT ON COLUMN segments.excluded IS 'Targeting keys that never belong; exclusion wins over inclusion.';
COMMENT ON COLUMN segments.rules IS 'Rules [{"id","clauses"}] (no variant, no in_segment); a context belongs when any matches.';
CREATE INDEX segments_project_idx ON segments (project_id);

CREATE TRIGGER segments_before_update BEFORE UPDATE ON segments
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_bump_version();

-- Experiments: an audience (clauses, may use in_segment) and an optional
-- layer slice [layer_start, layer_end) of a layer-wide bucket range.
ALTER TABLE experiments
  ADD COLUMN audience jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(audience) = 'array'),
  ADD COLUMN layer_key text CHECK (layer_key IS NULL OR waypost_valid_key(layer_key)),
  ADD COLUMN layer_start integer,
  ADD COLUMN layer_end integer,
  ADD CONSTRAINT experiments_layer_range CHECK (
    (layer_key IS NULL AND layer_start IS NULL AND layer_end IS NULL) OR
    (layer_key IS NOT NULL AND layer_start >= 0 AND layer_end <= 10000 AND layer_start < layer_end));
COMMENT ON COLUMN experiments.audience IS 'Clauses (AND) a context must match to enter the experiment; [] lets everybody in.';
COMMENT ON COLUMN experiments.layer_key IS 'Experiments of one layer are mutually exclusive: each owns [layer_start, layer_end) of the layer''s buckets.';

-- ---------------------------------------------------------------------------
-- Flag-event log
-- ---------------------------------------------------------------------------

ALTER TABLE flag_events DROP CONSTRAINT flag_events_event_type_check;
ALTER TABLE flag_events ADD CONSTRAINT flag_events_event_type_check CHECK (event_type IN (
  'flag_created', 'flag_updated', 'flag_archived', 'flag_restored',
  'flag_toggled', 'rollout_changed', 'off_variant_changed',
  'assignment_added', 'assignment_changed', 'assignment_removed',
  'experiment_started', 'experiment_stopped',
  'rules_changed', 'prerequisites_changed',
  'segment_created', 'segment_updated', 'segment_deleted'));

CREATE FUNCTION waypost_log_targeting_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f flags;
BEGIN
  SELECT * INTO f FROM flags WHERE id = NEW.flag_id;
  IF OLD.rules IS DISTINCT FROM NEW.rules THEN
    INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
    VALUES (f.project_id, NEW.environment_id, f.id, f.key, 'rules_changed', waypost_actor(), waypost_actor_source(),
            jsonb_build_object('rules', OLD.rules, 'version', OLD.version),
            jsonb_build_object('rules', NEW.rules, 'version', NEW.version));
  END IF;
  IF OLD.prerequisites IS DISTINCT FROM NEW.prerequisites THEN
    INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
    VALUES (f.project_id, NEW.environment_id, f.id, f.key, 'prerequisites_changed', waypost_actor(), waypost_actor_source(),
            jsonb_build_object('prerequisites', OLD.prerequisites, 'version', OLD.version),
            jsonb_build_object('prerequisites', NEW.prerequisites, 'version', NEW.version));
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION waypost_log_targeting_change() IS
  'Logs rules_changed / prerequisites_changed with before/after; a separate trigger so waypost_log_state_change stays as it is.';
CREATE TRIGGER flag_states_log_targeting AFTER UPDATE ON flag_states
  FOR EACH ROW WHEN (OLD.rules IS DISTINCT FROM NEW.rules OR OLD.prerequisites IS DISTINCT FROM NEW.prerequisites)
  EXECUTE FUNCTION waypost_log_targeting_change();

CREATE FUNCTION waypost_segment_json(s segments) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('segment', s.key, 'name', s.name, 'description', s.description,
       'included', to_jsonb(s.included), 'excluded', to_jsonb(s.excluded), 'rules', s.rules, 'version', s.version) $$;

-- Segment changes go to the flag-event log with flag_id NULL and flag_key
-- '' (the segment key is in before/after under "segment").
CREATE FUNCTION waypost_log_segment_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r segments;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM environments WHERE id = r.environment_id) THEN
    RETURN NULL; -- the environment itself is being deleted
  END IF;
  INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (r.project_id, r.environment_id, NULL, '',
          CASE TG_OP WHEN 'INSERT' THEN 'segment_created' WHEN 'UPDATE' THEN 'segment_updated' ELSE 'segment_deleted' END,
          waypost_actor(), waypost_actor_source(),
          CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE waypost_segment_json(OLD) END,
          CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE waypost_segment_json(NEW) END);
  RETURN NULL;
END $$;
CREATE TRIGGER segments_log_insert AFTER INSERT ON segments
  FOR EACH ROW EXECUTE FUNCTION waypost_log_segment_change();
CREATE TRIGGER segments_log_update AFTER UPDATE ON segments
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_log_segment_change();
CREATE TRIGGER segments_log_delete AFTER DELETE ON segments
  FOR EACH ROW EXECUTE FUNCTION waypost_log_segment_change();

-- Segments are part of the served flag set: every change bumps the revision.
CREATE TRIGGER segments_revision_insert AFTER INSERT ON segments
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();
CREATE TRIGGER segments_revision_update AFTER UPDATE ON segments
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();
CREATE TRIGGER segments_revision_delete AFTER DELETE ON segments
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();

-- A running experiment's audience or layer is part of the served flag set.
CREATE FUNCTION waypost_experiments_targeting_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'running' THEN
    PERFORM waypost_bump_revisions(ARRAY[NEW.environment_id]);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER experiments_targeting_change AFTER UPDATE ON experiments
  FOR EACH ROW WHEN (OLD.audience IS DISTINCT FROM NEW.audience OR OLD.layer_key IS DISTINCT FROM NEW.layer_key
                     OR OLD.layer_start IS DISTINCT FROM NEW.layer_start OR OLD.layer_end IS DISTINCT FROM NEW.layer_end)
  EXECUTE FUNCTION waypost_experiments_targeting_change();
