-- name: ListFlags :many
-- Keyset pagination by key; optional filters are NULL when unused.
SELECT * FROM flags
 WHERE project_id = sqlc.arg(project_id)
   AND (archived_at IS NOT NULL) = sqlc.arg(archived)::boolean
   AND (sqlc.narg(tag)::text IS NULL OR sqlc.narg(tag)::text = ANY (tags))
   AND (sqlc.narg(search)::text IS NULL
        OR key ILIKE '%' || sqlc.narg(search)::text || '%'
        OR name ILIKE '%' || sqlc.narg(search)::text || '%'
        OR description ILIKE '%' || sqlc.narg(search)::text || '%')
   AND (sqlc.narg(after_key)::text IS NULL OR key > sqlc.narg(after_key)::text)
 ORDER BY key
 LIMIT sqlc.arg(row_limit);

-- name: GetFlag :one
SELECT * FROM flags WHERE project_id = $1 AND key = $2;

-- name: CreateFlag :one
INSERT INTO flags (project_id, key, name, description, tags, kind, variants)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: UpdateFlag :one
-- Optimistic locking: no row when the version moved on.
UPDATE flags
   SET name = $3, description = $4, tags = $5, variants = $6
 WHERE id = $1 AND version = $2
RETURNING *;

-- name: SetFlagArchived :one
UPDATE flags
   SET archived_at = CASE WHEN sqlc.arg(archived)::boolean THEN coalesce(archived_at, now()) ELSE NULL END
 WHERE id = sqlc.arg(id)
RETURNING *;

-- name: ListFlagStates :many
SELECT s.*, e.key AS environment_key,
       (SELECT count(*) FROM custom_assignments a
         WHERE a.flag_id = s.flag_id AND a.environment_id = s.environment_id) AS assignment_count
  FROM flag_states s
  JOIN environments e ON e.id = s.environment_id
 WHERE s.flag_id = ANY (sqlc.arg(flag_ids)::bigint[])
 ORDER BY s.flag_id, e.id;

-- name: GetFlagState :one
SELECT * FROM flag_states WHERE flag_id = $1 AND environment_id = $2;

-- name: UpdateFlagState :one
-- Unset fields keep their value. With expected_version set, no row is
-- returned when the state's version moved on (optimistic locking).
UPDATE flag_states
   SET enabled     = coalesce(sqlc.narg(enabled)::boolean, enabled),
       off_variant = coalesce(sqlc.narg(off_variant)::text, off_variant),
       rollout     = coalesce(sqlc.narg(rollout)::jsonb, rollout)
 WHERE flag_id = sqlc.arg(flag_id) AND environment_id = sqlc.arg(environment_id)
   AND (sqlc.narg(expected_version)::bigint IS NULL OR version = sqlc.narg(expected_version)::bigint)
RETURNING *;

-- name: SetRolloutForFlag :exec
-- Used when a flag's variants change: every environment's rollout is rewritten.
UPDATE flag_states SET rollout = $3 WHERE flag_id = $1 AND environment_id = $2;

-- name: ListAssignments :many
SELECT user_id, variant, created_at FROM custom_assignments
 WHERE flag_id = sqlc.arg(flag_id) AND environment_id = sqlc.arg(environment_id)
   AND (sqlc.narg(after_user)::text IS NULL OR user_id > sqlc.narg(after_user)::text)
 ORDER BY user_id
 LIMIT sqlc.arg(row_limit);

-- name: UpsertAssignments :execrows
INSERT INTO custom_assignments (flag_id, environment_id, user_id, variant)
SELECT sqlc.arg(flag_id)::bigint, sqlc.arg(environment_id)::bigint,
       unnest(sqlc.arg(user_ids)::text[]), unnest(sqlc.arg(variants)::text[])
ON CONFLICT (flag_id, environment_id, user_id)
DO UPDATE SET variant = excluded.variant
 WHERE custom_assignments.variant IS DISTINCT FROM excluded.variant;

-- name: DeleteAssignments :execrows
DELETE FROM custom_assignments
 WHERE flag_id = sqlc.arg(flag_id) AND environment_id = sqlc.arg(environment_id)
   AND user_id = ANY (sqlc.arg(user_ids)::text[]);

-- name: CountAssignmentsUsingVariant :one
SELECT count(*) FROM custom_assignments WHERE flag_id = $1 AND variant = $2;
