package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/store"
)

// Finding 9: a NUL character in a name, description, variant value or
// user id gave 500. Finding 10: invalid UTF-8 was silently replaced.
// Both are 400 naming the field, and nothing is written.
func TestNulAndInvalidUTF8Are400NamingTheField(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "quote")
	for body, field := range map[string]string{
		`{"key":"a","name":"x\u0000y"}`:        "name",
		`{"key":"a","description":"\u0000"}`:   "description",
		"{\"key\":\"a\",\"name\":\"caf\xe9\"}": "name",
		`{"key":"a","kind":"string","variants":[{"key":"v1","value":"ok"},{"key":"v2","value":"n\u0000"}]}`: "variants[1].value",
	} {
		r := b.mustDo(t, 400, "POST", "/api/v1/projects/default/flags", body)
		require.Equal(t, "invalid_text", r.errCode(), body)
		require.Equal(t, field, r.errField(), body)
	}
	r := b.mustDo(t, 400, "POST", "/api/v1/projects/default/flags/quote/environments/production/assignments",
		`{"assignments":[{"user_id":"ok","variant":"on"},{"user_id":"u\u0000","variant":"on"}]}`)
	require.Equal(t, "assignments[1].user_id", r.errField())
	require.Len(t, b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags", nil).items(), 1, "nothing was written")
}

// Finding 10: a POST without Content-Type was accepted, so a browser could
// send it cross-site without a preflight. It is 415, with or without a body.
func TestChangeWithoutJSONContentTypeIs415(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.createBoolFlag(t, "quote")
	r := b.mustDo(t, 415, "POST", "/api/v1/projects/default/flags", `{"key":"a"}`, "Content-Type", "")
	require.Equal(t, "unsupported_media_type", r.errCode())
	b.mustDo(t, 415, "POST", "/api/v1/projects/default/flags", `key=a`, "Content-Type", "application/x-www-form-urlencoded")
	b.mustDo(t, 415, "POST", "/api/v1/projects/default/flags/quote/archive", nil, "Content-Type", "")
	b.mustDo(t, 415, "POST", "/api/v1/projects/default/flags/quote/archive", nil, "Content-Type", "text/plain")
	flag := b.mustDo(t, 200, "GET", "/api/v1/projects/default/flags/quote", nil).body
	require.Nil(t, flag["archived_at"], "nothing changed")
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/archive", nil, "Content-Type", "application/json; charset=utf-8")
}

// Finding 8: with the database down the manager answered 500 "internal",
// hung on a frozen database, and /healthz said 200. Now: 503 with
// Retry-After and a JSON body, within the request deadline; /readyz says
// 503 (/healthz stays a liveness probe); recovery needs no restart.
func TestDatabaseDownIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	direct, dsn := testDB(t)
	token := authtest.Owner(t, store.New(direct))
	proxy := dbtest.NewProxy(t, dsn)
	cfg, err := pgxpool.ParseConfig(proxy.URL(dsn))
	require.NoError(t, err)
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	srv := api.New(store.New(pool), slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.SetRequestTimeout(500 * time.Millisecond)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	b := &testBundle{url: ts.URL, pool: pool, dsn: dsn, token: token}
	b.mustDo(t, 200, "GET", "/api/v1/projects", nil)
	b.mustDo(t, 200, "GET", "/readyz", nil)

	check := func(what string) {
		t.Helper()
		r := b.do(t, "GET", "/api/v1/projects", nil)
		require.Equal(t, 503, r.status, "%s: %s", what, r.raw)
		require.Equal(t, "database_unavailable", r.errCode(), what)
		require.Equal(t, "5", r.header.Get("Retry-After"), what)
		r = b.do(t, "POST", "/api/v1/projects/default/flags", map[string]any{"key": "down"})
		require.Equal(t, 503, r.status, "%s (a change): %s", what, r.raw)
		require.Equal(t, 503, b.do(t, "GET", "/readyz", nil).status, what)
		require.Equal(t, 200, b.do(t, "GET", "/healthz", nil).status, what)
	}
	proxy.Down()
	check("database down")
	proxy.Up()
	b.mustDo(t, 200, "GET", "/api/v1/projects", nil)

	proxy.Stall()
	check("database frozen")
	proxy.Resume()
	proxy.Cut() // the stalled connections are broken; the pool makes new ones
	require.Eventually(t, func() bool { return b.do(t, "GET", "/api/v1/projects", nil).status == 200 }, 10*time.Second, 50*time.Millisecond,
		"recovers without a restart")
}

// Finding 11: no-op updates bumped the revision and fanned out to every
// SDK. An update that changes nothing writes no event row, bumps no
// revision and sends no NOTIFY.
func TestNoOpUpdatesChangeNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	flag := b.createBoolFlag(t, "quote")
	b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote/environments/production", map[string]any{"enabled": true})
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/environments/production/assignments",
		map[string]any{"assignments": []any{map[string]any{"user_id": "u1", "variant": "on"}}})

	counts := func() (rev, events int64) {
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT (SELECT revision FROM environments WHERE key = 'production'),
			(SELECT count(*) FROM flag_events)`).Scan(&rev, &events))
		return
	}
	conn, err := pgx.Connect(ctx, b.dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "LISTEN waypost_revision")
	require.NoError(t, err)
	rev, events := counts()

	b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote", map[string]any{"version": flag["version"], "name": flag["name"]})
	b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote/environments/production", map[string]any{"enabled": true})
	b.mustDo(t, 200, "POST", "/api/v1/projects/default/flags/quote/environments/production/assignments",
		map[string]any{"assignments": []any{map[string]any{"user_id": "u1", "variant": "on"}}})
	_, err = b.pool.Exec(ctx, "UPDATE flag_states SET enabled = enabled") // psql, too
	require.NoError(t, err)

	r2, e2 := counts()
	require.Equal(t, rev, r2, "no revision bump")
	require.Equal(t, events, e2, "no event row")
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = conn.WaitForNotification(wctx)
	require.Error(t, err, "no NOTIFY")

	// A real change still bumps, logs and notifies.
	b.mustDo(t, 200, "PATCH", "/api/v1/projects/default/flags/quote/environments/production", map[string]any{"enabled": false})
	r3, e3 := counts()
	require.Equal(t, rev+1, r3)
	require.Equal(t, events+1, e3)
}
