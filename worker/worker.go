// Package worker runs Waypost's background jobs on River, in the same
// PostgreSQL database as everything else: webhook deliveries to providers,
// the nightly exposures pipeline and on-demand statistics. Any number of
// worker processes may run; River hands each job to exactly one of them.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Registration adds job kinds (workers and periodic jobs) to a River
// configuration. Each feature package contributes one.
type Registration func(workers *river.Workers, cfg *river.Config) error

// RescueStuckJobsAfter is how long a job may stay "running" before River's
// rescuer (on the leader, every 30 s) retries it. A job is left running by
// a worker that vanished mid-job, or by a database restart that dropped
// the reply to River's fetch after the fetch had committed (the job is
// marked running and no executor has it). River's default is an hour: a
// safe-rollout notification or a provider webhook would wait that long.
// The rescuer never takes a job before its kind's own Timeout has passed
// (the statistics refresh's 2 h, a check's 30 min, a webhook's 15 s,
// River's 1 min default for the others), by which time River has
// cancelled the job's context: a shorter horizon only brings stranded
// jobs back sooner.
const RescueStuckJobsAfter = time.Minute

// NewClient builds a River client that works jobs (when work is true) or
// only inserts them (work == false, for the manager).
func NewClient(pool *pgxpool.Pool, log *slog.Logger, work bool, regs ...Registration) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	cfg := &river.Config{Logger: log, Workers: workers, RescueStuckJobsAfter: RescueStuckJobsAfter}
	for _, reg := range regs {
		if err := reg(workers, cfg); err != nil {
			return nil, fmt.Errorf("register jobs: %w", err)
		}
	}
	if work {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 20}}
	} else {
		cfg.PeriodicJobs = nil
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

// Run starts client and blocks until ctx is done, then stops it gracefully.
func Run(ctx context.Context, client *river.Client[pgx.Tx]) error {
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30_000_000_000)
	defer cancel()
	if err := client.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop river: %w", err)
	}
	return nil
}
