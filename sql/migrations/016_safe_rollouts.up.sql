-- Safe rollouts (issue 14): ship a new variant of a flag gradually in one
-- environment, watch guardrail metrics with the sequential test, and roll
-- back by itself on a regression.
--
-- A safe rollout is measured by an experiment of its own (same key,
-- experiment_id below): starting the rollout starts that experiment with the
-- control and new variants at the first stage's split, every stage is a
-- phase of it (so exposures, the metric pipeline, the phase guards of
-- migration 010 and the flag-event log all work as for any experiment), a
-- rollback stops it shipping the control variant and completion stops it
-- shipping the new one. The check job (worker) reads the latest phase's
-- results and writes one safe_rollout_decisions row per check; the
-- (rollout_id, check_number) key and the conditional update of the rollout
-- on (state, current_stage, checks) make every transition happen once.

CREATE TABLE safe_rollouts (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id              bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  flag_id                 bigint NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
  environment_id          bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  experiment_id           bigint NOT NULL UNIQUE REFERENCES experiments(id) ON DELETE CASCADE,
  key                     text NOT NULL CHECK (waypost_valid_key(key)),
  name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  control_variant         text NOT NULL,
  new_variant             text NOT NULL,
  stages                  jsonb NOT NULL CHECK (jsonb_typeof(stages) = 'array' AND jsonb_array_length(stages) BETWEEN 1 AND 20),
  guardrails              jsonb NOT NULL CHECK (jsonb_typeof(guardrails) = 'array' AND jsonb_array_length(guardrails) BETWEEN 1 AND 20),
  on_regression           text NOT NULL DEFAULT 'rollback' CHECK (on_regression IN ('rollback', 'pause')),
  check_interval_seconds  integer NOT NULL DEFAULT 900 CHECK (check_interval_seconds BETWEEN 60 AND 86400),
  confidence              double precision NOT NULL DEFAULT 0.95 CHECK (confidence >= 0.5 AND confidence < 1),
  state                   text NOT NULL DEFAULT 'draft'
                          CHECK (state IN ('draft', 'running', 'paused', 'rolled_back', 'completed')),
  current_stage           integer NOT NULL DEFAULT 0 CHECK (current_stage >= 0),
  stage_started_at        timestamptz,
  checks                  integer NOT NULL DEFAULT 0 CHECK (checks >= 0),
  next_check_at           timestamptz,
  state_reason            text NOT NULL DEFAULT '',
  started_at              timestamptz,
  ended_at                timestamptz,
  version                 bigint NOT NULL DEFAULT 1,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, key),
  CHECK (control_variant <> new_variant),
  CHECK (current_stage < jsonb_array_length(stages)),
  CHECK (state = 'draft' OR (started_at IS NOT NULL AND stage_started_at IS NOT NULL)),
  CHECK ((state IN ('rolled_back', 'completed')) = (ended_at IS NOT NULL))
);
COMMENT ON TABLE safe_rollouts IS
  'A gradual rollout of new_variant over control_variant of a flag in one environment, stage by stage, rolled back (or paused) when a guardrail regresses. draft -> running <-> paused -> rolled_back | completed.';
COMMENT ON COLUMN safe_rollouts.experiment_id IS 'The experiment (same key) that measures the rollout: each stage is one of its phases; exposures are reported with the rollout key.';
COMMENT ON COLUMN safe_rollouts.control_variant IS 'What is served now and what a rollback serves to everyone.';
COMMENT ON COLUMN safe_rollouts.new_variant IS 'What is being rolled out; served to stages[current_stage].percent of users, shipped to everyone on completion.';
COMMENT ON COLUMN safe_rollouts.stages IS
  '[{"percent": 0 < p <= 100, strictly increasing, "min_duration_seconds": >= 0, "min_sample": users of the new variant in the stage}]; reaching the last stage (100%) completes the rollout.';
COMMENT ON COLUMN safe_rollouts.guardrails IS
  '[{"metric": metric key, "direction": "higher"|"lower" is better (the metric''s own by default), "threshold": acceptable relative harm >= 0 (0.02 = 2% worse)}]. A guardrail whose sequential interval lies entirely beyond the threshold on the harmful side is a regression.';
COMMENT ON COLUMN safe_rollouts.on_regression IS 'rollback: serve the control variant to everyone at once; pause: keep the current split, stop advancing, notify.';
COMMENT ON COLUMN safe_rollouts.check_interval_seconds IS 'How often the check job refreshes the guardrails of a running rollout.';
COMMENT ON COLUMN safe_rollouts.confidence IS 'Family-wise confidence of the whole rollout; each guardrail of each stage is tested at 1 - (1 - confidence)/(guardrails x tested stages) (Bonferroni).';
COMMENT ON COLUMN safe_rollouts.current_stage IS 'Index into stages of the split served now.';
COMMENT ON COLUMN safe_rollouts.stage_started_at IS 'When the current stage (its experiment phase) began: min_duration_seconds counts from here.';
COMMENT ON COLUMN safe_rollouts.checks IS 'Number of the last check applied; the next check is checks + 1 (its decision row is keyed by it).';
COMMENT ON COLUMN safe_rollouts.next_check_at IS 'When the scheduler enqueues the next check of a running rollout.';
COMMENT ON COLUMN safe_rollouts.state_reason IS 'Why the rollout is in its state (the last decision''s reason).';
CREATE UNIQUE INDEX safe_rollouts_one_active ON safe_rollouts (flag_id, environment_id) WHERE state IN ('running', 'paused');
COMMENT ON INDEX safe_rollouts_one_active IS 'At most one running or paused safe rollout per flag and environment.';
CREATE INDEX safe_rollouts_due ON safe_rollouts (next_check_at) WHERE state = 'running';

CREATE TRIGGER safe_rollouts_before_update BEFORE UPDATE ON safe_rollouts
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_bump_version();

CREATE TABLE safe_rollout_decisions (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  rollout_id    bigint NOT NULL REFERENCES safe_rollouts(id) ON DELETE CASCADE,
  check_number  integer CHECK (check_number >= 1),
  action        text NOT NULL CHECK (action IN ('start', 'hold', 'advance', 'rollback', 'pause', 'resume', 'complete')),
  automatic     boolean NOT NULL,
  from_state    text NOT NULL,
  to_state      text NOT NULL,
  from_stage    integer NOT NULL,
  to_stage      integer NOT NULL,
  reason        text NOT NULL,
  numbers       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(numbers) = 'object'),
  refresh_id    bigint REFERENCES experiment_results(id) ON DELETE SET NULL,
  actor         text NOT NULL DEFAULT waypost_actor(),
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (rollout_id, check_number)
);
COMMENT ON TABLE safe_rollout_decisions IS
  'Every decision about a safe rollout: one row per automatic check (hold, advance, rollback, pause on regression or SRM, complete) and per manual action, with the reason and the numbers it was based on.';
COMMENT ON COLUMN safe_rollout_decisions.check_number IS 'The check that decided (1, 2, ...); NULL for manual actions. Unique per rollout, so a check is applied once however many workers run it.';
COMMENT ON COLUMN safe_rollout_decisions.automatic IS 'true: the check job decided (actor safe-rollout:<key>); false: a person did.';
COMMENT ON COLUMN safe_rollout_decisions.numbers IS 'Per guardrail: effect, sequential interval, threshold, users per arm; the SRM p-value; the stage''s elapsed time and sample.';
COMMENT ON COLUMN safe_rollout_decisions.refresh_id IS 'The results refresh (experiment_results) the check read.';
CREATE INDEX safe_rollout_decisions_rollout_idx ON safe_rollout_decisions (rollout_id, id DESC);

CREATE TABLE notification_webhooks (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id         bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  url                text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
  secret_ciphertext  bytea NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE notification_webhooks IS
  'Outgoing webhooks of a project: safe-rollout notifications (started, advanced, regression, rolled back, paused, completed) are POSTed as Slack-compatible JSON, HMAC-signed like provider webhooks, retried by River.';
COMMENT ON COLUMN notification_webhooks.url IS 'Where notifications are POSTed (a Slack incoming-webhook URL works).';
COMMENT ON COLUMN notification_webhooks.secret_ciphertext IS 'AES-256-GCM (nonce || ciphertext) of the signing secret, key derived from WAYPOST_SECRET_KEY. Never returned by the API.';
CREATE INDEX notification_webhooks_project_idx ON notification_webhooks (project_id);

-- State and stage changes go to the flag-event log (with the actor:
-- safe-rollout:<key> for the check job's decisions). The constraint is
-- recreated with the full list as of this migration, plus whatever types
-- other migrations added (read back from the constraint in either of the
-- forms PostgreSQL prints it: ARRAY['a'::text, ...] or '{a,b}'::text[]),
-- plus the new ones.
DO $$
DECLARE
  types text[] := ARRAY[
    'flag_created', 'flag_updated', 'flag_archived', 'flag_restored',
    'flag_toggled', 'rollout_changed', 'off_variant_changed',
    'assignment_added', 'assignment_changed', 'assignment_removed',
    'experiment_started', 'experiment_stopped',
    'rules_changed', 'prerequisites_changed',
    'segment_created', 'segment_updated', 'segment_deleted',
    'experiment_phase_changed', 'experiment_interrupted',
    'safe_rollout_started', 'safe_rollout_advanced', 'safe_rollout_paused',
    'safe_rollout_resumed', 'safe_rollout_rolled_back', 'safe_rollout_completed'];
BEGIN
  SELECT types || coalesce(array_agg(DISTINCT m[1]), '{}') INTO types
    FROM pg_constraint c, regexp_matches(pg_get_constraintdef(c.oid), '([a-z][a-z_]*)', 'g') AS m
   WHERE c.conname = 'flag_events_event_type_check' AND m[1] NOT IN ('event_type', 'text');
  ALTER TABLE flag_events DROP CONSTRAINT flag_events_event_type_check;
  EXECUTE format('ALTER TABLE flag_events ADD CONSTRAINT flag_events_event_type_check CHECK (event_type = ANY (%L::text[]))',
                 (SELECT array_agg(DISTINCT t ORDER BY t) FROM unnest(types) t));
END $$;

CREATE FUNCTION waypost_log_safe_rollout() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f flags;
  typ text;
BEGIN
  typ := CASE
    WHEN NEW.state = 'running' AND OLD.state = 'draft' THEN 'safe_rollout_started'
    WHEN NEW.state = 'running' AND OLD.state = 'paused' THEN 'safe_rollout_resumed'
    WHEN NEW.state = 'paused' THEN 'safe_rollout_paused'
    WHEN NEW.state = 'rolled_back' THEN 'safe_rollout_rolled_back'
    WHEN NEW.state = 'completed' THEN 'safe_rollout_completed'
    WHEN NEW.current_stage <> OLD.current_stage THEN 'safe_rollout_advanced'
  END;
  IF typ IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT * INTO f FROM flags WHERE id = NEW.flag_id;
  INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (NEW.project_id, NEW.environment_id, NEW.flag_id, f.key, typ, waypost_actor(), waypost_actor_source(),
          jsonb_build_object('safe_rollout', OLD.key, 'state', OLD.state, 'stage', OLD.current_stage,
                             'percent', OLD.stages->OLD.current_stage->'percent'),
          jsonb_build_object('safe_rollout', NEW.key, 'state', NEW.state, 'stage', NEW.current_stage,
                             'percent', NEW.stages->NEW.current_stage->'percent', 'reason', NEW.state_reason));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION waypost_log_safe_rollout() IS 'Logs safe_rollout_* flag events when a safe rollout changes state or stage.';
CREATE TRIGGER safe_rollouts_log AFTER UPDATE ON safe_rollouts
  FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.current_stage IS DISTINCT FROM NEW.current_stage)
  EXECUTE FUNCTION waypost_log_safe_rollout();
