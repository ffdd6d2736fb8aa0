package provider_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/authtest"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/provider"
	"github.com/waypost/waypost/worker"
)

const secret = "test-webhook-secret-0123456789-0123456789"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testLogger() *slog.Logger {
	if os.Getenv("WAYPOST_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return quiet
}

// harness is Waypost on one fresh database: a manager (API with webhook
// enqueueing), optionally a River worker, and any number of providers.
type harness struct {
	t       *testing.T
	pool    *pgxpool.Pool
	dsn     string
	st      *store.Store
	manager string
}

func newHarness(t *testing.T, withWorker bool) *harness {
	t.Helper()
	pool, dsn := dbtest.NewMigrated(t)
	st := store.New(pool)
	inserter, err := worker.NewClient(pool, testLogger(), false, provider.WebhookJobs(pool, secret, testLogger()))
	require.NoError(t, err)
	provider.EnqueueWebhooksOnChange(st, inserter)
	mgr := httptest.NewServer(authtest.AsOwner(t, st, api.New(st, testLogger())))
	t.Cleanup(mgr.Close)
	h := &harness{t: t, pool: pool, dsn: dsn, st: st, manager: mgr.URL}
	if withWorker {
		client, err := worker.NewClient(pool, testLogger(), true, provider.WebhookJobs(pool, secret, testLogger()))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, client.Start(ctx))
		t.Cleanup(func() {
			cancel()
			sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
			defer c2()
			_ = client.Stop(sctx)
		})
	}
	return h
}

type runningProvider struct {
	p    *provider.Provider
	url  string
	addr string
	stop func()
}

// startProvider runs a provider with its own pool (as a separate process
// would have) on addr ("" for any free port).
func (h *harness) startProvider(addr string, mutate ...func(*provider.Config)) *runningProvider {
	t := h.t
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the address of a restarted provider may linger briefly
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	pool, err := pgxpool.New(context.Background(), h.dsn)
	require.NoError(t, err)
	cfg := provider.Config{Pool: pool, Log: testLogger(), WebhookSecret: secret, WebhookURL: url + "/internal/webhook",
		HeartbeatInterval: time.Hour, CheckInterval: time.Hour}
	for _, m := range mutate {
		m(&cfg)
	}
	p, err := provider.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	srv := &http.Server{Handler: p.Handler()}
	go func() { _ = srv.Serve(ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		_ = srv.Close()
		pool.Close()
	}
	t.Cleanup(stop)
	require.Eventually(t, p.Ready, 10*time.Second, 10*time.Millisecond, "provider ready")
	return &runningProvider{p: p, url: url, addr: ln.Addr().String(), stop: stop}
}

func (h *harness) sdkKey(kind string) (string, int64) {
	h.t.Helper()
	k, err := h.st.CreateSDKKey(context.Background(), "default", "production", model.CreateSDKKey{Name: "test " + kind, Kind: kind})
	require.NoError(h.t, err)
	return k.Secret, k.ID
}

func (h *harness) createFlag(key string) {
	h.t.Helper()
	_, err := h.st.CreateFlag(context.Background(), "default", model.CreateFlag{Key: key})
	require.NoError(h.t, err)
}

// toggle switches a flag in production through the manager's REST API.
func (h *harness) toggle(key string, on bool) {
	h.t.Helper()
	body := `{"enabled":false}`
	if on {
		body = `{"enabled":true}`
	}
	req, _ := http.NewRequest("PATCH", h.manager+"/api/v1/projects/default/flags/"+key+"/environments/production", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	_ = res.Body.Close()
	require.Equal(h.t, 200, res.StatusCode)
}

func (h *harness) revision() int64 {
	h.t.Helper()
	var rev int64
	require.NoError(h.t, h.pool.QueryRow(context.Background(), "SELECT revision FROM environments WHERE key = 'production'").Scan(&rev))
	return rev
}

func (h *harness) prodID() int64 {
	var id int64
	require.NoError(h.t, h.pool.QueryRow(context.Background(), "SELECT id FROM environments WHERE key = 'production'").Scan(&id))
	return id
}

// sseEvent is one parsed server-sent event ("comment" for ": ..." lines).
type sseEvent struct {
	name, id, data string
}

type sseClient struct {
	res    *http.Response
	events chan sseEvent
}

// openStream connects to path with key; lastID sets Last-Event-ID.
func openStream(t *testing.T, url, key, lastID string) (*sseClient, int) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	if res.StatusCode != 200 {
		_ = res.Body.Close()
		return nil, res.StatusCode
	}
	c := &sseClient{res: res, events: make(chan sseEvent, 1000)}
	go func() {
		defer close(c.events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				c.events <- sseEvent{name: "comment", data: line}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(func() { _ = res.Body.Close() })
	return c, 200
}

// next returns the next event that is not a comment (unless wantComment).
func (c *sseClient) next(t *testing.T, wantComment bool) sseEvent {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev, ok := <-c.events:
			require.True(t, ok, "stream closed")
			if ev.name == "comment" && !wantComment {
				continue
			}
			return ev
		case <-timeout:
			t.Fatal("no event within 15 s")
		}
	}
}

// waitRevision reads events until one with id rev arrives.
func (c *sseClient) waitRevision(t *testing.T, rev int64) sseEvent {
	t.Helper()
	want := itoa(rev)
	for {
		ev := c.next(t, false)
		if ev.id == want {
			return ev
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func metricValue(t *testing.T, url, series string) float64 {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if name, val, ok := strings.Cut(line, " "); ok && name == series {
			var f float64
			_, err := fmt.Sscan(val, &f)
			require.NoError(t, err)
			return f
		}
	}
	return 0
}
