-- name: ListEnvironmentRevisions :many
SELECT e.id, e.key, p.key AS project_key, e.revision
  FROM environments e JOIN projects p ON p.id = e.project_id
 ORDER BY e.id;

-- name: GetEnvironmentRevision :one
SELECT e.id, e.key, p.key AS project_key, e.revision, e.revised_at
  FROM environments e JOIN projects p ON p.id = e.project_id
 WHERE e.id = $1;

-- name: SnapshotFlags :many
-- The live (not archived) flags of one environment with their state
-- (the served_flags view, as EnvironmentSnapshot reads it).
SELECT key, kind, variants, enabled, off_variant, rollout, salt, version,
       experiment_key, experiment_traffic,
       rules, prerequisites, experiment_audience,
       experiment_layer_key, experiment_layer_start, experiment_layer_end,
       experiment_fallback
  FROM served_flags
 WHERE environment_id = $1
 ORDER BY key;

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

-- name: ActiveSDKKeysOfEnvironment :many
-- Valid keys of one environment (read with its flags in one snapshot).
SELECT id, kind, key_hash FROM sdk_keys
 WHERE environment_id = $1 AND revoked_at IS NULL
 ORDER BY id;

-- name: RevisionsOf :many
SELECT id, revision FROM environments WHERE id = ANY (sqlc.arg(ids)::bigint[]) ORDER BY id;

-- name: EnvironmentSnapshot :one
-- One environment's whole served state in a single statement, hence one
-- snapshot without a transaction (a provider's reload: one statement per
-- change instead of seven): its revision, and as JSON arrays of objects
-- named like the Go rows of the queries above, its flags (served_flags, as SnapshotFlags),
-- assignments (SnapshotAssignments), segments (SnapshotSegments) and
-- valid keys (ActiveSDKKeysOfEnvironment, hash in base64), in their order.
SELECT e.id, e.key, p.key AS project_key, e.revision, e.revised_at,
       (SELECT coalesce(json_agg(json_build_object(
                 'Key', sf.key, 'Kind', sf.kind, 'Variants', sf.variants, 'Enabled', sf.enabled,
                 'OffVariant', sf.off_variant, 'Rollout', sf.rollout, 'Salt', sf.salt, 'Version', sf.version,
                 'ExperimentKey', sf.experiment_key, 'ExperimentTraffic', sf.experiment_traffic, 'Rules', sf.rules,
                 'Prerequisites', sf.prerequisites, 'ExperimentAudience', sf.experiment_audience,
                 'ExperimentLayerKey', sf.experiment_layer_key, 'ExperimentLayerStart', sf.experiment_layer_start,
                 'ExperimentLayerEnd', sf.experiment_layer_end, 'ExperimentFallback', sf.experiment_fallback) ORDER BY sf.key), '[]'::json)
          FROM served_flags sf WHERE sf.environment_id = e.id)::json AS flags,
       (SELECT coalesce(json_agg(json_build_object('FlagKey', f.key, 'UserID', a.user_id, 'Variant', a.variant)
                 ORDER BY f.key, a.user_id), '[]'::json)
          FROM custom_assignments a JOIN flags f ON f.id = a.flag_id
         WHERE a.environment_id = e.id AND f.archived_at IS NULL)::json AS assignments,
       (SELECT coalesce(json_agg(json_build_object('Key', g.key, 'Included', g.included, 'Excluded', g.excluded,
                 'Rules', g.rules, 'Version', g.version) ORDER BY g.key), '[]'::json)
          FROM segments g WHERE g.environment_id = e.id)::json AS segments,
       (SELECT coalesce(json_agg(json_build_object('ID', k.id, 'Kind', k.kind, 'KeyHash', encode(k.key_hash, 'base64'))
                 ORDER BY k.id), '[]'::json)
          FROM sdk_keys k WHERE k.environment_id = e.id AND k.revoked_at IS NULL)::json AS sdk_keys
  FROM environments e JOIN projects p ON p.id = e.project_id
 WHERE e.id = $1;

-- name: WebhookTarget :one
-- What a webhook job needs, in one statement: the provider's URL while it
-- is live ('' once it stopped heartbeating) and the environment's current
-- revision (-1 once it was deleted).
SELECT coalesce((SELECT lp.webhook_url FROM live_providers lp WHERE lp.id = sqlc.arg(provider_id)::text), '')::text AS webhook_url,
       coalesce((SELECT e.revision FROM environments e WHERE e.id = sqlc.arg(environment_id)::bigint), -1)::bigint AS revision;
