-- name: ListPhases :many
SELECT * FROM experiment_phases WHERE experiment_id = $1 ORDER BY number;

-- name: LatestPhase :one
SELECT * FROM experiment_phases WHERE experiment_id = $1 ORDER BY number DESC LIMIT 1;

-- name: InsertPhase :one
-- Opens the next phase of an experiment (the previous one must be ended);
-- a null audience is the experiment's current one.
INSERT INTO experiment_phases (experiment_id, number, weights, traffic_bp, audience)
VALUES (sqlc.arg(experiment_id),
        coalesce((SELECT max(p.number) FROM experiment_phases p WHERE p.experiment_id = sqlc.arg(experiment_id)), 0) + 1,
        sqlc.arg(weights), sqlc.arg(traffic_bp),
        coalesce(sqlc.narg(audience)::jsonb, (SELECT x.audience FROM experiments x WHERE x.id = sqlc.arg(experiment_id))))
RETURNING *;

-- name: EndPhase :exec
UPDATE experiment_phases SET ended_at = now(), ended_by = waypost_actor(), end_reason = sqlc.arg(end_reason)::text
 WHERE experiment_id = sqlc.arg(experiment_id) AND ended_at IS NULL;

-- name: SetExperimentPlan :exec
-- The running experiment's plan follows its open phase (a null audience
-- keeps the experiment's).
UPDATE experiments SET weights = sqlc.arg(weights), traffic_bp = sqlc.arg(traffic_bp),
       audience = coalesce(sqlc.narg(audience)::jsonb, audience)
 WHERE id = sqlc.arg(id);

-- name: RunningExperimentOn :one
SELECT * FROM experiment_current_phases WHERE flag_id = $1 AND environment_id = $2;

-- name: CountAssignments :one
SELECT count(*) FROM custom_assignments WHERE flag_id = $1 AND environment_id = $2;

-- name: GetPhase :one
SELECT * FROM experiment_phases WHERE experiment_id = $1 AND number = $2;
