package provider_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/provider"
)

// flagEnabled decodes a put or patch and reports whether flag key is enabled.
func flagEnabled(t *testing.T, ev sseEvent, key string) bool {
	t.Helper()
	var body struct {
		Flags []struct {
			Key     string `json:"key"`
			Enabled bool   `json:"enabled"`
		} `json:"flags"`
	}
	require.NoError(t, json.Unmarshal([]byte(ev.data), &body), ev.data)
	for _, f := range body.Flags {
		if f.Key == key {
			return f.Enabled
		}
	}
	t.Fatalf("flag %s not in %s event", key, ev.name)
	return false
}

func TestToggleReachesStreamByWebhookAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("", func(c *provider.Config) { c.DisableNotify = true })
	s, status := openStream(t, prov.url+"/v1/stream", key, "")
	require.Equal(t, 200, status)
	first := s.next(t, false)
	require.Equal(t, "put", first.name)
	require.False(t, flagEnabled(t, first, "quote"))

	h.toggle("quote", true)
	ev := s.waitRevision(t, h.revision())
	require.Equal(t, "patch", ev.name, "a connection at the base revision gets a patch")
	require.True(t, flagEnabled(t, ev, "quote"))
	require.Eventually(t, func() bool { // counted just after the broadcast
		return metricValue(t, prov.url, `waypost_provider_webhooks_total{result="accepted"}`) > 0
	}, 10*time.Second, 10*time.Millisecond)
	require.Zero(t, metricValue(t, prov.url, `waypost_provider_reloads_total{cause="notify"}`), "notify is off: the webhook delivered it")
}

func TestNotifyHealsABrokenWebhook(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	// The provider registers a webhook URL nobody listens on.
	prov := h.startProvider("", func(c *provider.Config) { c.WebhookURL = "http://127.0.0.1:9/internal/webhook" })
	s, _ := openStream(t, prov.url+"/v1/stream", key, "")
	s.next(t, false)

	h.toggle("quote", true)
	ev := s.waitRevision(t, h.revision())
	require.True(t, flagEnabled(t, ev, "quote"))
	// Healed through the database: a notification, or the revision check the
	// listener makes when its connection comes up (if the change beat it).
	require.Positive(t, metricValue(t, prov.url, `waypost_provider_reloads_total{cause="notify"}`)+
		metricValue(t, prov.url, `waypost_provider_reloads_total{cause="reconnect"}`))
	require.Zero(t, metricValue(t, prov.url, `waypost_provider_webhooks_total{result="accepted"}`))
	// The webhook jobs are failing and being retried, not lost silently.
	require.Eventually(t, func() bool {
		var n int
		_ = h.pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job WHERE kind = 'provider_webhook' AND errors IS NOT NULL").Scan(&n)
		return n > 0
	}, 15*time.Second, 50*time.Millisecond)
}

func TestPlainSQLChangeReachesStream(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("")
	s, _ := openStream(t, prov.url+"/v1/stream", key, "")
	s.next(t, false)

	_, err := h.pool.Exec(context.Background(),
		`UPDATE flag_states SET enabled = true WHERE flag_id = (SELECT id FROM flags WHERE key = 'quote') AND environment_id = $1`, h.prodID())
	require.NoError(t, err)
	ev := s.waitRevision(t, h.revision())
	require.True(t, flagEnabled(t, ev, "quote"))
}

func TestKilledListenConnectionHeals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, false)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("")
	s, _ := openStream(t, prov.url+"/v1/stream", key, "")
	s.next(t, false)

	ctx := context.Background()
	var killed int
	require.Eventually(t, func() bool {
		_ = h.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		  WHERE datname = current_database() AND query ILIKE 'listen %'`).Scan(&killed)
		return killed > 0
	}, 10*time.Second, 20*time.Millisecond, "the provider's LISTEN connection exists")

	// Changed while the listener may be down: picked up on reconnect.
	_, err := h.pool.Exec(ctx, `UPDATE flag_states SET enabled = true WHERE environment_id = $1`, h.prodID())
	require.NoError(t, err)
	ev := s.waitRevision(t, h.revision())
	require.True(t, flagEnabled(t, ev, "quote"))

	// And the listener works again afterwards.
	_, err = h.pool.Exec(ctx, `UPDATE flag_states SET enabled = false WHERE environment_id = $1`, h.prodID())
	require.NoError(t, err)
	ev = s.waitRevision(t, h.revision())
	require.False(t, flagEnabled(t, ev, "quote"))
}

func TestTwoProvidersBothReceiveEveryChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	a := h.startProvider("")
	b := h.startProvider("")
	sa, _ := openStream(t, a.url+"/v1/stream", key, "")
	sb, _ := openStream(t, b.url+"/v1/stream", key, "")
	sa.next(t, false)
	sb.next(t, false)
	for i := 0; i < 5; i++ {
		h.toggle("quote", i%2 == 0)
		rev := h.revision()
		require.Equal(t, i%2 == 0, flagEnabled(t, sa.waitRevision(t, rev), "quote"))
		require.Equal(t, i%2 == 0, flagEnabled(t, sb.waitRevision(t, rev), "quote"))
	}
	var live int
	require.NoError(t, h.pool.QueryRow(context.Background(), "SELECT count(*) FROM live_providers").Scan(&live))
	require.Equal(t, 2, live, "both providers registered for webhooks")
}

func TestProviderRestartClientCatchesUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t, true)
	h.createFlag("quote")
	key, _ := h.sdkKey("server")
	prov := h.startProvider("")
	s, _ := openStream(t, prov.url+"/v1/stream", key, "")
	first := s.next(t, false)

	prov.stop()
	for range s.events { // the stream ends with the provider
	}
	h.toggle("quote", true) // changed while no provider runs

	again := h.startProvider(prov.addr)
	s2, status := openStream(t, again.url+"/v1/stream", key, first.id)
	require.Equal(t, 200, status)
	ev := s2.next(t, false)
	require.Equal(t, "put", ev.name, "a reconnecting client behind the current revision gets the full set")
	require.Equal(t, itoa(h.revision()), ev.id)
	require.True(t, flagEnabled(t, ev, "quote"))
}
