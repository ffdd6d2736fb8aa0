-- Flag providers register themselves here so that workers know where to
-- deliver webhooks. A provider refreshes last_seen_at every few seconds;
-- rows not seen for a minute are considered gone (webhooks skip them) and
-- are deleted by the provider that notices.

CREATE TABLE providers (
  id            text PRIMARY KEY,
  webhook_url   text NOT NULL CHECK (webhook_url ~ '^https?://'),
  started_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE providers IS 'Running flag providers and their webhook URLs; heartbeat in last_seen_at.';
COMMENT ON COLUMN providers.id IS 'Random instance id chosen by the provider at start.';

CREATE VIEW live_providers AS
SELECT * FROM providers WHERE last_seen_at > now() - interval '1 minute';
COMMENT ON VIEW live_providers IS 'Providers seen in the last minute: the ones webhooks are sent to.';
