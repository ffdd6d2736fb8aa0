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
-- experiment_key/experiment_traffic are set while an experiment runs;
-- experiment_fallback when it measures a safe rollout (its control variant,
-- served to users who do not enter: outside the rollout's audience).
SELECT f.key, f.kind, f.variants, s.enabled, s.off_variant, s.rollout, s.salt, s.version,
       x.key AS experiment_key, x.traffic_bp AS experiment_traffic,
       s.rules, s.prerequisites, x.audience AS experiment_audience,
       x.layer_key AS experiment_layer_key, x.layer_start AS experiment_layer_start, x.layer_end AS experiment_layer_end,
       sr.control_variant AS experiment_fallback
  FROM flags f JOIN flag_states s ON s.flag_id = f.id
  LEFT JOIN experiments x ON x.flag_id = f.id AND x.environment_id = s.environment_id AND x.status = 'running'
  LEFT JOIN safe_rollouts sr ON sr.experiment_id = x.id
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
-- named like the Go rows of the queries above, its flags (SnapshotFlags),
-- assignments (SnapshotAssignments), segments (SnapshotSegments) and
-- valid keys (ActiveSDKKeysOfEnvironment, hash in base64), in their order.
SELECT e.id, e.key, p.key AS project_key, e.revision, e.revised_at,
       (SELECT coalesce(json_agg(json_build_object(
                 'Key', f.key, 'Kind', f.kind, 'Variants', f.variants, 'Enabled', s.enabled,
                 'OffVariant', s.off_variant, 'Rollout', s.rollout, 'Salt', s.salt, 'Version', s.version,
                 'ExperimentKey', x.key, 'ExperimentTraffic', x.traffic_bp, 'Rules', s.rules,
                 'Prerequisites', s.prerequisites, 'ExperimentAudience', x.audience,
                 'ExperimentLayerKey', x.layer_key, 'ExperimentLayerStart', x.layer_start,
                 'ExperimentLayerEnd', x.layer_end, 'ExperimentFallback', sr.control_variant) ORDER BY f.key), '[]'::json)
          FROM flags f JOIN flag_states s ON s.flag_id = f.id
          LEFT JOIN experiments x ON x.flag_id = f.id AND x.environment_id = s.environment_id AND x.status = 'running'
          LEFT JOIN safe_rollouts sr ON sr.experiment_id = x.id
         WHERE s.environment_id = e.id AND f.archived_at IS NULL)::json AS flags,
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
