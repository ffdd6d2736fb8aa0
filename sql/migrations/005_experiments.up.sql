-- Experiments: events connections, metrics, experiments, the daily exposure
-- counts, the history of result refreshes, and the built-in events store
-- (day-partitioned tables the provider writes with COPY).
--
-- Starting and stopping an experiment changes flag_states.rollout in the
-- same transaction, so the existing triggers log the change and bump the
-- revision; a trigger on experiments also logs experiment_started /
-- experiment_stopped and bumps the revision (the served flag set carries
-- "experiment": {key, traffic} while it runs).

-- ---------------------------------------------------------------------------
-- Events connections
-- ---------------------------------------------------------------------------

CREATE TABLE events_connections (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id           bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key                  text NOT NULL CHECK (waypost_valid_key(key)),
  name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind                 text NOT NULL CHECK (kind IN ('builtin', 'postgres')),
  host                 text NOT NULL DEFAULT '',
  port                 integer NOT NULL DEFAULT 5432 CHECK (port BETWEEN 1 AND 65535),
  database             text NOT NULL DEFAULT '',
  "user"               text NOT NULL DEFAULT '',
  password_ciphertext  bytea,
  ssl_mode             text NOT NULL DEFAULT 'prefer'
                       CHECK (ssl_mode IN ('disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full')),
  exposures_query      text NOT NULL CHECK (length(exposures_query) BETWEEN 1 AND 100000),
  statement_timeout_ms integer NOT NULL DEFAULT 60000 CHECK (statement_timeout_ms BETWEEN 100 AND 3600000),
  is_default           boolean NOT NULL DEFAULT false,
  version              bigint NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, key),
  CHECK (kind = 'builtin' OR (host <> '' AND database <> '' AND "user" <> ''))
);
COMMENT ON TABLE events_connections IS 'Where a project''s exposures and metric events live: the built-in store (kind builtin) or the user''s own PostgreSQL. Every query on it runs READ ONLY with statement_timeout_ms.';
COMMENT ON COLUMN events_connections.kind IS 'builtin: Waypost''s own events_exposures/events_metric tables; postgres: an external database.';
COMMENT ON COLUMN events_connections.password_ciphertext IS 'AES-256-GCM (nonce || ciphertext) of the password, key derived from WAYPOST_SECRET_KEY. Never returned by the API.';
COMMENT ON COLUMN events_connections.exposures_query IS 'SELECT returning experiment_key, user_id, variant (text) and "timestamp" (timestamptz), one row per exposure.';
COMMENT ON COLUMN events_connections.statement_timeout_ms IS 'SET LOCAL statement_timeout for every query Waypost runs on this connection.';
COMMENT ON COLUMN events_connections.is_default IS 'The connection new metrics use when none is named; exactly one per project.';
CREATE UNIQUE INDEX events_connections_one_default ON events_connections (project_id) WHERE is_default;
CREATE UNIQUE INDEX events_connections_one_builtin ON events_connections (project_id) WHERE kind = 'builtin';

-- The built-in connection of a project reads the built-in store filtered to
-- the project; it is the default until another connection is made default.
CREATE FUNCTION waypost_builtin_connection(p bigint) RETURNS void
LANGUAGE sql AS $$
  INSERT INTO events_connections (project_id, key, name, kind, exposures_query, is_default)
  VALUES (p, 'builtin', 'Built-in events store', 'builtin',
          'SELECT experiment_key, user_id, variant, "timestamp" FROM events_exposures WHERE project_id = ' || p,
          NOT EXISTS (SELECT 1 FROM events_connections WHERE project_id = p AND is_default))
  ON CONFLICT DO NOTHING
$$;

CREATE FUNCTION waypost_projects_create_connection() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM waypost_builtin_connection(NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER projects_create_connection AFTER INSERT ON projects
  FOR EACH ROW EXECUTE FUNCTION waypost_projects_create_connection();

-- ---------------------------------------------------------------------------
-- Metrics
-- ---------------------------------------------------------------------------

CREATE TABLE metrics (
  id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id              bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  connection_id           bigint NOT NULL REFERENCES events_connections(id),
  key                     text NOT NULL CHECK (waypost_valid_key(key)),
  name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description             text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
  type                    text NOT NULL CHECK (type IN ('binomial', 'count', 'duration', 'revenue')),
  sql                     text NOT NULL CHECK (length(sql) BETWEEN 1 AND 100000),
  conversion_window_hours double precision CHECK (conversion_window_hours > 0),
  direction               text NOT NULL DEFAULT 'higher' CHECK (direction IN ('higher', 'lower')),
  cap_kind                text CHECK (cap_kind IN ('value', 'percentile')),
  cap_value               double precision,
  guardrail               boolean NOT NULL DEFAULT false,
  version                 bigint NOT NULL DEFAULT 1,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, key),
  CHECK ((cap_kind IS NULL) = (cap_value IS NULL)),
  CHECK (cap_kind IS NULL OR type <> 'binomial'),
  CHECK (cap_kind IS DISTINCT FROM 'value' OR cap_value > 0),
  CHECK (cap_kind IS DISTINCT FROM 'percentile' OR (cap_value > 0 AND cap_value < 1))
);
COMMENT ON TABLE metrics IS 'What an experiment measures: a SQL query on an events connection returning user_id, "timestamp" (and value for duration/revenue).';
COMMENT ON COLUMN metrics.type IS 'binomial: converted at least once; count: events per user; duration/revenue: sum of value per user.';
COMMENT ON COLUMN metrics.conversion_window_hours IS 'Events count up to this many hours after a user''s first exposure; NULL: until the analysis end.';
COMMENT ON COLUMN metrics.direction IS 'higher or lower is better.';
COMMENT ON COLUMN metrics.cap_kind IS 'Optional per-user cap: value (absolute, cap_value > 0) or percentile (cap_value in (0,1)).';
COMMENT ON COLUMN metrics.guardrail IS 'A metric that must not get worse; reported separately.';

-- ---------------------------------------------------------------------------
-- Experiments
-- ---------------------------------------------------------------------------

CREATE TABLE experiments (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id           bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  flag_id              bigint NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
  environment_id       bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  connection_id        bigint NOT NULL REFERENCES events_connections(id),
  key                  text NOT NULL CHECK (waypost_valid_key(key)),
  name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  hypothesis           text NOT NULL DEFAULT '' CHECK (length(hypothesis) <= 10000),
  weights              jsonb NOT NULL CHECK (waypost_valid_rollout(weights)),
  traffic_bp           integer NOT NULL CHECK (traffic_bp BETWEEN 1 AND 10000),
  planned_duration_days integer CHECK (planned_duration_days BETWEEN 1 AND 3650),
  planned_sample_size  bigint CHECK (planned_sample_size > 0),
  mde                  double precision CHECK (mde > 0),
  status               text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'stopped')),
  started_at           timestamptz,
  stopped_at           timestamptz,
  shipped_variant      text,
  rollout_before       jsonb,
  version              bigint NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, key),
  CHECK (status = 'draft' OR started_at IS NOT NULL),
  CHECK (status <> 'stopped' OR stopped_at IS NOT NULL),
  CHECK (shipped_variant IS NULL OR status = 'stopped')
);
COMMENT ON TABLE experiments IS 'An A/B test of a flag in one environment. draft -> running -> stopped; starting sets the flag''s rollout to weights, stopping restores it or ships a variant.';
COMMENT ON COLUMN experiments.key IS 'Experiment key, unique per project; SDKs report exposures with it.';
COMMENT ON COLUMN experiments.weights IS 'Intended split [{"variant","weight"}] in basis points; becomes the flag''s rollout while running and is the SRM reference.';
COMMENT ON COLUMN experiments.traffic_bp IS 'Share of users who enter the experiment (basis points); the rest get the off variant and are not exposed.';
COMMENT ON COLUMN experiments.planned_sample_size IS 'Planned users per variant (alternative to planned_duration_days).';
COMMENT ON COLUMN experiments.mde IS 'Minimum detectable effect, relative to the control mean (0.05 = 5%), for the power estimate.';
COMMENT ON COLUMN experiments.rollout_before IS 'The flag''s rollout when the experiment started; restored on stop unless a variant is shipped.';
COMMENT ON COLUMN experiments.shipped_variant IS 'Variant set to 100% when the experiment was stopped, if any.';
CREATE UNIQUE INDEX experiments_one_running ON experiments (flag_id, environment_id) WHERE status = 'running';
COMMENT ON INDEX experiments_one_running IS 'At most one running experiment per flag and environment.';

CREATE TABLE experiment_metrics (
  experiment_id bigint NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  metric_id     bigint NOT NULL REFERENCES metrics(id),
  is_primary    boolean NOT NULL,
  position      integer NOT NULL,
  PRIMARY KEY (experiment_id, metric_id)
);
COMMENT ON TABLE experiment_metrics IS 'Metrics analysed by an experiment: primary ones decide, secondary ones inform.';
CREATE INDEX experiment_metrics_metric_idx ON experiment_metrics (metric_id);

CREATE FUNCTION waypost_experiments_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER experiments_before_update BEFORE UPDATE ON experiments
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_experiments_before_update();
CREATE TRIGGER metrics_before_update BEFORE UPDATE ON metrics
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_experiments_before_update();
CREATE TRIGGER events_connections_before_update BEFORE UPDATE ON events_connections
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_experiments_before_update();

ALTER TABLE flag_events DROP CONSTRAINT flag_events_event_type_check;
ALTER TABLE flag_events ADD CONSTRAINT flag_events_event_type_check CHECK (event_type IN (
  'flag_created', 'flag_updated', 'flag_archived', 'flag_restored',
  'flag_toggled', 'rollout_changed', 'off_variant_changed',
  'assignment_added', 'assignment_changed', 'assignment_removed',
  'experiment_started', 'experiment_stopped'));

-- Status changes are logged and bump the environment's revision, so the
-- served flag set gains or loses "experiment" even when the rollout did
-- not change.
CREATE FUNCTION waypost_experiments_status_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f flags;
BEGIN
  SELECT * INTO f FROM flags WHERE id = NEW.flag_id;
  INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (NEW.project_id, NEW.environment_id, NEW.flag_id, f.key,
          CASE NEW.status WHEN 'running' THEN 'experiment_started' ELSE 'experiment_stopped' END,
          waypost_actor(), waypost_actor_source(),
          jsonb_build_object('experiment', NEW.key, 'status', OLD.status),
          jsonb_build_object('experiment', NEW.key, 'status', NEW.status, 'traffic', NEW.traffic_bp,
                             'weights', NEW.weights, 'shipped_variant', NEW.shipped_variant));
  PERFORM waypost_bump_revisions(ARRAY[NEW.environment_id]);
  RETURN NULL;
END $$;
CREATE TRIGGER experiments_status_change AFTER UPDATE ON experiments
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION waypost_experiments_status_change();

-- ---------------------------------------------------------------------------
-- Exposure counts per day and result history
-- ---------------------------------------------------------------------------

CREATE TABLE exposures_daily (
  experiment_id bigint NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  variant       text NOT NULL,
  day           date NOT NULL,
  new_users     bigint NOT NULL CHECK (new_users >= 0),
  total_users   bigint NOT NULL CHECK (total_users >= 0),
  computed_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, variant, day)
);
COMMENT ON TABLE exposures_daily IS 'Per experiment, variant and UTC day: users first exposed that day (variant of first exposure) and the running total. Upserted by the exposures job.';

CREATE TABLE experiment_results (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  experiment_id bigint NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
  job_id        bigint,
  status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  error_code    text CHECK (error_code IN ('timeout', 'unreachable', 'query_error', 'configuration', 'internal')),
  error         text,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  duration_ms   bigint,
  inputs        jsonb NOT NULL,
  statements    jsonb NOT NULL DEFAULT '[]',
  results       jsonb
);
COMMENT ON TABLE experiment_results IS 'Every result refresh (history kept): inputs, the SQL run, duration, error and, when it succeeded, the results.';
COMMENT ON COLUMN experiment_results.id IS 'The refresh id.';
COMMENT ON COLUMN experiment_results.error_code IS 'timeout (statement timeout), unreachable (events database down), query_error (the database refused the SQL), configuration, internal.';
COMMENT ON COLUMN experiment_results.statements IS 'Per metric: the SQL statement and its bind arguments, and how long it ran.';
COMMENT ON COLUMN experiment_results.results IS 'Per metric: per-variant summaries, comparisons, Holm-adjusted p-values; SRM and power estimate.';
CREATE INDEX experiment_results_experiment_idx ON experiment_results (experiment_id, id DESC);

CREATE VIEW experiment_latest_results AS
SELECT DISTINCT ON (r.experiment_id)
       p.key AS project, x.key AS experiment, x.status AS experiment_status,
       r.id AS refresh_id, r.finished_at, r.duration_ms, r.results
  FROM experiment_results r
  JOIN experiments x ON x.id = r.experiment_id
  JOIN projects p ON p.id = x.project_id
 WHERE r.status = 'succeeded'
 ORDER BY r.experiment_id, r.id DESC;
COMMENT ON VIEW experiment_latest_results IS 'The latest successful refresh of each experiment (a failed refresh keeps the previous results).';

-- ---------------------------------------------------------------------------
-- Built-in events store: day-partitioned, written by providers with COPY
-- ---------------------------------------------------------------------------

CREATE TABLE events_exposures (
  project_id       bigint NOT NULL,
  environment_id   bigint NOT NULL,
  experiment_key   text NOT NULL,
  user_id          text NOT NULL,
  variant          text NOT NULL,
  "timestamp"      timestamptz NOT NULL,
  day              date NOT NULL,
  idempotency_key  text NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (day);
COMMENT ON TABLE events_exposures IS 'Built-in store: exposures sent by SDKs to POST /v1/events; one partition per UTC day (waypost_ensure_events_partition).';
COMMENT ON COLUMN events_exposures.day IS 'UTC day of "timestamp"; the partition key.';
COMMENT ON COLUMN events_exposures.idempotency_key IS 'Chosen by the sender; a retried batch with the same keys is not counted twice.';
CREATE UNIQUE INDEX events_exposures_idempotency ON events_exposures (project_id, idempotency_key, day);
CREATE INDEX events_exposures_experiment_idx ON events_exposures (project_id, experiment_key, user_id);

CREATE TABLE events_metric (
  project_id       bigint NOT NULL,
  environment_id   bigint NOT NULL,
  metric           text NOT NULL,
  experiment_key   text,
  user_id          text NOT NULL,
  value            double precision,
  "timestamp"      timestamptz NOT NULL,
  day              date NOT NULL,
  idempotency_key  text NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (day);
COMMENT ON TABLE events_metric IS 'Built-in store: metric events (conversions, revenue, durations) sent to POST /v1/events; one partition per UTC day.';
COMMENT ON COLUMN events_metric.metric IS 'Metric event name; a metric''s SQL filters on it (WHERE metric = ''purchase'').';
COMMENT ON COLUMN events_metric.value IS 'Numeric value for duration and revenue metrics.';
CREATE UNIQUE INDEX events_metric_idempotency ON events_metric (project_id, idempotency_key, day);
CREATE INDEX events_metric_user_idx ON events_metric (project_id, metric, user_id);

-- Creates the partitions of both tables for day d if they do not exist.
-- Serialised by an advisory lock so concurrent providers cannot race.
CREATE FUNCTION waypost_ensure_events_partition(d date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t text;
  part text;
BEGIN
  FOREACH t IN ARRAY ARRAY['events_exposures', 'events_metric'] LOOP
    part := t || '_' || to_char(d, 'YYYYMMDD');
    IF to_regclass(part) IS NULL THEN
      PERFORM pg_advisory_xact_lock(hashtext('waypost_events_partition'));
      IF to_regclass(part) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, t, d, d + 1);
      END IF;
    END IF;
  END LOOP;
END $$;
COMMENT ON FUNCTION waypost_ensure_events_partition(date) IS 'Creates events_exposures_YYYYMMDD and events_metric_YYYYMMDD for day d if missing.';

-- Existing projects get their built-in connection.
SELECT waypost_builtin_connection(id) FROM projects;
