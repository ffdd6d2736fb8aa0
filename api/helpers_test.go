package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/store"
)

type testBundle struct {
	url  string
	pool *pgxpool.Pool
	dsn  string
	st   *store.Store
	api  *api.Server
	// token is sent as Authorization: Bearer on every request (setup: an
	// instance owner's personal token); "" sends no credentials.
	token string
	logs  *syncBuffer // everything the API logged (debug level)
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// setup starts the API on a fresh database; its requests act as an
// instance owner. b.anon() sends none, b.as(t, role) acts with a role in
// the default project.
func setup(t *testing.T) *testBundle {
	t.Helper()
	pool, dsn := testDB(t)
	st := store.New(pool)
	logs := &syncBuffer{}
	a := api.New(st, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &testBundle{url: srv.URL, pool: pool, dsn: dsn, st: st, api: a, token: authtest.Owner(t, st), logs: logs}
}

// testDB is a fresh migrated database whose store hashes passwords cheaply.
func testDB(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	return dbtest.NewMigrated(t)
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// anon is b without credentials.
func (b *testBundle) anon() *testBundle {
	c := *b
	c.token = ""
	return &c
}

// withToken is b acting with token.
func (b *testBundle) withToken(token string) *testBundle {
	c := *b
	c.token = token
	return &c
}

// as is b acting as a new user with role in the default project (role
// "owner": a new instance owner; "none": a user with no role).
func (b *testBundle) as(t *testing.T, role string) *testBundle {
	t.Helper()
	email := fmt.Sprintf("%s-%d@waypost.test", role, userSeq.Add(1))
	switch role {
	case "owner":
		return b.withToken(authtest.User(t, b.st, email, true, "", ""))
	case "none":
		return b.withToken(authtest.User(t, b.st, email, false, "", ""))
	}
	return b.withToken(authtest.User(t, b.st, email, false, "default", role))
}

var userSeq atomic.Int64

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// errCode returns error.code of an error response.
func (r response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r response) errField() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["field"].(string)
	return s
}

func (r response) items() []any {
	items, _ := r.body["items"].([]any)
	return items
}

// do sends body (a string is sent as is, anything else as JSON).
func (b *testBundle) do(t *testing.T, method, path string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		enc, err := json.Marshal(v)
		require.NoError(t, err)
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	require.NoError(t, err)
	if rd != nil || method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 {
		require.Equal(t, "application/json", res.Header.Get("Content-Type"), "body: %s", raw)
		require.NoError(t, json.Unmarshal(raw, &out.body), "body: %s", raw)
	}
	return out
}

// mustDo is do that requires the given status.
func (b *testBundle) mustDo(t *testing.T, status int, method, path string, body any, headers ...string) response {
	t.Helper()
	r := b.do(t, method, path, body, headers...)
	require.Equal(t, status, r.status, "%s %s: %s", method, path, r.raw)
	return r
}

func (b *testBundle) createBoolFlag(t *testing.T, key string) map[string]any {
	t.Helper()
	return b.mustDo(t, 201, "POST", "/api/v1/projects/default/flags", map[string]any{"key": key, "name": "Flag " + key}).body
}

// state returns the flag's state in env from a flag response body.
func state(t *testing.T, flag map[string]any, env string) map[string]any {
	t.Helper()
	for _, e := range flag["environments"].([]any) {
		m := e.(map[string]any)
		if m["environment"] == env {
			return m
		}
	}
	t.Fatalf("no environment %q in %v", env, flag)
	return nil
}
