-- Triggers: keep versions, create per-environment state, write the flag-event
-- log, and bump + announce environment revisions. All of this lives in the
-- database so that a change made with psql behaves exactly like one made
-- through the API (it is logged, versioned and reaches providers).

-- The actor of the current transaction: the API runs
--   SELECT set_config('waypost.actor', '<who>', true)
-- at the start of each transaction; without it the database role is used.
CREATE FUNCTION waypost_actor() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(current_setting('waypost.actor', true), ''), session_user::text) $$;
COMMENT ON FUNCTION waypost_actor() IS 'waypost.actor (transaction-local setting) if set, else the database role.';

CREATE FUNCTION waypost_actor_source() RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT CASE WHEN nullif(current_setting('waypost.actor', true), '') IS NULL THEN 'sql' ELSE 'api' END $$;

-- Default state for a new flag: off; when turned on a boolean flag serves
-- "on" to everyone, a multivariate flag its first variant.
CREATE FUNCTION waypost_default_rollout(kind text, variants jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
  SELECT jsonb_agg(jsonb_build_object(
           'variant', v.e->>'key',
           'weight', CASE
                       WHEN kind = 'boolean' AND v.e->>'key' = 'on' THEN 10000
                       WHEN kind <> 'boolean' AND v.ord = 1 THEN 10000
                       ELSE 0 END) ORDER BY v.ord)
    FROM jsonb_array_elements(variants) WITH ORDINALITY AS v(e, ord)
$$;

-- ---------------------------------------------------------------------------
-- Versions and immutability
-- ---------------------------------------------------------------------------

CREATE FUNCTION waypost_flags_before_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.key <> OLD.key THEN
    RAISE EXCEPTION 'flag key is immutable (flag %)', OLD.key USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.kind <> OLD.kind THEN
    RAISE EXCEPTION 'flag kind is immutable (flag %)', OLD.key USING ERRCODE = 'check_violation';
  END IF;
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER flags_before_update BEFORE UPDATE ON flags
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_flags_before_update();

CREATE FUNCTION waypost_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.version := OLD.version + 1;
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER flag_states_before_update BEFORE UPDATE ON flag_states
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_bump_version();

-- ---------------------------------------------------------------------------
-- Per-environment state rows exist for every flag x environment
-- ---------------------------------------------------------------------------

CREATE FUNCTION waypost_flags_create_states() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO flag_states (flag_id, environment_id, off_variant, rollout)
  SELECT NEW.id, e.id,
         CASE WHEN NEW.kind = 'boolean' THEN 'off' ELSE NEW.variants->0->>'key' END,
         waypost_default_rollout(NEW.kind, NEW.variants)
    FROM environments e WHERE e.project_id = NEW.project_id;
  RETURN NULL;
END $$;
CREATE TRIGGER flags_create_states AFTER INSERT ON flags
  FOR EACH ROW EXECUTE FUNCTION waypost_flags_create_states();

CREATE FUNCTION waypost_environments_create_states() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO flag_states (flag_id, environment_id, off_variant, rollout)
  SELECT f.id, NEW.id,
         CASE WHEN f.kind = 'boolean' THEN 'off' ELSE f.variants->0->>'key' END,
         waypost_default_rollout(f.kind, f.variants)
    FROM flags f WHERE f.project_id = NEW.project_id;
  PERFORM pg_notify('waypost_revision',
          json_build_object('environment_id', NEW.id, 'revision', NEW.revision)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER environments_create_states AFTER INSERT ON environments
  FOR EACH ROW EXECUTE FUNCTION waypost_environments_create_states();

-- ---------------------------------------------------------------------------
-- Flag-event log
-- ---------------------------------------------------------------------------

CREATE FUNCTION waypost_flag_json(f flags) RETURNS jsonb
LANGUAGE sql STABLE
AS $$ SELECT jsonb_build_object('key', f.key, 'name', f.name, 'description', f.description,
       'tags', to_jsonb(f.tags), 'kind', f.kind, 'variants', f.variants, 'version', f.version,
       'archived_at', f.archived_at) $$;

CREATE FUNCTION waypost_log_flag_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  typ text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO flag_events (project_id, flag_id, flag_key, event_type, actor, source, before, after)
    VALUES (NEW.project_id, NEW.id, NEW.key, 'flag_created', waypost_actor(), waypost_actor_source(),
            NULL, waypost_flag_json(NEW));
    RETURN NULL;
  END IF;
  IF OLD.archived_at IS NULL AND NEW.archived_at IS NOT NULL THEN
    typ := 'flag_archived';
  ELSIF OLD.archived_at IS NOT NULL AND NEW.archived_at IS NULL THEN
    typ := 'flag_restored';
  ELSE
    typ := 'flag_updated';
  END IF;
  INSERT INTO flag_events (project_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (NEW.project_id, NEW.id, NEW.key, typ, waypost_actor(), waypost_actor_source(),
          waypost_flag_json(OLD), waypost_flag_json(NEW));
  RETURN NULL;
END $$;
CREATE TRIGGER flags_log_insert AFTER INSERT ON flags
  FOR EACH ROW EXECUTE FUNCTION waypost_log_flag_change();
CREATE TRIGGER flags_log_update AFTER UPDATE ON flags
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_log_flag_change();

CREATE FUNCTION waypost_log_state_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f flags;
  actor text := waypost_actor();
  src text := waypost_actor_source();
BEGIN
  SELECT * INTO f FROM flags WHERE id = NEW.flag_id;
  IF OLD.enabled IS DISTINCT FROM NEW.enabled THEN
    INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
    VALUES (f.project_id, NEW.environment_id, f.id, f.key, 'flag_toggled', actor, src,
            jsonb_build_object('enabled', OLD.enabled, 'version', OLD.version),
            jsonb_build_object('enabled', NEW.enabled, 'version', NEW.version));
  END IF;
  IF OLD.rollout IS DISTINCT FROM NEW.rollout OR OLD.salt IS DISTINCT FROM NEW.salt THEN
    INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
    VALUES (f.project_id, NEW.environment_id, f.id, f.key, 'rollout_changed', actor, src,
            jsonb_build_object('rollout', OLD.rollout, 'salt', OLD.salt, 'version', OLD.version),
            jsonb_build_object('rollout', NEW.rollout, 'salt', NEW.salt, 'version', NEW.version));
  END IF;
  IF OLD.off_variant IS DISTINCT FROM NEW.off_variant THEN
    INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
    VALUES (f.project_id, NEW.environment_id, f.id, f.key, 'off_variant_changed', actor, src,
            jsonb_build_object('off_variant', OLD.off_variant, 'version', OLD.version),
            jsonb_build_object('off_variant', NEW.off_variant, 'version', NEW.version));
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER flag_states_log_update AFTER UPDATE ON flag_states
  FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION waypost_log_state_change();

CREATE FUNCTION waypost_log_assignment_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f flags;
  r custom_assignments;
  typ text;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  SELECT * INTO f FROM flags WHERE id = r.flag_id;
  IF NOT FOUND THEN RETURN NULL; END IF; -- the flag itself is being deleted
  typ := CASE TG_OP WHEN 'INSERT' THEN 'assignment_added'
                    WHEN 'UPDATE' THEN 'assignment_changed'
                    ELSE 'assignment_removed' END;
  INSERT INTO flag_events (project_id, environment_id, flag_id, flag_key, event_type, actor, source, before, after)
  VALUES (f.project_id, r.environment_id, f.id, f.key, typ, waypost_actor(), waypost_actor_source(),
          CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE jsonb_build_object('user_id', OLD.user_id, 'variant', OLD.variant) END,
          CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE jsonb_build_object('user_id', NEW.user_id, 'variant', NEW.variant) END);
  RETURN NULL;
END $$;
CREATE TRIGGER custom_assignments_log_insert AFTER INSERT ON custom_assignments
  FOR EACH ROW EXECUTE FUNCTION waypost_log_assignment_change();
CREATE TRIGGER custom_assignments_log_update AFTER UPDATE ON custom_assignments
  FOR EACH ROW WHEN (OLD.variant IS DISTINCT FROM NEW.variant) EXECUTE FUNCTION waypost_log_assignment_change();
CREATE TRIGGER custom_assignments_log_delete AFTER DELETE ON custom_assignments
  FOR EACH ROW EXECUTE FUNCTION waypost_log_assignment_change();

-- ---------------------------------------------------------------------------
-- Revisions: bumped once per statement that touches an environment's data,
-- and announced with pg_notify on channel waypost_revision with payload
--   {"environment_id": <bigint>, "revision": <bigint>}
-- NOTIFY is transactional: listeners hear it only when the change commits.
-- ---------------------------------------------------------------------------

CREATE FUNCTION waypost_bump_revisions(env_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF env_ids IS NULL OR cardinality(env_ids) = 0 THEN RETURN; END IF;
  -- Lock in id order so concurrent multi-environment changes cannot deadlock.
  PERFORM 1 FROM environments WHERE id = ANY(env_ids) ORDER BY id FOR NO KEY UPDATE;
  FOR r IN UPDATE environments SET revision = revision + 1, updated_at = now()
            WHERE id = ANY(env_ids) RETURNING id, revision LOOP
    PERFORM pg_notify('waypost_revision',
            json_build_object('environment_id', r.id, 'revision', r.revision)::text);
    -- Remember, for the rest of this transaction, which environments changed
    -- (read by the manager to enqueue webhooks in the same transaction).
    PERFORM set_config('waypost.changed_environments',
            coalesce(nullif(current_setting('waypost.changed_environments', true), ''), '') || r.id || ',', true);
  END LOOP;
END $$;
COMMENT ON FUNCTION waypost_bump_revisions(bigint[]) IS
  'Increments environments.revision, NOTIFYs waypost_revision with {"environment_id","revision"}, and appends the id to the transaction-local setting waypost.changed_environments.';

CREATE FUNCTION waypost_bump_from_env_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM waypost_bump_revisions((SELECT array_agg(DISTINCT environment_id) FROM changed_rows));
  RETURN NULL;
END $$;

CREATE FUNCTION waypost_bump_from_flag_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM waypost_bump_revisions((SELECT array_agg(e.id) FROM environments e
                                   WHERE e.project_id IN (SELECT project_id FROM changed_rows)));
  RETURN NULL;
END $$;

CREATE TRIGGER flags_revision_insert AFTER INSERT ON flags
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_flag_rows();
CREATE TRIGGER flags_revision_update AFTER UPDATE ON flags
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_flag_rows();

CREATE TRIGGER flag_states_revision_update AFTER UPDATE ON flag_states
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();

CREATE TRIGGER custom_assignments_revision_insert AFTER INSERT ON custom_assignments
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();
CREATE TRIGGER custom_assignments_revision_update AFTER UPDATE ON custom_assignments
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();
CREATE TRIGGER custom_assignments_revision_delete AFTER DELETE ON custom_assignments
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();

CREATE TRIGGER sdk_keys_revision_insert AFTER INSERT ON sdk_keys
  REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();
-- Only changes that alter who may connect bump the revision: recording
-- last_used_at (done by providers) must not make every provider reload.
CREATE FUNCTION waypost_bump_from_key_updates() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM waypost_bump_revisions((
    SELECT array_agg(DISTINCT n.environment_id)
      FROM changed_rows n JOIN old_rows o ON o.id = n.id
     WHERE (o.revoked_at, o.kind, o.key_hash, o.environment_id)
           IS DISTINCT FROM (n.revoked_at, n.kind, n.key_hash, n.environment_id)));
  RETURN NULL;
END $$;
CREATE TRIGGER sdk_keys_revision_update AFTER UPDATE ON sdk_keys
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_key_updates();
CREATE TRIGGER sdk_keys_revision_delete AFTER DELETE ON sdk_keys
  REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION waypost_bump_from_env_rows();
