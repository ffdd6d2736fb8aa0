package worker_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/metrics/metricstest"
	"github.com/waypost/waypost/worker"
)

type probeArgs struct{ Fail bool }

func (probeArgs) Kind() string { return "test_probe" }

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
}

func (probeWorker) Work(_ context.Context, j *river.Job[probeArgs]) error {
	if j.Args.Fail {
		return river.JobCancel(errors.New("asked to fail"))
	}
	return nil
}

// The worker's listener: health, readiness and metrics that pass
// promtool, with River job counts and durations by kind and state.
func TestWorkerObserver(t *testing.T) {
	t.Parallel()
	pool, _ := dbtest.NewMigrated(t)
	client, err := worker.NewClient(pool, testLogger(), true, func(w *river.Workers, _ *river.Config) error {
		return river.AddWorkerSafely(w, probeWorker{})
	})
	require.NoError(t, err)
	obs := worker.NewObserver(pool, client, "test")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go obs.Watch(ctx)
	srv := httptest.NewServer(obs.Handler())
	t.Cleanup(srv.Close)

	// Queue depth is read from the database, before any worker runs.
	_, err = client.Insert(ctx, probeArgs{}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	text := metricstest.Scrape(t, srv.URL+"/metrics")
	require.Contains(t, text, `waypost_worker_jobs{kind="test_probe",state="scheduled"} 1`)

	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = client.Stop(sctx)
	})
	_, err = client.Insert(ctx, probeArgs{}, nil)
	require.NoError(t, err)
	_, err = client.Insert(ctx, probeArgs{Fail: true}, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		text = metricstest.Scrape(t, srv.URL+"/metrics")
		return strings.Contains(text, `waypost_worker_jobs_finished_total{kind="test_probe",state="completed"} 1`) &&
			strings.Contains(text, `waypost_worker_jobs_finished_total{kind="test_probe",state="cancelled"} 1`)
	}, 15*time.Second, 20*time.Millisecond, "finished jobs are counted by state")
	// A scrape gathers the collectors concurrently, so the one that saw the
	// counters may have read the histograms a moment earlier. The observer
	// records a run's durations before counting it, so a scrape begun now
	// sees both.
	text = metricstest.Scrape(t, srv.URL+"/metrics")
	require.Contains(t, text, `waypost_worker_job_run_duration_seconds_count{kind="test_probe",state="completed"} 1`)
	require.Contains(t, text, `waypost_build_info{goversion=`)
	metricstest.Promtool(t, text)
	fam := metricstest.Families(text)
	require.Equal(t, "histogram", fam["waypost_worker_job_queue_wait_seconds"])
	require.Equal(t, "counter", fam["process_cpu_seconds_total"])

	require.Contains(t, metricstest.Scrape(t, srv.URL+"/healthz"), `"ok"`)
	require.Contains(t, metricstest.Scrape(t, srv.URL+"/readyz"), `"ready":true`)
	down, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/none?connect_timeout=1")
	require.NoError(t, err)
	t.Cleanup(down.Close)
	srvDown := httptest.NewServer(worker.NewObserver(down, client, "test").Handler())
	t.Cleanup(srvDown.Close)
	res, err := srvDown.Client().Get(srvDown.URL + "/readyz")
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 503, res.StatusCode, "not ready without the database")
}
