package worker_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/worker"
)

// onceAt is a nightly schedule shrunk to one run: it fixes its run time
// a second after its first use (the first leader's enqueuer starting) and
// then fires not for a century. All three clients share one, so a second
// leader finds the same time, as with a real nightly schedule; a run count
// above one would mean more than one scheduler enqueued it. (A time fixed
// before the clients start was missed when, under load, no leader was
// elected by then: the job never ran and the test timed out.)
type onceAt struct {
	mu sync.Mutex
	at time.Time
}

func (o *onceAt) Next(current time.Time) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.at.IsZero() {
		o.at = current.Add(time.Second)
	}
	if current.Before(o.at) {
		return o.at
	}
	return o.at.Add(100 * 365 * 24 * time.Hour)
}

type dayRow struct {
	variant    string
	day        string
	newUsers   int64
	totalUsers int64
	computedAt time.Time
}

func exposureRows(t *testing.T, h *harness) []dayRow {
	t.Helper()
	rows, err := h.pool.Query(context.Background(),
		"SELECT variant, day::text, new_users, total_users, computed_at FROM exposures_daily ORDER BY day, variant")
	require.NoError(t, err)
	defer rows.Close()
	var out []dayRow
	for rows.Next() {
		var r dayRow
		require.NoError(t, rows.Scan(&r.variant, &r.day, &r.newUsers, &r.totalUsers, &r.computedAt))
		out = append(out, r)
	}
	require.NoError(t, rows.Err())
	return out
}

func (h *harness) waitJob(id int64) {
	h.t.Helper()
	require.Eventually(h.t, func() bool {
		var state string
		_ = h.pool.QueryRow(context.Background(), "SELECT state FROM river_job WHERE id = $1", id).Scan(&state)
		return state == "completed"
	}, 30*time.Second, 20*time.Millisecond, "job %d", id)
}

func TestNightlyExposuresOnceAcrossWorkersWithBackfill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)

	// Events: the experiment started three days ago (UTC); users arrive on
	// each day, some come back (counted once), today is incomplete.
	dsn := dbtest.NewDatabase(t)
	dbtest.MustExec(t, dsn, `
CREATE TABLE exposures (experiment_key text, user_id text, variant text, ts timestamptz);
INSERT INTO exposures
SELECT 'night', 'u' || i, CASE WHEN i % 2 = 0 THEN 'off' ELSE 'on' END,
       date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
         - make_interval(days => CASE WHEN i <= 10 THEN 3 WHEN i <= 30 THEN 2 WHEN i <= 35 THEN 1 ELSE 0 END)
         -- Today's users in the day's first minute, so they are in the past
         -- whatever the time of day the test runs (from 01:00 they were in
         -- the future before 01:41 UTC and today counted 0).
         + CASE WHEN i > 35 THEN i * interval '1 second' ELSE interval '1 hour' + i * interval '1 minute' END
  FROM generate_series(1, 40) i;
INSERT INTO exposures SELECT experiment_key, user_id, variant, ts + interval '1 day' FROM exposures WHERE user_id IN ('u1','u2','u3','u4','u5');
INSERT INTO exposures SELECT 'other', user_id, variant, ts FROM exposures;`)
	h.must(201, "POST", "/connections", connectionBody(t, "ev", dsn, exposuresSQL))
	h.must(201, "POST", "/flags", map[string]any{"key": "f"})
	h.must(200, "PATCH", "/flags/f/environments/production", map[string]any{"enabled": true})
	h.must(201, "POST", "/metrics", map[string]any{"key": "m", "type": "count", "connection": "ev",
		"sql": `SELECT user_id, ts AS "timestamp" FROM exposures`})
	h.must(201, "POST", "/experiments", map[string]any{"key": "night", "flag": "f", "environment": "production",
		"primary_metrics": []string{"m"}})
	h.must(200, "POST", "/experiments/night/start", nil)
	_, err := h.pool.Exec(ctx, `WITH x AS (UPDATE experiments SET started_at = date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '3 days' + interval '30 minutes' RETURNING id, started_at)
	  UPDATE experiment_phases p SET started_at = x.started_at FROM x WHERE p.experiment_id = x.id`)
	require.NoError(t, err)

	// Three workers, one schedule: River's leader alone enqueues it.
	nightly := &onceAt{}
	for i := 0; i < 3; i++ {
		h.startWorker(worker.ExperimentOptions{ExposuresSchedule: nightly})
	}
	require.Eventually(t, func() bool { return len(exposureRows(t, h)) == 8 }, 30*time.Second, 50*time.Millisecond)
	time.Sleep(2 * time.Second)
	var jobs int
	require.NoError(t, h.pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'experiment_exposures'").Scan(&jobs))
	require.Equal(t, 1, jobs, "the nightly job ran once across three workers")

	day := func(n int) string {
		return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -n).Format(time.DateOnly)
	}
	want := []string{
		fmt.Sprintf("off %s 5 5", day(3)), fmt.Sprintf("on %s 5 5", day(3)),
		fmt.Sprintf("off %s 10 15", day(2)), fmt.Sprintf("on %s 10 15", day(2)),
		fmt.Sprintf("off %s 2 17", day(1)), fmt.Sprintf("on %s 3 18", day(1)),
		// Today so far (a partial day: counted up to now).
		fmt.Sprintf("off %s 3 20", day(0)), fmt.Sprintf("on %s 2 20", day(0)),
	}
	summary := func(rows []dayRow) []string {
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%s %s %d %d", r.variant, r.day, r.newUsers, r.totalUsers))
		}
		return out
	}
	require.Equal(t, want, summary(exposureRows(t, h)))

	// A missed day is backfilled by the next run (on demand here).
	_, err = h.pool.Exec(ctx, "DELETE FROM exposures_daily WHERE day = $1::date", day(2))
	require.NoError(t, err)
	job := h.must(202, "POST", "/experiments/night/exposures/refresh", nil).body
	h.waitJob(int64(job["job_id"].(float64)))
	before := exposureRows(t, h)
	require.Equal(t, want, summary(before))

	// Running it again changes nothing (not even computed_at).
	job = h.must(202, "POST", "/experiments/night/exposures/refresh", nil).body
	h.waitJob(int64(job["job_id"].(float64)))
	require.Equal(t, before, exposureRows(t, h))

	series := h.must(200, "GET", "/experiments/night/exposures", nil).body["items"].([]any)
	require.Len(t, series, 8)
	require.Equal(t, map[string]any{"variant": "on", "day": day(1), "new_users": float64(3), "total_users": float64(18)}, series[5])
	require.Equal(t, map[string]any{"variant": "on", "day": day(0), "new_users": float64(2), "total_users": float64(20), "partial": true}, series[7])
}
