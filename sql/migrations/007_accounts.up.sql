-- Accounts: people (users), their server-side sessions, API tokens, project
-- memberships with a role, protected environments, and the security log.
--
-- Secrets are never stored: passwords as argon2id hashes (PHC string),
-- session ids and API tokens as SHA-256 of a 32-byte random value.

CREATE TABLE users (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email          text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  password_hash  text CHECK (password_hash LIKE '$argon2id$%'),
  is_owner       boolean NOT NULL DEFAULT false,
  oidc_subject   text UNIQUE,
  disabled_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  last_login_at  timestamptz,
  CONSTRAINT users_email_key UNIQUE (email)
);
COMMENT ON TABLE users IS 'People who sign in to the manager (password or single sign-on).';
COMMENT ON COLUMN users.email IS 'Lower-case; the login name.';
COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string ($argon2id$v=19$m=..,t=..,p=..$salt$hash); NULL: single sign-on only.';
COMMENT ON COLUMN users.is_owner IS 'Instance owner: manages users and projects, admin in every project.';
COMMENT ON COLUMN users.oidc_subject IS 'issuer + "|" + sub of the OpenID Connect identity linked to this account.';
COMMENT ON COLUMN users.disabled_at IS 'Set: the account cannot sign in and its sessions and tokens stop working.';

CREATE TABLE project_members (
  project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, user_id)
);
COMMENT ON TABLE project_members IS 'A user''s role in a project: viewer (read all but secrets), editor (flags, assignments, metrics, experiments), admin (members, SDK keys, connections, environments).';

CREATE TABLE sessions (
  id_hash       bytea PRIMARY KEY,
  user_id       bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  csrf_token    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  client_addr   text NOT NULL DEFAULT '',
  user_agent    text NOT NULL DEFAULT ''
);
COMMENT ON TABLE sessions IS 'Dashboard sign-ins. The cookie holds a random id; only its SHA-256 is stored. Deleted on logout.';
COMMENT ON COLUMN sessions.expires_at IS 'Absolute timeout; the idle timeout is checked against last_seen_at.';
COMMENT ON COLUMN sessions.csrf_token IS 'Per-session token the dashboard sends in X-CSRF-Token on every change.';
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE api_tokens (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  prefix        text NOT NULL,
  token_hash    bytea NOT NULL UNIQUE,
  user_id       bigint REFERENCES users(id) ON DELETE CASCADE,
  project_id    bigint REFERENCES projects(id) ON DELETE CASCADE,
  role          text CHECK (role IN ('viewer', 'editor', 'admin')),
  read_only     boolean NOT NULL DEFAULT false,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  last_used_at  timestamptz,
  revoked_at    timestamptz,
  CHECK ((user_id IS NOT NULL AND role IS NULL) OR (user_id IS NULL AND project_id IS NOT NULL AND role IS NOT NULL))
);
COMMENT ON TABLE api_tokens IS 'Bearer tokens (wpt_...) for scripts and CI. Personal: user_id set, acts as the user (optionally read-only or one project). Service: no user, a role in one project.';
COMMENT ON COLUMN api_tokens.prefix IS 'First characters of the token, shown to recognise it.';
CREATE INDEX api_tokens_user_id_idx ON api_tokens (user_id);
CREATE INDEX api_tokens_project_id_idx ON api_tokens (project_id);

ALTER TABLE environments ADD COLUMN protected boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN environments.protected IS 'Only project admins change flags (state, assignments) in a protected environment.';

CREATE TABLE security_events (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  event_type   text NOT NULL,
  actor        text NOT NULL,
  subject      text NOT NULL DEFAULT '',
  project_id   bigint REFERENCES projects(id) ON DELETE SET NULL,
  client_addr  text NOT NULL DEFAULT '',
  detail       jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE security_events IS 'Security log: logins, failed logins, logouts, users, role changes, token creation and revocation. Never holds a secret.';
COMMENT ON COLUMN security_events.actor IS 'Who did it (user email, token name), or the email tried in a failed login.';
COMMENT ON COLUMN security_events.subject IS 'What it was done to (user email, token name).';
CREATE INDEX security_events_at_idx ON security_events (at DESC);
