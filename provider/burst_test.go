package provider_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/model"
	waypost "github.com/waypost/waypost/sdk"
)

// A burst of 100,000 evaluations by 100,000 distinct users, all inside a
// running experiment, against a live provider with the SDK's default
// configuration: every exposure reaches the built-in store, none is
// dropped, and closing the client then the sender flushes them all.
func TestExposureBurstLosesNothing(t *testing.T) {
	t.Parallel()
	const users = 100_000
	ctx := context.Background()
	h := newHarness(t, false)
	key, _ := h.sdkKey("server")
	p := h.startProvider("")
	h.createFlag("burst")
	h.toggle("burst", true)
	_, err := h.st.SaveMetric(ctx, "default", "", model.SaveMetric{Key: "m-burst", Type: "binomial",
		SQL: `SELECT user_id, "timestamp" FROM events_metric WHERE metric = 'purchase'`}, true)
	require.NoError(t, err)
	_, err = h.st.CreateExperiment(ctx, "default", model.SaveExperiment{Key: "burst-x", Flag: "burst", Environment: "production",
		TrafficBP: 10000, PrimaryMetrics: []string{"m-burst"}})
	require.NoError(t, err)
	_, err = h.st.StartExperiment(ctx, "default", "burst-x")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		e, _ := flagFromSet(t, p.url, key, "burst")["experiment"].(map[string]any)
		return e != nil && e["traffic"] == float64(10000)
	}, 10*time.Second, 20*time.Millisecond)

	sender, err := waypost.NewEventSender(waypost.EventSenderConfig{ProviderURL: p.url, SDKKey: key, Logger: testLogger()})
	require.NoError(t, err)
	client, err := waypost.New(ctx, waypost.Config{ProviderURL: p.url, SDKKey: key, OnExposure: sender.Exposure, Logger: testLogger()})
	require.NoError(t, err)
	require.NoError(t, client.WaitForReady(ctx))

	var wg sync.WaitGroup
	const workers = 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < users; i += workers {
				if _, r := client.BoolDetail("burst", "user-"+strconv.Itoa(i), false); r.ExperimentKey != "burst-x" {
					t.Errorf("user %d not in the experiment: %+v", i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, client.Close()) // hands every queued exposure to the sender
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	require.NoError(t, sender.Close(cctx))

	require.Zero(t, client.DroppedExposures())
	require.Zero(t, sender.Dropped())
	require.EqualValues(t, users, sender.Sent())
	var n, distinct int
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT user_id) FROM events_exposures WHERE experiment_key = 'burst-x'`).Scan(&n, &distinct))
	require.Equal(t, users, n)
	require.Equal(t, users, distinct)
}
