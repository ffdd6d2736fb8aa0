-- name: LockEnvironment :exec
-- Serialises targeting changes of one environment (prerequisite cycles and
-- segment references are checked on the whole environment).
SELECT 1 FROM environments WHERE id = $1 FOR UPDATE;

-- name: GetFlagTargeting :one
SELECT rules, prerequisites, version FROM flag_states WHERE flag_id = $1 AND environment_id = $2;

-- name: UpdateFlagTargeting :one
UPDATE flag_states SET rules = sqlc.arg(rules), prerequisites = sqlc.arg(prerequisites)
 WHERE flag_id = sqlc.arg(flag_id) AND environment_id = sqlc.arg(environment_id)
   AND (sqlc.narg(expected_version)::bigint IS NULL OR version = sqlc.narg(expected_version))
RETURNING rules, prerequisites, version;

-- name: ListSegments :many
SELECT id, key, name, description, cardinality(included)::int AS included_count, cardinality(excluded)::int AS excluded_count,
       rules, version, created_at, updated_at
  FROM segments WHERE environment_id = $1 ORDER BY key;

-- name: GetSegment :one
SELECT * FROM segments WHERE environment_id = $1 AND key = $2;

-- name: CreateSegment :one
INSERT INTO segments (project_id, environment_id, key, name, description, included, excluded, rules)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: UpdateSegment :one
UPDATE segments SET name = sqlc.arg(name), description = sqlc.arg(description), included = sqlc.arg(included),
       excluded = sqlc.arg(excluded), rules = sqlc.arg(rules)
 WHERE environment_id = sqlc.arg(environment_id) AND key = sqlc.arg(key)
   AND (sqlc.narg(expected_version)::bigint IS NULL OR version = sqlc.narg(expected_version))
RETURNING *;

-- name: DeleteSegment :execrows
DELETE FROM segments WHERE environment_id = $1 AND key = $2;
