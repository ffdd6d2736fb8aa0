-- The flags a provider serves, in one view: the provider's reload
-- (EnvironmentSnapshot, one statement) and the manager's flag-set export
-- (SnapshotFlags) read the same rows, so the two cannot drift apart.
CREATE VIEW served_flags AS
SELECT s.environment_id, f.key, f.kind, f.variants, s.enabled, s.off_variant, s.rollout, s.salt, s.version,
       s.rules, s.prerequisites,
       x.key AS experiment_key, x.traffic_bp AS experiment_traffic, x.audience AS experiment_audience,
       x.layer_key AS experiment_layer_key, x.layer_start AS experiment_layer_start, x.layer_end AS experiment_layer_end,
       sr.control_variant AS experiment_fallback
  FROM flags f
  JOIN flag_states s ON s.flag_id = f.id
  LEFT JOIN experiments x ON x.flag_id = f.id AND x.environment_id = s.environment_id AND x.status = 'running'
  LEFT JOIN safe_rollouts sr ON sr.experiment_id = x.id
 WHERE f.archived_at IS NULL;
COMMENT ON VIEW served_flags IS 'Each live (not archived) flag in each environment with the state providers serve: '
  'experiment_* are set while an experiment runs on it; experiment_fallback is the control variant of a safe rollout '
  '(served to users outside its audience).';
