-- name: ListProjects :many
SELECT * FROM projects ORDER BY key;

-- name: GetProject :one
SELECT * FROM projects WHERE key = $1;

-- name: CreateProject :one
INSERT INTO projects (key, name) VALUES ($1, $2) RETURNING *;

-- name: RenameProject :one
UPDATE projects SET name = $2, updated_at = now() WHERE key = $1 RETURNING *;

-- name: ListEnvironments :many
SELECT * FROM environments WHERE project_id = $1 ORDER BY id;

-- name: GetEnvironment :one
SELECT * FROM environments WHERE project_id = $1 AND key = $2;

-- name: CreateEnvironment :one
INSERT INTO environments (project_id, key, name) VALUES ($1, $2, $3) RETURNING *;

-- name: RenameEnvironment :one
UPDATE environments SET name = $3, updated_at = now()
 WHERE project_id = $1 AND key = $2 RETURNING *;

-- name: SetActor :exec
-- Transaction-local: read by the flag-event triggers (waypost_actor()).
SELECT set_config('waypost.actor', sqlc.arg(actor)::text, true);
