-- name: CountUsers :one
SELECT count(*) FROM users;

-- name: CreateUser :one
INSERT INTO users (email, name, password_hash, is_owner, oidc_subject)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: GetUserByEmail :one
SELECT * FROM users WHERE email = $1;

-- name: GetUserByID :one
SELECT * FROM users WHERE id = $1;

-- name: GetUserByOIDCSubject :one
SELECT * FROM users WHERE oidc_subject = $1;

-- name: LinkOIDCSubject :exec
UPDATE users SET oidc_subject = $2, updated_at = now() WHERE id = $1;

-- name: ListUsers :many
SELECT * FROM users ORDER BY email;

-- name: UpdateUser :one
UPDATE users SET name = $2, is_owner = $3,
       disabled_at = CASE WHEN sqlc.arg(disabled)::boolean THEN coalesce(disabled_at, now()) ELSE NULL END,
       updated_at = now()
 WHERE id = $1
RETURNING *;

-- name: SetPasswordHash :exec
UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1;

-- name: TouchLogin :exec
UPDATE users SET last_login_at = now() WHERE id = $1;

-- name: CreateSession :exec
INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at, client_addr, user_agent)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetSession :one
-- The session with its user; the caller checks the timeouts and the user's state.
SELECT s.id_hash, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, sqlc.embed(u)
  FROM sessions s JOIN users u ON u.id = s.user_id
 WHERE s.id_hash = $1;

-- name: TouchSession :exec
UPDATE sessions SET last_seen_at = now() WHERE id_hash = $1;

-- name: DeleteSession :exec
DELETE FROM sessions WHERE id_hash = $1;

-- name: DeleteUserSessions :execrows
DELETE FROM sessions WHERE user_id = $1;

-- name: DeleteExpiredSessions :execrows
DELETE FROM sessions WHERE expires_at < now() OR last_seen_at < sqlc.arg(idle_before)::timestamptz;

-- name: ProjectRoles :many
-- Every project's key with the user's role in it (NULL: not a member).
SELECT p.key, m.role
  FROM projects p LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $1
 ORDER BY p.key;

-- name: MemberRole :one
SELECT m.role FROM project_members m JOIN projects p ON p.id = m.project_id
 WHERE p.key = $1 AND m.user_id = $2;

-- name: ListMembers :many
SELECT u.id, u.email, u.name, u.disabled_at, m.role, m.created_at, m.updated_at
  FROM project_members m JOIN users u ON u.id = m.user_id
 WHERE m.project_id = $1
 ORDER BY u.email;

-- name: UpsertMember :one
INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, $3)
ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
RETURNING *;

-- name: DeleteMember :execrows
DELETE FROM project_members WHERE project_id = $1 AND user_id = $2;

-- name: CreateAPIToken :one
INSERT INTO api_tokens (name, prefix, token_hash, user_id, project_id, role, read_only, created_by, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING *;

-- name: GetAPIToken :one
-- A token by hash with its project key and (personal tokens) its user.
SELECT t.id, t.name, t.user_id, t.role, t.read_only, t.expires_at, t.revoked_at, t.last_used_at,
       p.key AS project_key,
       u.email AS user_email, u.name AS user_name, u.is_owner AS user_is_owner, u.disabled_at AS user_disabled_at
  FROM api_tokens t
  LEFT JOIN projects p ON p.id = t.project_id
  LEFT JOIN users u ON u.id = t.user_id
 WHERE t.token_hash = $1;

-- name: TouchAPIToken :exec
UPDATE api_tokens SET last_used_at = now() WHERE id = $1;

-- name: ListUserTokens :many
SELECT t.*, p.key AS project_key
  FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id
 WHERE t.user_id = sqlc.arg(user_id)::bigint
 ORDER BY t.id;

-- name: ListServiceTokens :many
SELECT t.*, p.key AS project_key
  FROM api_tokens t JOIN projects p ON p.id = t.project_id
 WHERE t.project_id = sqlc.arg(project_id)::bigint AND t.user_id IS NULL
 ORDER BY t.id;

-- name: RevokeAPIToken :one
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
 WHERE id = $1
RETURNING *;

-- name: GetAPITokenByID :one
SELECT t.*, p.key AS project_key
  FROM api_tokens t LEFT JOIN projects p ON p.id = t.project_id
 WHERE t.id = $1;

-- name: SetEnvironmentProtected :one
UPDATE environments SET protected = $3, updated_at = now()
 WHERE project_id = $1 AND key = $2 RETURNING *;

-- name: EnvironmentProtected :one
SELECT e.protected FROM environments e JOIN projects p ON p.id = e.project_id
 WHERE p.key = sqlc.arg(project_key) AND e.key = sqlc.arg(environment_key);

-- name: InsertSecurityEvent :exec
INSERT INTO security_events (event_type, actor, subject, project_id, client_addr, detail)
VALUES ($1, $2, $3, (SELECT id FROM projects WHERE key = sqlc.narg(project_key)), $4, $5);

-- name: ListSecurityEvents :many
SELECT e.id, e.at, e.event_type, e.actor, e.subject, p.key AS project_key, e.client_addr, e.detail
  FROM security_events e LEFT JOIN projects p ON p.id = e.project_id
 WHERE (sqlc.narg(before)::bigint IS NULL OR e.id < sqlc.narg(before))
 ORDER BY e.id DESC
 LIMIT sqlc.arg(lim);
