package store_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// eventsDatabase makes an external events database with the dblink
// extension, an exposures table and a canary table user SQL must not drop.
func eventsDatabase(t *testing.T) string {
	t.Helper()
	dsn := dbtest.NewDatabase(t)
	dbtest.MustExec(t, dsn, `
CREATE EXTENSION dblink;
CREATE TABLE canary (id int);
CREATE TABLE exposures (experiment_key text, user_id text, variant text, ts timestamptz);`)
	return dsn
}

func canaryExists(t *testing.T, dsn string) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var ok bool
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT to_regclass('public.canary') IS NOT NULL").Scan(&ok))
	return ok
}

func connectionTo(t *testing.T, key, dsn string) model.SaveConnection {
	t.Helper()
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())
	return model.SaveConnection{Key: key, Name: key, Host: u.Hostname(), Port: port, Database: u.Path[1:], User: u.User.Username(),
		SSLMode: "disable", ExposuresQuery: `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`, StatementTimeoutMS: 5000}
}

// Finding 1: with a superuser events connection, dblink_exec in "Test
// query" dropped a table (READ ONLY does not bind dblink's own
// connection). Such a connection is now refused, naming why, and a role
// that may use dblink is warned about at "Test connection".
func TestSuperuserEventsConnectionIsRefused(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	events := eventsDatabase(t)

	_, err := st.CreateConnection(ctx, "default", connectionTo(t, "su", events))
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "dangerous_role", e.Code)
	require.Equal(t, "user", e.Field)
	require.Contains(t, e.Message, "superuser")

	// A reader role is accepted; being allowed to run dblink is a warning.
	readerDSN := dbtest.ReaderURL(t, events)
	_, err = st.CreateConnection(ctx, "default", connectionTo(t, "reader", readerDSN))
	require.NoError(t, err)
	warnings, err := st.TestConnection(ctx, "default", "reader")
	require.NoError(t, err)
	require.NotEmpty(t, warnings)
	require.Contains(t, strings.Join(warnings, "\n"), "dblink_exec")

	// The escape itself, through "test query" on the reader connection.
	_, err = st.TestMetricQuery(ctx, "default", model.TestMetric{Type: "binomial", Connection: "reader",
		SQL: `SELECT dblink_exec('dbname=` + strings.TrimPrefix(eventsPath(t, events), "/") + `', 'DROP TABLE canary') AS user_id, now() AS "timestamp"`})
	require.Error(t, err, "dblink as a non-superuser without a password is refused")
	require.True(t, canaryExists(t, events), "the canary table survived")
}

func eventsPath(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	return u.Path
}

// Finding 1, the worker's path: a saved metric runs through the same
// read-only transaction, which checks the login role every time (a role
// made superuser after it was saved is refused at run time).
func TestMetricRunRefusesSuperuserConnection(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	events := eventsDatabase(t)
	_, err := st.CreateConnection(ctx, "default", connectionTo(t, "su", events))
	require.Error(t, err)
	_, err = st.TestMetricQuery(ctx, "default", model.TestMetric{Type: "binomial", Connection: "builtin",
		SQL: `SELECT pg_read_file('/etc/passwd') AS user_id, now() AS "timestamp"`})
	require.Error(t, err, "pg_read_file is not the reader's")
	require.NotContains(t, err.Error(), "root:")
}

// Finding 2: on the built-in store, SET LOCAL ROLE was undone by
// set_config('role','none',true) inside query_to_xml, which then read
// sdk_keys hashes and could kill the provider's LISTEN connection. User SQL
// now runs on its own login as the reader role: there is no role to go
// back to.
func TestBuiltinStoreReaderCannotEscape(t *testing.T) {
	t.Parallel()
	pool, dsn := dbtest.NewMigrated(t)
	st := store.New(pool)
	ctx := context.Background()
	_, err := st.CreateSDKKey(ctx, "default", "production", model.CreateSDKKey{Name: "k", Kind: "server"})
	require.NoError(t, err)

	// Waypost's own LISTEN connection, which the query tries to kill.
	listener, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer listener.Close(ctx)
	_, err = listener.Exec(ctx, "LISTEN waypost_revision")
	require.NoError(t, err)

	escape := func(inner string) (store.QueryPreview, error) {
		return st.TestMetricQuery(ctx, "default", model.TestMetric{Type: "binomial", Connection: "builtin",
			SQL: `SELECT query_to_xml('SELECT set_config(''role'', ''none'', true) AS r', true, false, '')::text
			         || query_to_xml('` + inner + `', true, false, '')::text AS user_id, now() AS "timestamp"`})
	}
	for _, inner := range []string{
		`SELECT encode(key_hash, ''hex'') AS h FROM sdk_keys`,
		`SELECT password_ciphertext FROM events_connections`,
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
	} {
		prev, err := escape(inner)
		require.Error(t, err, "%s: %v", inner, prev.Rows)
		require.Regexp(t, "permission denied|must be a superuser", err.Error(), inner)
	}
	// Who the query runs as, even after resetting the role.
	prev, err := st.TestMetricQuery(ctx, "default", model.TestMetric{Type: "binomial", Connection: "builtin",
		SQL: `SELECT set_config('role', 'none', true) || current_user AS user_id, now() AS "timestamp"`})
	require.NoError(t, err)
	require.Len(t, prev.Rows, 1)
	require.Contains(t, string(prev.Rows[0][0]), "waypost_events_reader")

	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, listener.Ping(pctx), "the LISTEN connection survived")
}

// Finding 10 (preview size): "test query" previews are bounded in bytes.
func TestQueryPreviewIsBounded(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	_, err := st.TestMetricQuery(context.Background(), "default", model.TestMetric{Type: "binomial", Connection: "builtin", Limit: 100,
		SQL: `SELECT repeat('x', 1000000) || g AS user_id, now() AS "timestamp" FROM generate_series(1, 100) g`})
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, errs.KindInvalid, e.Kind)
	require.Contains(t, e.Message, "preview is larger")
}
