-- name: ListEnvironmentRevisions :many
SELECT e.id, e.key, p.key AS project_key, e.revision
  FROM environments e JOIN projects p ON p.id = e.project_id
 ORDER BY e.id;

-- name: GetEnvironmentRevision :one
SELECT e.id, e.key, p.key AS project_key, e.revision, e.revised_at
  FROM environments e JOIN projects p ON p.id = e.project_id
 WHERE e.id = $1;

-- name: SnapshotFlags :many
-- The live (not archived) flags of one environment with their state.
-- experiment_key/experiment_traffic are set while an experiment runs.
SELECT f.key, f.kind, f.variants, s.enabled, s.off_variant, s.rollout, s.salt, s.version,
       x.key AS experiment_key, x.traffic_bp AS experiment_traffic,
       s.rules, s.prerequisites, x.audience AS experiment_audience,
       x.layer_key AS experiment_layer_key, x.layer_start AS experiment_layer_start, x.layer_end AS experiment_layer_end
  FROM flags f JOIN flag_states s ON s.flag_id = f.id
  LEFT JOIN experiments x ON x.flag_id = f.id AND x.environment_id = s.environment_id AND x.status = 'running'
 WHERE s.environment_id = $1 AND f.archived_at IS NULL
 ORDER BY f.key;

-- name: SnapshotAssignments :many
SELECT f.key AS flag_key, a.user_id, a.variant
  FROM custom_assignments a JOIN flags f ON f.id = a.flag_id
 WHERE a.environment_id = $1 AND f.archived_at IS NULL
 ORDER BY f.key, a.user_id;

-- name: SnapshotSegments :many
SELECT key, included, excluded, rules, version FROM segments WHERE environment_id = $1 ORDER BY key;

-- name: ActiveSDKKeys :many
SELECT id, environment_id, kind, key_hash FROM sdk_keys WHERE revoked_at IS NULL;

-- name: TouchSDKKeys :exec
UPDATE sdk_keys SET last_used_at = now() WHERE id = ANY (sqlc.arg(ids)::bigint[]);

-- name: RegisterProvider :exec
INSERT INTO providers (id, webhook_url) VALUES ($1, $2)
ON CONFLICT (id) DO UPDATE SET webhook_url = excluded.webhook_url, last_seen_at = now();

-- name: HeartbeatProvider :execrows
UPDATE providers SET last_seen_at = now() WHERE id = $1;

-- name: DeleteProvider :exec
DELETE FROM providers WHERE id = $1;

-- name: DeleteStaleProviders :exec
DELETE FROM providers WHERE last_seen_at < now() - interval '10 minutes';

-- name: ListLiveProviders :many
SELECT id, webhook_url FROM live_providers ORDER BY id;

-- name: GetLiveProvider :one
SELECT id, webhook_url FROM live_providers WHERE id = $1;

-- name: ActiveSDKKeysOfEnvironment :many
-- Valid keys of one environment (read with its flags in one snapshot).
SELECT id, kind, key_hash FROM sdk_keys
 WHERE environment_id = $1 AND revoked_at IS NULL
 ORDER BY id;

-- name: RevisionsOf :many
SELECT id, revision FROM environments WHERE id = ANY (sqlc.arg(ids)::bigint[]) ORDER BY id;
