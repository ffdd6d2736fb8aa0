-- name: ListConnections :many
SELECT * FROM events_connections WHERE project_id = $1 ORDER BY key;

-- name: GetConnection :one
SELECT * FROM events_connections WHERE project_id = $1 AND key = $2;

-- name: GetConnectionByID :one
SELECT * FROM events_connections WHERE id = $1;

-- name: GetDefaultConnection :one
SELECT * FROM events_connections WHERE project_id = $1 AND is_default;

-- name: CreateConnection :one
INSERT INTO events_connections (project_id, key, name, kind, host, port, database, "user",
                                password_ciphertext, ssl_mode, exposures_query, statement_timeout_ms)
VALUES ($1, $2, $3, sqlc.arg(kind), $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING *;

-- name: UpdateConnection :one
UPDATE events_connections
   SET name = $3, host = $4, port = $5, database = $6, "user" = $7,
       password_ciphertext = $8, ssl_mode = $9, exposures_query = $10, statement_timeout_ms = $11,
       kind = CASE WHEN kind = 'builtin' THEN kind ELSE coalesce(sqlc.narg(kind), kind) END
 WHERE project_id = $1 AND key = $2
RETURNING *;

-- name: ClearDefaultConnection :exec
UPDATE events_connections SET is_default = false WHERE project_id = $1 AND is_default;

-- name: SetDefaultConnection :exec
UPDATE events_connections SET is_default = true WHERE id = $1;

-- name: DeleteConnection :execrows
DELETE FROM events_connections WHERE id = $1;

-- name: ConnectionInUse :one
SELECT (EXISTS (SELECT 1 FROM metrics m WHERE m.connection_id = sqlc.arg(id)::bigint)
     OR EXISTS (SELECT 1 FROM experiments x WHERE x.connection_id = sqlc.arg(id)::bigint))::boolean AS in_use;

-- name: ListMetrics :many
SELECT m.*, c.key AS connection_key FROM metrics m JOIN events_connections c ON c.id = m.connection_id
 WHERE m.project_id = $1 ORDER BY m.key;

-- name: GetMetric :one
SELECT m.*, c.key AS connection_key FROM metrics m JOIN events_connections c ON c.id = m.connection_id
 WHERE m.project_id = $1 AND m.key = $2;

-- name: CreateMetric :one
INSERT INTO metrics (project_id, connection_id, key, name, description, type, sql,
                     conversion_window_hours, direction, cap_kind, cap_value, guardrail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id;

-- name: UpdateMetric :execrows
UPDATE metrics SET connection_id = $3, name = $4, description = $5, type = $6, sql = $7,
       conversion_window_hours = $8, direction = $9, cap_kind = $10, cap_value = $11, guardrail = $12
 WHERE project_id = $1 AND key = $2;

-- name: DeleteMetric :execrows
DELETE FROM metrics WHERE id = $1;

-- name: MetricInUse :one
SELECT EXISTS (SELECT 1 FROM experiment_metrics WHERE metric_id = $1)::boolean AS in_use;

-- name: ListExperiments :many
SELECT x.*, f.key AS flag_key, e.key AS environment_key, c.key AS connection_key
  FROM experiments x JOIN flags f ON f.id = x.flag_id JOIN environments e ON e.id = x.environment_id
  JOIN events_connections c ON c.id = x.connection_id
 WHERE x.project_id = $1 ORDER BY x.created_at DESC, x.id DESC;

-- name: GetExperiment :one
SELECT x.*, f.key AS flag_key, e.key AS environment_key, c.key AS connection_key
  FROM experiments x JOIN flags f ON f.id = x.flag_id JOIN environments e ON e.id = x.environment_id
  JOIN events_connections c ON c.id = x.connection_id
 WHERE x.project_id = $1 AND x.key = $2;

-- name: GetExperimentByID :one
SELECT x.*, f.key AS flag_key, e.key AS environment_key, c.key AS connection_key
  FROM experiments x JOIN flags f ON f.id = x.flag_id JOIN environments e ON e.id = x.environment_id
  JOIN events_connections c ON c.id = x.connection_id
 WHERE x.id = $1;

-- name: LockExperiment :one
SELECT id FROM experiments WHERE id = $1 FOR UPDATE;

-- name: CreateExperiment :one
INSERT INTO experiments (project_id, flag_id, environment_id, connection_id, key, name, hypothesis,
                         weights, traffic_bp, planned_duration_days, planned_sample_size, mde)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id;

-- name: UpdateDraftExperiment :execrows
UPDATE experiments SET connection_id = $2, name = $3, hypothesis = $4, weights = $5, traffic_bp = $6,
       planned_duration_days = $7, planned_sample_size = $8, mde = $9
 WHERE id = $1 AND status = 'draft';

-- name: DeleteExperimentMetrics :exec
DELETE FROM experiment_metrics WHERE experiment_id = $1;

-- name: AddExperimentMetric :exec
INSERT INTO experiment_metrics (experiment_id, metric_id, is_primary, position) VALUES ($1, $2, $3, $4);

-- name: ExperimentMetrics :many
SELECT m.*, em.is_primary, c.key AS connection_key
  FROM experiment_metrics em JOIN metrics m ON m.id = em.metric_id
  JOIN events_connections c ON c.id = m.connection_id
 WHERE em.experiment_id = $1 ORDER BY em.position;

-- name: DeleteExperiment :execrows
DELETE FROM experiments WHERE id = $1 AND status <> 'running';

-- name: StartExperiment :exec
-- Also restarts a stopped experiment (a new phase): started_at keeps the first start.
UPDATE experiments SET status = 'running', started_at = coalesce(started_at, now()), stopped_at = NULL,
       shipped_variant = NULL, rollout_before = sqlc.arg(rollout_before)
 WHERE id = $1;

-- name: StopExperiment :exec
UPDATE experiments SET status = 'stopped', stopped_at = now(), shipped_variant = sqlc.narg(shipped_variant)
 WHERE id = $1;

-- name: SetRollout :exec
UPDATE flag_states SET rollout = $3 WHERE flag_id = $1 AND environment_id = $2;

-- name: ExperimentsForExposures :many
-- Running experiments, and stopped ones whose daily counts may be incomplete.
SELECT id FROM experiments
 WHERE status = 'running'
    OR (status = 'stopped' AND stopped_at > now() - interval '2 days')
 ORDER BY id;

-- name: UpsertExposureDay :execrows
INSERT INTO exposures_daily (experiment_id, variant, day, new_users, total_users)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (experiment_id, variant, day) DO UPDATE
   SET new_users = excluded.new_users, total_users = excluded.total_users, computed_at = now()
 WHERE (exposures_daily.new_users, exposures_daily.total_users)
       IS DISTINCT FROM (excluded.new_users, excluded.total_users);

-- name: ListExposureDays :many
SELECT variant, day, new_users, total_users FROM exposures_daily
 WHERE experiment_id = $1 ORDER BY day, variant;

-- name: InsertRefresh :one
INSERT INTO experiment_results (experiment_id, job_id, status, inputs)
VALUES ($1, $2, 'running', $3) RETURNING id, started_at;

-- name: FinishRefresh :exec
UPDATE experiment_results
   SET status = $2, error_code = $3, error = $4, finished_at = now(),
       duration_ms = (extract(epoch FROM now() - started_at) * 1000)::bigint,
       statements = $5, results = $6
 WHERE id = $1;

-- name: LatestResult :one
SELECT * FROM experiment_results WHERE experiment_id = $1 AND status = 'succeeded'
 ORDER BY id DESC LIMIT 1;

-- name: ResultHistory :many
SELECT id, experiment_id, job_id, status, error_code, error, started_at, finished_at, duration_ms, inputs, statements
  FROM experiment_results WHERE experiment_id = $1 ORDER BY id DESC LIMIT $2;

-- name: RefreshByJob :one
SELECT * FROM experiment_results WHERE experiment_id = $1 AND job_id = $2 ORDER BY id DESC LIMIT 1;

-- name: GetAnalysisSettings :one
SELECT * FROM experiment_analysis_settings WHERE experiment_id = $1;

-- name: UpsertAnalysisSettings :exec
INSERT INTO experiment_analysis_settings (experiment_id, sequential, sequential_tuning, cuped, cuped_window_days,
                                          bayesian, prior_proper, prior_mean, prior_std_dev, correction, dimension)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, sqlc.narg(dimension))
ON CONFLICT (experiment_id) DO UPDATE
   SET sequential = EXCLUDED.sequential, sequential_tuning = EXCLUDED.sequential_tuning,
       cuped = EXCLUDED.cuped, cuped_window_days = EXCLUDED.cuped_window_days,
       bayesian = EXCLUDED.bayesian, prior_proper = EXCLUDED.prior_proper, prior_mean = EXCLUDED.prior_mean,
       prior_std_dev = EXCLUDED.prior_std_dev, correction = EXCLUDED.correction, dimension = EXCLUDED.dimension,
       updated_at = now();

-- name: SetMetricDenominator :exec
UPDATE metrics SET denominator_sql = sqlc.narg(denominator_sql), denominator_type = sqlc.narg(denominator_type)
 WHERE project_id = $1 AND key = $2;

-- name: ResultsOverTime :many
-- The last successful refresh of each UTC day, per metric and variant.
SELECT DISTINCT ON (metric, variant, (analysis_end AT TIME ZONE 'UTC')::date)
       refresh_id, analysis_end, metric, variant, method, status,
       -- numbers may be NULL (no relative effect when the control mean is 0)
       jsonb_build_object('relative_effect', relative_effect, 'relative_ci_low', relative_ci_low,
                          'relative_ci_high', relative_ci_high, 'absolute_effect', absolute_effect,
                          'p_value', p_value)::jsonb AS numbers
  FROM experiment_results_over_time
 WHERE experiment_id = $1
 ORDER BY metric, variant, (analysis_end AT TIME ZONE 'UTC')::date, analysis_end DESC, refresh_id DESC;

-- name: SetRefreshProgress :exec
-- How many of a running refresh's metric statements are done, out of total.
UPDATE experiment_results SET metrics_done = $2, metrics_total = $3
 WHERE id = $1 AND status = 'running';
