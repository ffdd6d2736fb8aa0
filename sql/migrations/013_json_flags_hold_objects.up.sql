-- A json flag holds OpenFeature's object type: every variant value is a
-- JSON object (arrays, scalars and null are refused), so OFREP never
-- serves a value its schema rejects. The manager validates this first
-- (internal/model); the constraint also covers edits made with psql.
-- NOT VALID: rows saved before this migration are not rewritten (the
-- provider answers OFREP GENERAL for such a flag until it is re-saved).
ALTER TABLE flags ADD CONSTRAINT flags_json_variants_are_objects
  CHECK (kind <> 'json' OR NOT jsonb_path_exists(variants, '$[*] ? (@.value.type() != "object")'))
  NOT VALID;
COMMENT ON CONSTRAINT flags_json_variants_are_objects ON flags IS
  'json flags: every variant value is a JSON object (OpenFeature object type). NOT VALID: older rows are left as they were.';
