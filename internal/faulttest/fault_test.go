package faulttest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/provider"
	waypost "github.com/waypost/waypost/sdk"
	"github.com/waypost/waypost/worker"
)

const (
	secret   = "fault-suite-webhook-secret-0123456789-0123"
	flags    = 6
	converge = 45 * time.Second // the bound every scenario must meet
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type suite struct {
	t        *testing.T
	pool     *pgxpool.Pool // the manager's and worker's: never faulted
	dsn      string
	st       *store.Store
	proxy    *dbtest.Proxy // in front of the provider's database connections
	snapshot string
	key      string
	client   *waypost.Client
	addr     string // the provider's address (kept across restarts)
	stopProv func()
}

func newSuite(t *testing.T, webhooks bool) *suite {
	t.Helper()
	pool, dsn := dbtest.NewMigrated(t)
	s := &suite{t: t, pool: pool, dsn: dsn, st: store.New(pool), snapshot: filepath.Join(t.TempDir(), "snapshot.json")}
	s.proxy = dbtest.NewProxy(t, dsn)
	if webhooks {
		inserter, err := worker.NewClient(pool, quiet, false, provider.WebhookJobs(pool, secret, quiet))
		require.NoError(t, err)
		provider.EnqueueWebhooksOnChange(s.st, inserter)
		w, err := worker.NewClient(pool, quiet, true, provider.WebhookJobs(pool, secret, quiet))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		require.NoError(t, w.Start(ctx))
		t.Cleanup(func() {
			cancel()
			sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
			defer c()
			_ = w.Stop(sctx)
		})
	}
	ctx := context.Background()
	for i := 0; i < flags; i++ {
		_, err := s.st.CreateFlag(ctx, "default", model.CreateFlag{Key: fmt.Sprintf("f%d", i)})
		require.NoError(t, err)
	}
	k, err := s.st.CreateSDKKey(ctx, "default", "production", model.CreateSDKKey{Name: "sdk", Kind: "server"})
	require.NoError(t, err)
	s.key = k.Secret
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = ln.Addr().String()
	s.startProvider(ln, webhooks)
	require.Eventually(t, func() bool {
		res, err := http.Get("http://" + s.addr + "/readyz")
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == 200
	}, 20*time.Second, 20*time.Millisecond)
	s.client, err = waypost.New(ctx, waypost.Config{ProviderURL: "http://" + s.addr, SDKKey: s.key,
		InitialBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.client.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, s.client.WaitForReady(wctx))
	return s
}

// startProvider runs a provider on ln whose database is behind the proxy.
func (s *suite) startProvider(ln net.Listener, webhooks bool) {
	t := s.t
	cfg, err := pgxpool.ParseConfig(s.proxy.URL(s.dsn))
	require.NoError(t, err)
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	pc := provider.Config{Pool: pool, Log: quiet, WebhookSecret: secret, SnapshotFile: s.snapshot,
		HeartbeatInterval: time.Second, CheckInterval: 2 * time.Second}
	if webhooks {
		pc.WebhookURL = "http://" + s.addr + "/internal/webhook"
	} else {
		pc.WebhookURL = "http://127.0.0.1:9/internal/webhook" // registered, never reached: webhooks lost
	}
	p, err := provider.New(pc)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	srv := &http.Server{Handler: p.Handler()}
	go func() { _ = srv.Serve(ln) }()
	stopped := false
	s.stopProv = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		_ = srv.Close()
		pool.Close()
	}
	t.Cleanup(s.stopProv)
}

// change toggles a random flag (through the store: logged, versioned,
// webhooks enqueued) and returns nothing; the truth is re-read at the end.
func (s *suite) change() {
	s.t.Helper()
	on := rand.IntN(2) == 1
	_, err := s.st.UpdateState(context.Background(), "default", fmt.Sprintf("f%d", rand.IntN(flags)), "production", model.UpdateState{Enabled: &on})
	require.NoError(s.t, err)
}

// converged asserts that the SDK reaches the database's revision within
// the bound and that every flag has the database's value (no change lost).
func (s *suite) converged(what string) {
	t := s.t
	t.Helper()
	ctx := context.Background()
	var rev int64
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT revision FROM environments WHERE key = 'production'").Scan(&rev))
	require.Eventually(t, func() bool { return s.client.Status().Revision == rev }, converge, 20*time.Millisecond,
		"%s: SDK at revision %d, database at %d", what, s.client.Status().Revision, rev)
	for i := 0; i < flags; i++ {
		key := fmt.Sprintf("f%d", i)
		f, err := s.st.GetFlag(ctx, "default", key)
		require.NoError(t, err)
		var want bool
		for _, e := range f.Environments {
			if e.Environment == "production" {
				want = e.Enabled
			}
		}
		require.Equal(t, want, s.client.Bool(key, "user-1", !want), "%s: flag %s", what, key)
	}
}

func TestDatabaseRestart(t *testing.T) {
	t.Parallel()
	s := newSuite(t, true)
	for round := 0; round < 3; round++ {
		s.change()
		s.proxy.Cut() // every connection of the provider dies, LISTEN included
		s.change()
		s.converged(fmt.Sprintf("restart %d", round))
	}
}

func TestDatabaseFrozen(t *testing.T) {
	t.Parallel()
	s := newSuite(t, true)
	s.proxy.Stall()
	for i := 0; i < 3; i++ {
		s.change()
	}
	time.Sleep(500 * time.Millisecond) // the provider's reads hang on the frozen connections
	s.proxy.Resume()
	s.converged("after a freeze")
	// Frozen long enough that the stuck connections are given up.
	s.proxy.Stall()
	s.change()
	time.Sleep(time.Second)
	s.proxy.Cut()
	s.proxy.Resume()
	s.change()
	s.converged("after a freeze that broke the connections")
}

func TestListenKilledAndWebhooksLost(t *testing.T) {
	t.Parallel()
	s := newSuite(t, false) // every webhook is lost: only the database can tell the provider
	ctx := context.Background()
	for round := 0; round < 3; round++ {
		_, err := s.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'listen%'`)
		require.NoError(t, err)
		s.change()
		s.change()
		s.converged(fmt.Sprintf("LISTEN killed %d", round))
	}
}

func TestProviderRestartedFromSnapshotWhileDatabaseIsDown(t *testing.T) {
	t.Parallel()
	s := newSuite(t, true)
	s.change()
	s.converged("before")
	time.Sleep(1500 * time.Millisecond) // the snapshot file is rewritten at most once a second
	s.proxy.Down()
	s.stopProv() // killed
	s.change()   // while the provider is gone and its database unreachable
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	require.NoError(t, err)
	s.startProvider(ln, true)
	// Serving from the snapshot with the database still down.
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/v1/flags", nil)
		req.Header.Set("Authorization", "Bearer "+s.key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		_ = res.Body.Close()
		return res.StatusCode == 200
	}, 20*time.Second, 20*time.Millisecond, "ready from the snapshot")
	s.proxy.Up()
	s.change()
	s.converged("after the restart from the snapshot")
}
