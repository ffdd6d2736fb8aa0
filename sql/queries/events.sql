-- name: ListFlagEvents :many
-- Newest first; keyset pagination on id (before_id). Filters are NULL when unused.
SELECT fe.id, fe.flag_key, fe.event_type, fe.actor, fe.source, fe.before, fe.after, fe.created_at,
       e.key AS environment_key
  FROM flag_events fe
  LEFT JOIN environments e ON e.id = fe.environment_id
 WHERE fe.project_id = sqlc.arg(project_id)
   AND (sqlc.narg(flag_key)::text IS NULL OR fe.flag_key = sqlc.narg(flag_key)::text)
   AND (sqlc.narg(environment_id)::bigint IS NULL OR fe.environment_id = sqlc.narg(environment_id)::bigint)
   AND (sqlc.narg(event_type)::text IS NULL OR fe.event_type = sqlc.narg(event_type)::text)
   AND (sqlc.narg(actor)::text IS NULL OR fe.actor = sqlc.narg(actor)::text)
   AND (sqlc.narg(since)::timestamptz IS NULL OR fe.created_at >= sqlc.narg(since)::timestamptz)
   AND (sqlc.narg(until)::timestamptz IS NULL OR fe.created_at < sqlc.narg(until)::timestamptz)
   AND (sqlc.narg(before_id)::bigint IS NULL OR fe.id < sqlc.narg(before_id)::bigint)
 ORDER BY fe.id DESC
 LIMIT sqlc.arg(row_limit);
