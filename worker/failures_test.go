package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/worker"
)

// newEventsDB creates an events database with 200 users exposed a day ago
// to experiment key (control/treatment) and purchase events.
func newEventsDB(t *testing.T, key string) string {
	t.Helper()
	dsn := dbtest.NewDatabase(t)
	dbtest.MustExec(t, dsn, `
CREATE TABLE exposures (experiment_key text, user_id text, variant text, ts timestamptz);
CREATE TABLE events (user_id text, ts timestamptz, value double precision);
INSERT INTO exposures SELECT '`+key+`', 'u' || i, CASE WHEN i % 2 = 0 THEN 'control' ELSE 'treatment' END,
       now() - interval '1 day' + i * interval '1 second' FROM generate_series(1, 200) i;
INSERT INTO events SELECT 'u' || i, now() - interval '12 hours', (i % 7)::double precision
  FROM generate_series(1, 200) i WHERE i % 3 = 0;`)
	return dsn
}

const exposuresSQL = `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`

// setupExperiment registers the events database, a metric and a running
// experiment on a boolean flag.
func setupExperiment(t *testing.T, h *harness, key string) string {
	t.Helper()
	dsn := newEventsDB(t, key)
	h.must(201, "POST", "/connections", connectionBody(t, "ev", dsn, exposuresSQL))
	h.must(201, "POST", "/flags", map[string]any{"key": "f-" + key})
	h.must(200, "PATCH", "/flags/f-"+key+"/environments/production", map[string]any{"enabled": true})
	h.must(201, "POST", "/metrics", map[string]any{"key": "revenue", "type": "revenue", "connection": "ev",
		"sql": `SELECT user_id, ts AS "timestamp", value FROM events`})
	h.must(201, "POST", "/experiments", map[string]any{"key": key, "flag": "f-" + key, "environment": "production",
		"primary_metrics": []string{"revenue"}})
	h.must(200, "POST", "/experiments/"+key+"/start", nil)
	// The fixture's exposures are from the last day: date the start before
	// them (exposures before the start do not count).
	_, err := h.pool.Exec(context.Background(), `WITH x AS (UPDATE experiments SET started_at = now() - interval '2 days' WHERE key = $1 RETURNING id)
	  UPDATE experiment_phases SET started_at = now() - interval '2 days' WHERE experiment_id IN (SELECT id FROM x)`, key)
	require.NoError(t, err)
	return dsn
}

func TestConnectionAndMetricValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dsn := newEventsDB(t, "x")

	bad := connectionBody(t, "bad", dsn, exposuresSQL)
	bad["database"] = "waypost_no_such_db"
	r := h.must(422, "POST", "/connections", bad)
	require.Contains(t, r.errMessage(), `database "waypost_no_such_db" does not exist`)

	bad = connectionBody(t, "bad", dsn, `SELECT experiment_key, user_id, ts AS "timestamp" FROM exposures`)
	r = h.must(422, "POST", "/connections", bad)
	require.Contains(t, r.errMessage(), `missing column "variant"`)

	bad = connectionBody(t, "bad", dsn, exposuresSQL)
	bad["port"] = 1
	r = h.do("POST", "/connections", bad)
	require.Equal(t, 502, r.status, r.raw)
	require.Equal(t, "unreachable", r.errCode(), r.raw)
	require.Regexp(t, `^cannot reach (127\.0\.0\.1|localhost):1 \(connection refused: is the server running and listening on that port\?\)$`, r.errMessage(), "one message naming host:port and the reason")

	c := h.must(201, "POST", "/connections", connectionBody(t, "ev", dsn, exposuresSQL)).body
	require.Equal(t, true, c["has_password"])
	require.NotContains(t, c, "password")
	got := h.must(200, "GET", "/connections/ev", nil)
	require.NotContains(t, got.raw, "not-needed-with-trust", "the password is never returned")
	var cipher []byte
	require.NoError(t, h.pool.QueryRow(context.Background(), "SELECT password_ciphertext FROM events_connections WHERE key = 'ev'").Scan(&cipher))
	require.NotContains(t, string(cipher), "not-needed-with-trust", "the password is encrypted at rest")
	h.must(200, "POST", "/connections/ev/test", nil)

	// Bad SQL: 422 with the database's own message.
	r = h.must(422, "POST", "/metrics", map[string]any{"key": "m", "type": "count", "connection": "ev",
		"sql": `SELECT user_id, ts AS "timestamp" FROM no_such_table`})
	require.Contains(t, r.errMessage(), `relation "no_such_table" does not exist`)
	r = h.must(422, "POST", "/metrics", map[string]any{"key": "m", "type": "revenue", "connection": "ev",
		"sql": `SELECT user_id, ts AS "timestamp" FROM events`})
	require.Contains(t, r.errMessage(), `missing column "value"`)

	// Test query: rows and the column check.
	p := h.must(200, "POST", "/metrics/test", map[string]any{"type": "revenue", "connection": "ev", "limit": 3,
		"sql": `SELECT user_id, ts AS "timestamp", value FROM events`}).body
	require.Equal(t, true, p["ok"])
	require.Len(t, p["rows"], 3)
	p = h.must(200, "POST", "/metrics/test", map[string]any{"type": "revenue", "connection": "ev",
		"sql": `SELECT user_id, ts FROM events`}).body
	require.Equal(t, false, p["ok"])
	require.Contains(t, p["problems"].([]any)[0], `missing column "timestamp"`)
	r = h.must(422, "POST", "/metrics/test", map[string]any{"type": "count", "connection": "ev", "sql": `SELECT user_id, FROM events`})
	require.Contains(t, r.errMessage(), "syntax error")
}

func TestPasswordNeedsSecretKey(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	st := store.New(pool)
	srv := httptest.NewServer(authtest.AsOwner(t, st, api.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)))))
	t.Cleanup(srv.Close)
	dsn := newEventsDB(t, "x")
	body := connectionBody(t, "ev", dsn, exposuresSQL)
	b, _ := jsonBytes(body)
	res, err := http.Post(srv.URL+"/api/v1/projects/default/connections", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, 422, res.StatusCode, string(raw))
	require.Contains(t, string(raw), "WAYPOST_SECRET_KEY")
	require.NotContains(t, string(raw), "not-needed-with-trust")
	delete(body, "password")
	b, _ = jsonBytes(body)
	res, err = http.Post(srv.URL+"/api/v1/projects/default/connections", "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 201, res.StatusCode, "a connection without a password needs no key")
}

func TestRefreshFailuresKeepLastResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	h.startWorker(worker.ExperimentOptions{})
	dsn := setupExperiment(t, h, "exp")

	first, _ := h.refresh("exp")
	require.Equal(t, "succeeded", first["status"], "%v", first["error"])
	firstID := first["id"]

	// A metric that writes (through a function): refused by the READ ONLY
	// transaction, not by Waypost's query validation.
	dbtest.MustExec(t, dsn, `CREATE FUNCTION wipe(u text) RETURNS boolean LANGUAGE plpgsql AS
	  $$ BEGIN DELETE FROM events WHERE user_id = u; RETURN true; END $$`)
	dbtest.MustExec(t, dsn, `INSERT INTO exposures SELECT 'exp-writer', user_id, variant, ts FROM exposures`)
	h.must(201, "POST", "/metrics", map[string]any{"key": "writer", "type": "count", "connection": "ev",
		"sql": `SELECT user_id, ts AS "timestamp" FROM events WHERE wipe(user_id)`})
	h.must(201, "POST", "/experiments", map[string]any{"key": "exp-writer", "flag": "f-exp", "environment": "development",
		"primary_metrics": []string{"writer"}})
	w, _ := h.refresh("exp-writer", map[string]any{"start": time.Now().Add(-48 * time.Hour)}) // a draft: a preview
	require.Equal(t, "failed", w["status"])
	require.Equal(t, "query_error", w["error_code"])
	require.Contains(t, w["error"], "read-only transaction")
	var n int
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&n))
	require.Equal(t, 66, n, "nothing was deleted")

	// Past the statement timeout: fails cleanly, the last results stay.
	_, err = h.pool.Exec(ctx, `UPDATE metrics SET sql = 'SELECT user_id, ts AS "timestamp", value FROM events CROSS JOIN pg_sleep(2)' WHERE key = 'revenue'`)
	require.NoError(t, err)
	_, err = h.pool.Exec(ctx, `UPDATE events_connections SET statement_timeout_ms = 200 WHERE key = 'ev'`)
	require.NoError(t, err)
	to, page := h.refresh("exp")
	require.Equal(t, "failed", to["status"])
	require.Equal(t, "timeout", to["error_code"])
	require.Contains(t, to["error"], "statement timeout")
	require.Equal(t, firstID, page["latest"].(map[string]any)["id"], "the previous results are kept")
	require.NotEmpty(t, to["statements"], "the SQL that ran is recorded")
	// Asked about by its job id, the failed refresh says failed and why.
	st := h.must(200, "GET", fmt.Sprintf("/experiments/exp/refreshes/%.0f", to["job_id"].(float64)), nil).body
	require.Equal(t, "failed", st["state"], "%v", st)
	require.Contains(t, st["error"], "statement timeout")
	require.Equal(t, "timeout", st["refresh"].(map[string]any)["error_code"])
	require.Nil(t, st["results"], "a failed refresh has no results")

	// Unreachable events database: a clear status.
	_, err = h.pool.Exec(ctx, `UPDATE events_connections SET port = 1, statement_timeout_ms = 30000 WHERE key = 'ev'`)
	require.NoError(t, err)
	un, page := h.refresh("exp")
	require.Equal(t, "failed", un["status"])
	require.Equal(t, "unreachable", un["error_code"], "%v", un["error"])
	require.Contains(t, un["error"], "cannot reach the events database")
	require.Equal(t, firstID, page["latest"].(map[string]any)["id"])

	// psql users read the latest results from a view.
	var refreshID int64
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT refresh_id FROM experiment_latest_results WHERE experiment = 'exp'").Scan(&refreshID))
	require.EqualValues(t, firstID, refreshID)
	hist := page["history"].([]any)
	require.Len(t, hist, 3)
	require.True(t, strings.HasPrefix(hist[0].(map[string]any)["status"].(string), "failed"))
}
