// Package worker runs Waypost's background jobs on River, in the same
// PostgreSQL database as everything else: webhook deliveries to providers,
// the nightly exposures pipeline and on-demand statistics. Any number of
// worker processes may run; River hands each job to exactly one of them.
package worker

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Registration adds job kinds (workers and periodic jobs) to a River
// configuration. Each feature package contributes one.
type Registration func(workers *river.Workers, cfg *river.Config) error

// NewClient builds a River client that works jobs (when work is true) or
// only inserts them (work == false, for the manager).
func NewClient(pool *pgxpool.Pool, log *slog.Logger, work bool, regs ...Registration) (*river.Client[pgx.Tx], error) {
	workers := river.NewWorkers()
	cfg := &river.Config{Logger: log, Workers: workers}
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
