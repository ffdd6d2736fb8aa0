-- name: CreateSDKKey :one
INSERT INTO sdk_keys (environment_id, kind, name, prefix, key_hash)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: ListSDKKeys :many
SELECT * FROM sdk_keys WHERE environment_id = $1 ORDER BY id;

-- name: RevokeSDKKey :one
UPDATE sdk_keys SET revoked_at = coalesce(revoked_at, now())
 WHERE id = $1 AND environment_id = $2
RETURNING *;
