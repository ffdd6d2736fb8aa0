-- name: CreateSafeRollout :one
INSERT INTO safe_rollouts (project_id, flag_id, environment_id, experiment_id, key, name, control_variant, new_variant,
                           stages, guardrails, on_regression, check_interval_seconds, confidence)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING id;

-- name: GetSafeRollout :one
-- audience is the measuring experiment's: a safe rollout's audience is
-- stored there only (docs/safe-rollouts.md, "Audience").
SELECT r.*, f.key AS flag_key, e.key AS environment_key, x.key AS experiment_key, x.audience
  FROM safe_rollouts r JOIN flags f ON f.id = r.flag_id JOIN environments e ON e.id = r.environment_id
  JOIN experiments x ON x.id = r.experiment_id
 WHERE r.project_id = $1 AND r.key = $2;

-- name: GetSafeRolloutByID :one
SELECT r.*, f.key AS flag_key, e.key AS environment_key, x.key AS experiment_key, x.audience, p.key AS project_key
  FROM safe_rollouts r JOIN flags f ON f.id = r.flag_id JOIN environments e ON e.id = r.environment_id
  JOIN experiments x ON x.id = r.experiment_id JOIN projects p ON p.id = r.project_id
 WHERE r.id = $1;

-- name: ListSafeRollouts :many
SELECT r.*, f.key AS flag_key, e.key AS environment_key, x.key AS experiment_key, x.audience
  FROM safe_rollouts r JOIN flags f ON f.id = r.flag_id JOIN environments e ON e.id = r.environment_id
  JOIN experiments x ON x.id = r.experiment_id
 WHERE r.project_id = $1 AND (sqlc.narg(flag_id)::bigint IS NULL OR r.flag_id = sqlc.narg(flag_id))
 ORDER BY r.id DESC;

-- name: LockSafeRollout :one
SELECT id FROM safe_rollouts WHERE id = $1 FOR UPDATE;

-- name: TransitionSafeRollout :execrows
-- Applies a decision only if the rollout is still where the decider saw it
-- (state, stage and number of checks): a second worker running the same
-- check, or a manual action racing a check, changes nothing.
UPDATE safe_rollouts
   SET state = sqlc.arg(to_state),
       current_stage = sqlc.arg(to_stage),
       stage_started_at = CASE WHEN sqlc.arg(to_stage)::int <> current_stage OR state = 'draft' THEN now() ELSE stage_started_at END,
       started_at = coalesce(started_at, now()),
       checks = sqlc.arg(to_checks),
       next_check_at = CASE WHEN sqlc.arg(to_state)::text = 'running'
                            THEN now() + make_interval(secs => check_interval_seconds) END,
       state_reason = sqlc.arg(reason),
       ended_at = CASE WHEN sqlc.arg(to_state)::text IN ('rolled_back', 'completed') THEN now() END
 WHERE id = sqlc.arg(id) AND state = sqlc.arg(from_state) AND current_stage = sqlc.arg(from_stage)
   AND checks = sqlc.arg(from_checks);

-- name: InsertRolloutDecision :one
INSERT INTO safe_rollout_decisions (rollout_id, check_number, action, automatic, from_state, to_state,
                                    from_stage, to_stage, reason, numbers, refresh_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id;

-- name: ListRolloutDecisions :many
SELECT * FROM safe_rollout_decisions WHERE rollout_id = $1 ORDER BY id DESC LIMIT $2;

-- name: DueSafeRollouts :many
-- Running rollouts whose next check is due: the scheduler enqueues check
-- number checks + 1 of each.
SELECT id, checks FROM safe_rollouts
 WHERE state = 'running' AND next_check_at <= sqlc.arg(now)::timestamptz
 ORDER BY next_check_at LIMIT 1000;

-- name: ActiveSafeRolloutOn :one
SELECT key FROM safe_rollouts WHERE flag_id = $1 AND environment_id = $2 AND state IN ('running', 'paused');

-- name: CreateNotificationWebhook :one
INSERT INTO notification_webhooks (project_id, url, secret_ciphertext) VALUES ($1, $2, $3) RETURNING *;

-- name: ListNotificationWebhooks :many
SELECT * FROM notification_webhooks WHERE project_id = $1 ORDER BY id;

-- name: GetNotificationWebhook :one
SELECT * FROM notification_webhooks WHERE id = $1;

-- name: DeleteNotificationWebhook :execrows
DELETE FROM notification_webhooks WHERE project_id = $1 AND id = $2;

-- name: GetRolloutDecision :one
SELECT d.*, r.key AS rollout_key, r.project_id, r.control_variant, r.new_variant, r.stages,
       f.key AS flag_key, e.key AS environment_key, p.key AS project_key
  FROM safe_rollout_decisions d JOIN safe_rollouts r ON r.id = d.rollout_id
  JOIN flags f ON f.id = r.flag_id JOIN environments e ON e.id = r.environment_id
  JOIN projects p ON p.id = r.project_id
 WHERE d.id = $1;

-- name: ActiveSafeRolloutOfExperiment :one
SELECT r.key FROM safe_rollouts r JOIN experiments x ON x.id = r.experiment_id
 WHERE x.project_id = $1 AND x.key = $2 AND r.state IN ('running', 'paused');

-- name: UpdateSafeRolloutStages :execrows
-- Changes the stages of a draft or paused rollout at the version the
-- caller read (a running one is changed only by its checks).
UPDATE safe_rollouts SET stages = sqlc.arg(stages)
 WHERE id = sqlc.arg(id) AND version = sqlc.arg(version) AND state IN ('draft', 'paused');

-- name: UpdateNotificationWebhook :one
UPDATE notification_webhooks
   SET url = coalesce(sqlc.narg(url), url),
       secret_ciphertext = coalesce(sqlc.narg(secret_ciphertext), secret_ciphertext)
 WHERE project_id = sqlc.arg(project_id) AND id = sqlc.arg(id)
RETURNING *;
