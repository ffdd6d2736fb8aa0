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

-- name: SegmentUsers :many
-- Flags (archived ones too: they can be restored) whose rules, and
-- experiments (any status: a stopped one can restart) whose audience, use
-- the segment: it cannot be deleted while any does.
SELECT 'flag'::text AS kind, f.key::text AS key
  FROM flag_states s JOIN flags f ON f.id = s.flag_id
 WHERE s.environment_id = sqlc.arg(environment_id)
   AND jsonb_path_exists(s.rules, '$[*].clauses[*] ? (@.op == "in_segment" && @.values[*] == $seg)',
                         jsonb_build_object('seg', sqlc.arg(segment)::text))
UNION ALL
SELECT 'experiment'::text, x.key::text
  FROM experiments x
 WHERE x.environment_id = sqlc.arg(environment_id)
   AND jsonb_path_exists(x.audience, '$[*] ? (@.op == "in_segment" && @.values[*] == $seg)',
                         jsonb_build_object('seg', sqlc.arg(segment)::text))
 ORDER BY 1, 2;

-- name: PrerequisiteDependents :many
-- Live flags of the project (other than the flag itself) that name the
-- flag as a prerequisite in some environment.
SELECT f.key, e.key AS environment_key,
       jsonb_path_query_array(s.prerequisites, '$[*] ? (@.flag == $flag).variants[*]',
                              jsonb_build_object('flag', sqlc.arg(flag_key)::text)) AS variants
  FROM flag_states s JOIN flags f ON f.id = s.flag_id JOIN environments e ON e.id = s.environment_id
 WHERE f.project_id = sqlc.arg(project_id) AND f.archived_at IS NULL AND f.key <> sqlc.arg(flag_key)::text
   AND jsonb_path_exists(s.prerequisites, '$[*] ? (@.flag == $flag)', jsonb_build_object('flag', sqlc.arg(flag_key)::text))
 ORDER BY f.key, e.id;

-- name: FlagExperimentWeights :many
-- The weights of a flag's experiments that are not stopped (a draft or a
-- running experiment needs its variants).
SELECT x.key, e.key AS environment_key, x.weights
  FROM experiments x JOIN environments e ON e.id = x.environment_id
 WHERE x.flag_id = $1 AND x.status <> 'stopped'
 ORDER BY x.key;

-- name: SetRulesForFlag :exec
-- Rewrites a flag's rules in one environment (rule rollouts reshaped for
-- a new variant list); the version is bumped and the change logged.
UPDATE flag_states SET rules = sqlc.arg(rules) WHERE flag_id = sqlc.arg(flag_id) AND environment_id = sqlc.arg(environment_id);

-- name: EnvironmentTargetingSources :many
-- Every rule list and audience of an environment, for attribute
-- suggestions: kind is rules (flag rules), segments or audience.
SELECT 'rules'::text AS kind, s.rules AS source FROM flag_states s WHERE s.environment_id = $1 AND s.rules <> '[]'::jsonb
UNION ALL
SELECT 'segments'::text, g.rules FROM segments g WHERE g.environment_id = $1 AND g.rules <> '[]'::jsonb
UNION ALL
SELECT 'audience'::text, x.audience FROM experiments x WHERE x.environment_id = $1 AND x.audience <> '[]'::jsonb;

-- name: OverlappingLayerExperiment :many
-- Experiments of the environment and layer, not stopped, other than
-- exclude_id, whose range overlaps [layer_start, layer_end).
SELECT key, layer_start, layer_end, status FROM experiments
 WHERE environment_id = sqlc.arg(environment_id) AND layer_key = sqlc.arg(layer_key)::text AND status <> 'stopped'
   AND id <> sqlc.arg(exclude_id)::bigint
   AND layer_start < sqlc.arg(layer_end)::int AND sqlc.arg(layer_start)::int < layer_end
 ORDER BY key;

-- name: SetExperimentTargeting :exec
UPDATE experiments SET audience = sqlc.arg(audience), layer_key = sqlc.narg(layer_key), layer_start = sqlc.narg(layer_start),
       layer_end = sqlc.narg(layer_end)
 WHERE id = sqlc.arg(id);
