package provider_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/provider"
)

// statementCounter counts the statements a pool sends, by sqlc query
// name ("-- name: X" comment) or by first word for the others.
type statementCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	name := strings.Fields(d.SQL + " ?")[0]
	if rest, ok := strings.CutPrefix(d.SQL, "-- name: "); ok {
		name = strings.Fields(rest)[0]
	}
	c.mu.Lock()
	c.n[name]++
	c.mu.Unlock()
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *statementCounter) seen(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

func (c *statementCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// Each change costs a provider one database statement: both the NOTIFY
// and the webhook announce it, the first triggers one read of the whole
// environment (flags, assignments, segments, keys in one statement), the
// second finds the revision held. The registration statements, on their
// own timer, are not per change.
func TestOneChangeCostsAProviderOneStatement(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	counter := &statementCounter{n: map[string]int{}}
	cfg, err := pgxpool.ParseConfig(h.dsn)
	require.NoError(t, err)
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	p := h.startProvider("", func(c *provider.Config) { c.Pool = pool })
	s, _ := openStream(t, p.url+"/v1/stream", key, "")
	s.next(t, false)
	// The start-up is over once LISTEN ran and its backlog hook compared
	// the revisions (the second ListEnvironmentRevisions, after the load's).
	require.Eventually(t, func() bool { return counter.seen("listen") >= 1 && counter.seen("ListEnvironmentRevisions") >= 2 },
		10*time.Second, 5*time.Millisecond, "listening")
	counter.take()

	const changes = 4
	for i := 0; i < changes; i++ {
		h.toggle("quote", i%2 == 0)
		s.waitRevision(t, h.revision())
	}
	// Both announcements have arrived once every webhook job is done.
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, h.pool.QueryRow(context.Background(),
			"SELECT count(*) FROM river_job WHERE kind = 'provider_webhook' AND state <> 'completed'").Scan(&pending))
		return pending == 0
	}, 15*time.Second, 20*time.Millisecond)
	got := counter.take()
	for name := range got {
		switch name {
		case "HeartbeatProvider", "RegisterProvider", "DeleteStaleProviders", "TouchSDKKeys":
			delete(got, name)
		}
	}
	require.Equal(t, map[string]int{"EnvironmentSnapshot": changes}, got)
}
