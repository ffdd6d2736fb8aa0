package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/store"
)

type testBundle struct {
	url  string
	pool *pgxpool.Pool
	dsn  string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	pool, dsn := dbtest.NewMigrated(t)
	srv := httptest.NewServer(api.New(store.New(pool), slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return &testBundle{url: srv.URL, pool: pool, dsn: dsn}
}

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
