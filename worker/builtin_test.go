package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/worker"
)

// TestBuiltinStoreEndToEnd: events ingested into the built-in store (the
// provider's COPY path), the default connection, results and exposures.
func TestBuiltinStoreEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	h.startWorker(worker.ExperimentOptions{})
	envID := productionFlag(t, h)
	h.must(201, "POST", "/metrics", map[string]any{"key": "purchase", "type": "revenue",
		"sql": `SELECT user_id, "timestamp", value FROM events_metric WHERE metric = 'purchase'`})
	h.must(201, "POST", "/experiments", map[string]any{"key": "b", "flag": "f", "environment": "production",
		"primary_metrics": []string{"purchase"}, "planned_sample_size": 1000})
	h.must(200, "POST", "/experiments/b/start", nil)
	_, err := h.pool.Exec(ctx, `WITH x AS (UPDATE experiments SET started_at = now() - interval '2 days' RETURNING id)
	  UPDATE experiment_phases SET started_at = now() - interval '2 days' WHERE experiment_id IN (SELECT id FROM x)`)
	require.NoError(t, err)

	base := time.Now().UTC().Add(-36 * time.Hour)
	var events []model.Event
	for i := 0; i < 200; i++ {
		ts := base.Add(time.Duration(i) * time.Minute)
		v := []string{"off", "on"}[i%2]
		events = append(events, model.Event{Type: "exposure", IdempotencyKey: fmt.Sprintf("x%d", i), ExperimentKey: "b",
			UserID: fmt.Sprintf("u%d", i), Variant: v, Timestamp: &ts})
		if i%4 < 2 {
			later := ts.Add(time.Hour)
			val := float64(10 + i%2*5)
			events = append(events, model.Event{Type: "metric", IdempotencyKey: fmt.Sprintf("m%d", i), Metric: "purchase",
				UserID: fmt.Sprintf("u%d", i), Value: &val, Timestamp: &later})
		}
	}
	res, err := h.st.IngestEvents(ctx, envID, events)
	require.NoError(t, err)
	require.EqualValues(t, 300, res.Inserted)

	entry, page := h.refresh("b")
	require.Equal(t, "succeeded", entry["status"], "%v", entry["error"])
	b, _ := json.Marshal(page["latest"].(map[string]any)["results"])
	var r analysis.Results
	require.NoError(t, json.Unmarshal(b, &r))
	require.Equal(t, map[string]int64{"off": 100, "on": 100}, r.Users)
	m := r.Metrics[0].Result
	require.Equal(t, "ok", string(m.Status), m.Message)
	require.InDelta(t, 5.0, *m.Variants[0].Mean, 1e-9) // off: half the users bought 10
	require.InDelta(t, 7.5, *m.Variants[1].Mean, 1e-9) // on: half bought 15
	require.NotNil(t, r.Power)
	require.EqualValues(t, 900, *r.Power.SampleSize.RemainingUsersPerVariant)

	job := h.must(202, "POST", "/experiments/b/exposures/refresh", nil).body
	h.waitJob(int64(job["job_id"].(float64)))
	var total int64
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT sum(new_users) FROM exposures_daily").Scan(&total))
	require.EqualValues(t, 200, total)
}
