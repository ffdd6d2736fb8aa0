package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/secret"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/worker"
)

const testSecretKey = "test-secret-key-0123456789abcdef-xyz"

func testLogger() *slog.Logger {
	if os.Getenv("WAYPOST_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// harness is a manager (API with River inserts) on a fresh database, and
// optionally River workers running the experiment jobs.
type harness struct {
	t    *testing.T
	pool *pgxpool.Pool
	dsn  string
	st   *store.Store
	url  string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	pool, dsn := dbtest.NewMigrated(t)
	st := store.New(pool)
	box, err := secret.New(testSecretKey)
	require.NoError(t, err)
	st.UseSecrets(box)
	inserter, err := worker.NewClient(pool, testLogger(), false, worker.ExperimentJobs(nil, nil, testLogger(), worker.ExperimentOptions{}))
	require.NoError(t, err)
	srv := api.New(st, testLogger())
	srv.SetJobs(worker.NewJobs(inserter))
	hs := httptest.NewServer(authtest.AsOwner(t, st, srv))
	t.Cleanup(hs.Close)
	return &harness{t: t, pool: pool, dsn: dsn, st: st, url: hs.URL}
}

// startWorker runs a River client working the experiment jobs (its own
// pool, as another process would have).
func (h *harness) startWorker(opts worker.ExperimentOptions) {
	t := h.t
	t.Helper()
	pool, err := pgxpool.New(context.Background(), h.dsn)
	require.NoError(t, err)
	st := store.New(pool)
	box, _ := secret.New(testSecretKey)
	st.UseSecrets(box)
	pools := eventsdb.NewPools(pool, 8)
	client, err := worker.NewClient(pool, testLogger(), true, worker.ExperimentJobs(st, pools, testLogger(), opts))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		cancel()
		sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		_ = client.Stop(sctx)
		pools.Close()
		pool.Close()
	})
}

type resp struct {
	status int
	body   map[string]any
	raw    string
}

func (r resp) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r resp) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (h *harness) do(method, path string, body any) resp {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(h.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.url+"/api/v1/projects/default"+path, rd)
	require.NoError(h.t, err)
	if rd != nil || method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, raw: string(raw)}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out.body)
	}
	return out
}

func (h *harness) must(status int, method, path string, body any) resp {
	h.t.Helper()
	r := h.do(method, path, body)
	require.Equal(h.t, status, r.status, "%s %s: %s", method, path, r.raw)
	return r
}

// connectionBody describes the events database at dsn as an API body.
func connectionBody(t *testing.T, key, dsn, exposures string) map[string]any {
	t.Helper()
	u, err := url.Parse(dbtest.ReaderURL(t, dsn))
	require.NoError(t, err)
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 5432
	}
	return map[string]any{"key": key, "host": u.Hostname(), "port": port, "database": u.Path[1:],
		"user": u.User.Username(), "password": "not-needed-with-trust", "ssl_mode": "disable",
		"exposures_query": exposures, "statement_timeout_ms": 30000}
}

// waitRefresh waits for the refresh job jobID to be recorded and returns
// the results page.
func (h *harness) waitRefresh(exp string, jobID float64) map[string]any {
	h.t.Helper()
	var page map[string]any
	require.Eventually(h.t, func() bool {
		page = h.must(200, "GET", "/experiments/"+exp+"/results", nil).body
		for _, r := range page["history"].([]any) {
			m := r.(map[string]any)
			if m["job_id"] == jobID && m["status"] != "running" {
				return true
			}
		}
		return false
	}, 60*time.Second, 50*time.Millisecond, "refresh of %s (job %v)", exp, jobID)
	return page
}

// refresh enqueues a results refresh and waits for it; it returns the
// history entry of that refresh and the page.
func (h *harness) refresh(exp string, window ...map[string]any) (map[string]any, map[string]any) {
	h.t.Helper()
	var body any
	if len(window) > 0 {
		body = window[0]
	}
	job := h.must(202, "POST", "/experiments/"+exp+"/refresh", body).body
	page := h.waitRefresh(exp, job["job_id"].(float64))
	// River records the job's completion asynchronously; until then an
	// identical insert is a duplicate (the double-click protection).
	require.Eventually(h.t, func() bool {
		var state string
		_ = h.pool.QueryRow(context.Background(), "SELECT state FROM river_job WHERE id = $1", int64(job["job_id"].(float64))).Scan(&state)
		return state == "completed"
	}, 30*time.Second, 20*time.Millisecond)
	for _, r := range page["history"].([]any) {
		m := r.(map[string]any)
		if m["job_id"] == job["job_id"] {
			return m, page
		}
	}
	h.t.Fatal("refresh not in history")
	return nil, nil
}

var _ = river.QueueDefault

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }
