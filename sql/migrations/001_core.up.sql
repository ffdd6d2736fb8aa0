-- Waypost core schema: projects, environments, flags, per-environment flag
-- state, custom assignments, SDK keys, and the flag-event log.
--
-- Conventions: every table and column a person would look at has a comment
-- (\d+ in psql shows them); keys are lower-case slugs; time is timestamptz.

-- ---------------------------------------------------------------------------
-- Validation helpers (used by CHECK constraints so psql edits are held to the
-- same rules as the API).
-- ---------------------------------------------------------------------------

CREATE FUNCTION waypost_valid_key(k text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT k ~ '^[a-z0-9][a-z0-9._-]{0,99}$' $$;
COMMENT ON FUNCTION waypost_valid_key(text) IS
  'True when k is a valid Waypost key: ^[a-z0-9][a-z0-9._-]{0,99}$.';

-- A rollout is a JSON array of {"variant": text, "weight": 0..10000} whose
-- weights sum to exactly 10000 basis points (100%).
CREATE FUNCTION waypost_valid_rollout(r jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT jsonb_typeof(r) = 'array'
     AND jsonb_array_length(r) > 0
     AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(r) e
            WHERE jsonb_typeof(e) <> 'object'
               OR jsonb_typeof(e->'variant') IS DISTINCT FROM 'string'
               OR jsonb_typeof(e->'weight') IS DISTINCT FROM 'number'
               OR (e->>'weight')::numeric NOT BETWEEN 0 AND 10000
               OR (e->>'weight')::numeric <> trunc((e->>'weight')::numeric))
     AND (SELECT sum((e->>'weight')::numeric) FROM jsonb_array_elements(r) e) = 10000
$$;
COMMENT ON FUNCTION waypost_valid_rollout(jsonb) IS
  'True when r is [{"variant":..., "weight":0..10000}, ...] with integer weights summing to 10000.';

-- Variants: a JSON array of {"key": text, "name": text, "value": json}.
CREATE FUNCTION waypost_valid_variants(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  SELECT jsonb_typeof(v) = 'array'
     AND jsonb_array_length(v) BETWEEN 1 AND 100
     AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(v) e
            WHERE jsonb_typeof(e) <> 'object'
               OR jsonb_typeof(e->'key') IS DISTINCT FROM 'string'
               OR NOT waypost_valid_key(e->>'key')
               OR NOT (e ? 'value'))
     AND (SELECT count(DISTINCT e->>'key') FROM jsonb_array_elements(v) e) = jsonb_array_length(v)
$$;
COMMENT ON FUNCTION waypost_valid_variants(jsonb) IS
  'True when v is a non-empty array of {"key","name","value"} objects with unique valid keys.';

-- ---------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------

CREATE TABLE projects (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key         text NOT NULL UNIQUE CHECK (waypost_valid_key(key)),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE projects IS 'One application''s flag set. Flags are defined once per project.';
COMMENT ON COLUMN projects.key IS 'Immutable slug used in URLs and by SDKs.';

CREATE TABLE environments (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key         text NOT NULL CHECK (waypost_valid_key(key)),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  revision    bigint NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, key)
);
COMMENT ON TABLE environments IS 'A deployment stage of a project (production, development, ...). Flag state lives per environment.';
COMMENT ON COLUMN environments.revision IS
  'Monotonically increasing; bumped (by triggers) in the same transaction as any change to this environment''s flags, states, assignments or SDK keys, and announced on the waypost_revision channel.';

CREATE TABLE flags (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id   bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  key          text NOT NULL CHECK (waypost_valid_key(key)),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  description  text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
  tags         text[] NOT NULL DEFAULT '{}',
  kind         text NOT NULL CHECK (kind IN ('boolean', 'string', 'number', 'json')),
  variants     jsonb NOT NULL CHECK (waypost_valid_variants(variants)),
  version      bigint NOT NULL DEFAULT 1,
  archived_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, key)
);
COMMENT ON TABLE flags IS 'Flag definitions, one per project and key. State (on/off, rollout) is in flag_states.';
COMMENT ON COLUMN flags.key IS 'Immutable key used by SDKs; unique per project.';
COMMENT ON COLUMN flags.kind IS 'Value type of the variants: boolean (variants off/on), string, number or json.';
COMMENT ON COLUMN flags.variants IS 'Array of {"key","name","value"}; order matters for bucketing.';
COMMENT ON COLUMN flags.version IS 'Bumped by trigger on every update; API updates must name the version they read (optimistic locking).';
COMMENT ON COLUMN flags.archived_at IS 'Soft delete: archived flags keep their history, are not served, and can be restored.';
CREATE INDEX flags_tags_idx ON flags USING gin (tags);

CREATE TABLE flag_states (
  flag_id         bigint NOT NULL REFERENCES flags(id) ON DELETE CASCADE,
  environment_id  bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  enabled         boolean NOT NULL DEFAULT false,
  off_variant     text NOT NULL,
  rollout         jsonb NOT NULL CHECK (waypost_valid_rollout(rollout)),
  salt            text NOT NULL DEFAULT substr(md5(gen_random_uuid()::text), 1, 16),
  version         bigint NOT NULL DEFAULT 1,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (flag_id, environment_id)
);
COMMENT ON TABLE flag_states IS 'Per-environment state of a flag. Rows are created by triggers for every flag x environment.';
COMMENT ON COLUMN flag_states.enabled IS 'Off: every user gets off_variant. On: custom assignments, then rollout.';
COMMENT ON COLUMN flag_states.off_variant IS 'Variant key served while the flag is off.';
COMMENT ON COLUMN flag_states.rollout IS 'Array of {"variant","weight"} in basis points summing to 10000, in the flag''s variant order.';
COMMENT ON COLUMN flag_states.salt IS 'Random per flag and environment; makes bucketing independent across flags.';
COMMENT ON COLUMN flag_states.version IS 'Bumped by trigger on every update; used for optimistic locking.';
CREATE INDEX flag_states_environment_idx ON flag_states (environment_id);

CREATE TABLE custom_assignments (
  flag_id         bigint NOT NULL,
  environment_id  bigint NOT NULL,
  user_id         text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 256),
  variant         text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (flag_id, environment_id, user_id),
  FOREIGN KEY (flag_id, environment_id) REFERENCES flag_states (flag_id, environment_id) ON DELETE CASCADE
);
COMMENT ON TABLE custom_assignments IS 'Forced variant for one user id, per flag and environment. Wins over rollout; an off flag is still off.';
CREATE INDEX custom_assignments_environment_idx ON custom_assignments (environment_id);

CREATE TABLE sdk_keys (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  environment_id  bigint NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
  kind            text NOT NULL CHECK (kind IN ('server', 'client')),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  prefix          text NOT NULL,
  key_hash        bytea NOT NULL UNIQUE,
  created_at      timestamptz NOT NULL DEFAULT now(),
  revoked_at      timestamptz,
  last_used_at    timestamptz
);
COMMENT ON TABLE sdk_keys IS 'Keys SDKs present to providers. Only a SHA-256 hash is stored; the secret is shown once at creation.';
COMMENT ON COLUMN sdk_keys.kind IS 'server: may read full flag definitions; client: browser-safe, evaluated results only.';
COMMENT ON COLUMN sdk_keys.prefix IS 'First characters of the secret, to recognise a key without revealing it.';
CREATE INDEX sdk_keys_environment_idx ON sdk_keys (environment_id);

CREATE TABLE flag_events (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_id      bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  environment_id  bigint REFERENCES environments(id) ON DELETE CASCADE,
  flag_id         bigint REFERENCES flags(id) ON DELETE CASCADE,
  flag_key        text NOT NULL,
  event_type      text NOT NULL CHECK (event_type IN (
                    'flag_created', 'flag_updated', 'flag_archived', 'flag_restored',
                    'flag_toggled', 'rollout_changed', 'off_variant_changed',
                    'assignment_added', 'assignment_changed', 'assignment_removed')),
  actor           text NOT NULL,
  source          text NOT NULL CHECK (source IN ('api', 'sql')),
  before          jsonb,
  after           jsonb,
  created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE flag_events IS 'Audit log of flag changes, written by triggers (so changes made in psql are logged too).';
COMMENT ON COLUMN flag_events.actor IS 'Who made the change: the waypost.actor transaction setting set by the API, else the database role.';
COMMENT ON COLUMN flag_events.source IS 'api when waypost.actor was set, sql otherwise.';
CREATE INDEX flag_events_project_idx ON flag_events (project_id, id DESC);
CREATE INDEX flag_events_flag_idx ON flag_events (flag_id, id DESC);
