package provider_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/provider"
)

// A client that never reads must not delay anyone else: its writes time
// out and it is closed, while a healthy client gets every change.
func TestSlowConsumerDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("big")
	// About 400 KB of assignments make every event large.
	var batch []model.Assignment
	for i := 0; i < 10000; i++ {
		batch = append(batch, model.Assignment{UserID: fmt.Sprintf("user-with-a-longish-identifier-%06d", i), Variant: "on"})
	}
	_, err := h.st.SetAssignments(context.Background(), "default", "big", "production", model.SetAssignments{Assignments: batch})
	require.NoError(t, err)
	key, _ := h.sdkKey("server")
	prov := h.startProvider("", func(c *provider.Config) { c.Writers = 2 })

	// Three stuck clients with tiny receive buffers that never read.
	for i := 0; i < 3; i++ {
		d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		}}
		conn, err := d.Dial("tcp", prov.addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		_, err = fmt.Fprintf(conn, "GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", key)
		require.NoError(t, err)
	}
	healthy, _ := openStream(t, prov.url+"/v1/stream", key, "")
	healthy.next(t, false)

	for i := 0; i < 6; i++ {
		h.toggle("big", i%2 == 0)
		ev := healthy.waitRevision(t, h.revision())
		require.Equal(t, i%2 == 0, flagEnabled(t, ev, "big"), "change %d", i)
	}
	require.Eventually(t, func() bool {
		return metricValue(t, prov.url, "waypost_provider_streams_closed_lagging_total") >= 3
	}, 15*time.Second, 50*time.Millisecond, "the stuck clients are closed")
	require.Equal(t, 1.0, metricValue(t, prov.url, "waypost_provider_streams"), "only the healthy stream remains")
}

func TestReadyOnlyAfterLoadAndSnapshotFileServesWhileDatabaseIsDown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	h.toggle("quote", true)
	key, _ := h.sdkKey("server")
	file := filepath.Join(t.TempDir(), "snapshot.json")

	// A provider with the database up writes its snapshot file.
	first := h.startProvider("", func(c *provider.Config) { c.SnapshotFile = file })
	require.Eventually(t, func() bool { return first.p.Revision(h.prodID()) == h.revision() }, 10*time.Second, 10*time.Millisecond)
	first.stop()

	// The database becomes unreachable: a pool on a closed port.
	dead, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:9/none?sslmode=disable&connect_timeout=1")
	require.NoError(t, err)
	defer dead.Close()
	run := func(snapshot string) (*provider.Provider, *httptest.Server, context.CancelFunc) {
		p, err := provider.New(provider.Config{Pool: dead, WebhookSecret: secret, SnapshotFile: snapshot,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = p.Run(ctx); close(done) }()
		srv := httptest.NewServer(p.Handler())
		return p, srv, func() { cancel(); <-done; srv.Close() }
	}

	// Without a snapshot: not ready, and says so.
	p, srv, stop := run("")
	res, err := http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.Equal(t, 503, res.StatusCode)
	require.Contains(t, string(body), "not loaded")
	require.False(t, p.Ready())
	// While loading, SDKs are told to retry, never that their key is bad
	// (a 401 would make them give up for good).
	for _, path := range []string{"/v1/flags", "/v1/stream"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		require.Equal(t, 503, res.StatusCode, path)
		require.Equal(t, "1", res.Header.Get("Retry-After"))
	}
	req, _ := http.NewRequest("POST", srv.URL+"/ofrep/v1/evaluate/flags/quote", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 503, res.StatusCode)
	stop()

	// With the snapshot: ready and serving the last good flags.
	p, srv, stop = run(file)
	defer stop()
	require.Eventually(t, p.Ready, 10*time.Second, 10*time.Millisecond)
	req, _ = http.NewRequest("GET", srv.URL+"/v1/flags", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	_ = res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	require.True(t, strings.Contains(string(body), `"enabled":true`), string(body))
}

// Between the end of Run and the listener closing, a reconnecting SDK must
// not get a stream from a provider that no longer feeds it (hijacked
// connections outlive http.Server.Close): it is told to retry elsewhere.
func TestStoppingProviderRefusesNewStreams(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	p, err := provider.New(provider.Config{Pool: h.pool, WebhookSecret: secret, Log: quiet})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	require.Eventually(t, p.Ready, 10*time.Second, 10*time.Millisecond)
	s, status := openStream(t, srv.URL+"/v1/stream", key, "")
	require.Equal(t, 200, status)
	s.next(t, false)

	cancel()
	<-done
	for range s.events { // the open stream was closed
	}
	_, status = openStream(t, srv.URL+"/v1/stream", key, "")
	require.Equal(t, 503, status, "no new stream once stopping")
	res, err := http.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 503, res.StatusCode)
}
