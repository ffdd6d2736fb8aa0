-- Views for people using psql, and the default project of a fresh install.

CREATE VIEW flag_overview AS
SELECT p.key  AS project,
       f.key  AS flag,
       f.name AS name,
       f.kind AS kind,
       e.key  AS environment,
       s.enabled,
       s.off_variant,
       (SELECT string_agg(r->>'variant' || '=' || trim_scale(((r->>'weight')::numeric / 100)) || '%', ', ')
          FROM jsonb_array_elements(s.rollout) r) AS rollout,
       (SELECT count(*) FROM custom_assignments a
         WHERE a.flag_id = f.id AND a.environment_id = e.id) AS assignment_count,
       (SELECT max(fe.created_at) FROM flag_events fe
         WHERE fe.flag_id = f.id AND (fe.environment_id = e.id OR fe.environment_id IS NULL)) AS last_changed_at,
       f.archived_at IS NOT NULL AS archived
  FROM flags f
  JOIN projects p ON p.id = f.project_id
  JOIN flag_states s ON s.flag_id = f.id
  JOIN environments e ON e.id = s.environment_id;
COMMENT ON VIEW flag_overview IS 'One row per flag and environment: state, rollout in percent, assignment count, last change.';

CREATE VIEW flag_event_log AS
SELECT fe.id, fe.created_at, p.key AS project, e.key AS environment, fe.flag_key AS flag,
       fe.event_type, fe.actor, fe.source, fe.before, fe.after
  FROM flag_events fe
  JOIN projects p ON p.id = fe.project_id
  LEFT JOIN environments e ON e.id = fe.environment_id;
COMMENT ON VIEW flag_event_log IS 'The flag-event log with project, environment and flag keys; ORDER BY id DESC for newest first.';

INSERT INTO projects (key, name) VALUES ('default', 'Default project') ON CONFLICT (key) DO NOTHING;
INSERT INTO environments (project_id, key, name)
SELECT p.id, v.key, v.name
  FROM projects p, (VALUES ('production', 'Production'), ('development', 'Development')) AS v(key, name)
 WHERE p.key = 'default'
ON CONFLICT (project_id, key) DO NOTHING;
