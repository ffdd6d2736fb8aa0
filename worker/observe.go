package worker

import (
	"context"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	wpmetrics "github.com/waypost/waypost/internal/metrics"
)

// Observer is the worker's HTTP listener (WAYPOST_WORKER_ADDR): /healthz,
// /readyz (the database answers and River runs) and /metrics (River job
// counts and durations by kind and state, queue depth, process and Go).
type Observer struct {
	pool     *pgxpool.Pool
	client   *river.Client[pgx.Tx]
	registry *prometheus.Registry
	finished *prometheus.CounterVec
	run      *prometheus.HistogramVec
	wait     *prometheus.HistogramVec
}

// NewObserver registers the worker's metrics for client. Call Watch (in a
// goroutine) once the client has started.
func NewObserver(pool *pgxpool.Pool, client *river.Client[pgx.Tx], version string) *Observer {
	o := &Observer{
		pool: pool, client: client, registry: wpmetrics.NewRegistry("worker", version),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waypost_worker_jobs_finished_total",
			Help: "Job runs finished by this worker, by job kind and the state the run left the job in (completed, retryable, discarded, cancelled, scheduled when snoozed).",
		}, []string{"kind", "state"}),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waypost_worker_job_run_duration_seconds",
			Help:    "Time a job's work function ran, by job kind and resulting state.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind", "state"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waypost_worker_job_queue_wait_seconds",
			Help:    "Time a job waited as available before a worker started it, by job kind.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"kind"}),
	}
	o.registry.MustRegister(o.finished, o.run, o.wait, queueDepth{pool})
	return o
}

// Watch records every finished job until ctx ends. River drops events a
// slow subscriber does not take; recording is a few map lookups, so this
// keeps up.
func (o *Observer) Watch(ctx context.Context) {
	events, cancel := o.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if ev.Job == nil {
				continue
			}
			state := string(ev.Job.State)
			// Durations first, the finished count last: a scrape that
			// sees a run counted also sees its durations.
			if ev.JobStats != nil {
				o.run.WithLabelValues(ev.Job.Kind, state).Observe(ev.JobStats.RunDuration.Seconds())
				o.wait.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.QueueWaitDuration.Seconds())
			}
			o.finished.WithLabelValues(ev.Job.Kind, state).Inc()
		}
	}
}

// Handler serves /healthz, /readyz and /metrics.
func (o *Observer) Handler() http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := o.pool.Ping(ctx); err != nil {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"ready":false,"reason":"the database does not answer"}` + "\n"))
			return
		}
		_, _ = w.Write([]byte(`{"ready":true}` + "\n"))
	})
	r.Method(http.MethodGet, "/metrics", wpmetrics.Handler(o.registry, ""))
	return r
}

// queueDepth counts River's jobs that are not finished, by kind and
// state, at scrape time (one indexed query, bounded by a timeout).
type queueDepth struct{ pool *pgxpool.Pool }

var descQueueDepth = prometheus.NewDesc("waypost_worker_jobs",
	"River jobs waiting or running in the database (all workers), by job kind and state (available, scheduled, retryable, running, pending).",
	[]string{"kind", "state"}, nil)

func (q queueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- descQueueDepth }

func (q queueDepth) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := q.pool.Query(ctx, `SELECT kind, state::text, count(*) FROM river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending') GROUP BY kind, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descQueueDepth, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var kind, state string
		var n int64
		if err := rows.Scan(&kind, &state, &n); err != nil {
			ch <- prometheus.NewInvalidMetric(descQueueDepth, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(descQueueDepth, prometheus.GaugeValue, float64(n), kind, state)
	}
	if err := rows.Err(); err != nil {
		ch <- prometheus.NewInvalidMetric(descQueueDepth, err)
	}
}
