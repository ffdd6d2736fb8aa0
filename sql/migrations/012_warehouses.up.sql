-- Events connections of other engines: ClickHouse (native protocol) and
-- MySQL/MariaDB, besides the built-in store and PostgreSQL.
ALTER TABLE events_connections DROP CONSTRAINT events_connections_kind_check;
ALTER TABLE events_connections ADD CONSTRAINT events_connections_kind_check
  CHECK (kind IN ('builtin', 'postgres', 'clickhouse', 'mysql'));
COMMENT ON COLUMN events_connections.kind IS 'builtin: Waypost''s own events_exposures/events_metric tables; postgres, clickhouse (native protocol, port 9000 or 9440 with TLS), mysql (MySQL or MariaDB): an external database. Waypost runs its statements in that engine''s SQL (internal/metricsql dialects).';
COMMENT ON COLUMN events_connections.statement_timeout_ms IS 'Time limit of every query Waypost runs on this connection: statement_timeout (postgres), max_execution_time (clickhouse, whole seconds rounded up), max_statement_time / max_execution_time (mysql).';
