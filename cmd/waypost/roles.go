package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"golang.org/x/sync/errgroup"

	"github.com/waypost/waypost/api"
	"github.com/waypost/waypost/internal/config"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/httpserve"
	"github.com/waypost/waypost/internal/migrate"
	"github.com/waypost/waypost/internal/secret"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/provider"
	"github.com/waypost/waypost/worker"
)

// app carries what every role needs: configuration, logger and, once
// opened, the database pool.
type app struct {
	cfg  *config.Config
	log  *slog.Logger
	pool *pgxpool.Pool
}

func (a *app) close() {
	if a.pool != nil {
		a.pool.Close()
	}
}

// openPool connects to Waypost's database; when checkSchema is set it
// refuses to continue on a schema older than this binary.
func (a *app) openPool(ctx context.Context, checkSchema bool) error {
	if a.pool != nil {
		return nil
	}
	pool, err := pgxpool.New(ctx, a.cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("database %s: %w", config.RedactURL(a.cfg.DatabaseURL), err)
	}
	a.pool = pool
	if checkSchema {
		if err := migrate.Check(ctx, pool); err != nil {
			return err
		}
	}
	return nil
}

// newStore returns a store on the pool that encrypts credentials with
// WAYPOST_SECRET_KEY. Each role builds its own: the manager adds change
// hooks to it, which the roles of `waypost all` must not share.
func (a *app) newStore() (*store.Store, error) {
	box, err := secret.New(a.cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	st := store.New(a.pool)
	st.UseSecrets(box)
	return st, nil
}

func runMigrate(ctx context.Context, a *app) error {
	if err := migrate.EnsureDatabase(ctx, a.cfg.DatabaseURL, a.log); err != nil {
		return err
	}
	if err := a.openPool(ctx, false); err != nil {
		return err
	}
	applied, err := migrate.Up(ctx, a.pool, a.log)
	if err != nil {
		return err
	}
	a.log.Info("database is up to date", "applied_now", len(applied))
	return nil
}

func runManager(ctx context.Context, a *app) error {
	if err := a.openPool(ctx, true); err != nil {
		return err
	}
	st, err := a.newStore()
	if err != nil {
		return err
	}
	// One insert-only River client enqueues every job the manager starts:
	// webhooks in the transaction of each change, and experiment jobs.
	inserter, err := worker.NewClient(a.pool, a.log, false,
		provider.WebhookJobs(a.pool, a.cfg.WebhookSecret, a.log), worker.ExperimentJobs(nil, nil, a.log, worker.ExperimentOptions{}),
		worker.SafeRolloutJobs(nil, nil, a.log, worker.SafeRolloutOptions{}))
	if err != nil {
		return err
	}
	provider.EnqueueWebhooksOnChange(st, inserter)
	worker.EnqueueNotificationsOnDecision(st, inserter)
	srv := api.New(st, a.log)
	srv.SetJobs(worker.NewJobs(inserter))
	if err := setupAuth(ctx, a, st, srv); err != nil {
		return err
	}
	h := mountMetrics(srv, a.cfg.MetricsToken)
	mountDashboard(srv)
	return serveHTTP(ctx, a, "manager", a.cfg.ManagerAddr, h)
}

func runWorker(ctx context.Context, a *app) error {
	if err := a.cfg.RequireWebhookSecret(); err != nil {
		return err
	}
	if err := a.openPool(ctx, true); err != nil {
		return err
	}
	st, err := a.newStore()
	if err != nil {
		return err
	}
	pools := eventsdb.NewPools(a.pool, 8)
	defer pools.Close()
	var opts worker.ExperimentOptions
	if opts.ExposuresSchedule, err = schedule(a.cfg.ExposuresSchedule); err != nil {
		return err
	}
	if opts.ResultsSchedule, err = schedule(a.cfg.ResultsSchedule); err != nil {
		return err
	}
	client, err := worker.NewClient(a.pool, a.log, true, provider.WebhookJobs(a.pool, a.cfg.WebhookSecret, a.log),
		worker.ExperimentJobs(st, pools, a.log, opts), worker.SafeRolloutJobs(st, pools, a.log, worker.SafeRolloutOptions{}))
	if err != nil {
		return err
	}
	// Safe-rollout checks change flags from the worker: providers get the
	// webhook and project webhooks the notification, in the same transaction.
	provider.EnqueueWebhooksOnChange(st, client)
	worker.EnqueueNotificationsOnDecision(st, client)
	if a.cfg.WorkerAddr == "" {
		return worker.Run(ctx, client)
	}
	obs := worker.NewObserver(a.pool, client, version)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return worker.Run(gctx, client) })
	g.Go(func() error { obs.Watch(gctx); return nil })
	g.Go(func() error { return serveHTTP(gctx, a, "worker", a.cfg.WorkerAddr, obs.Handler()) })
	return g.Wait()
}

// schedule parses a time-of-day option ("off" gives nil: no periodic job).
func schedule(s string) (river.PeriodicSchedule, error) {
	if s == "" || s == "off" {
		return nil, nil
	}
	d, err := worker.ParseDailyAt(s)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func runProvider(ctx context.Context, a *app) error {
	if err := a.cfg.RequireWebhookSecret(); err != nil {
		return err
	}
	// No schema check here: the provider checks it itself, retrying in the
	// background while the database is down (serving its snapshot file).
	if err := a.openPool(ctx, false); err != nil {
		return err
	}
	p, err := provider.New(provider.Config{
		Pool: a.pool, Log: a.log, WebhookSecret: a.cfg.WebhookSecret, WebhookURL: a.cfg.ProviderURL + "/internal/webhook",
		SnapshotFile: a.cfg.SnapshotFile, CORSOrigins: a.cfg.CORSOrigins,
		PublicURL: a.cfg.ProviderPublicURL, Version: version,
	})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.Run(gctx) })
	g.Go(func() error { return serveHTTP(gctx, a, "provider", a.cfg.ProviderAddr, p.Handler()) })
	return g.Wait()
}

func runAll(ctx context.Context, a *app) error {
	generated, err := a.cfg.DevelopmentWebhookSecret()
	if err != nil {
		return err
	}
	if generated {
		a.log.Warn("no WAYPOST_WEBHOOK_SECRET: generated a random one for this process (development mode: every address is on localhost); set one to run roles separately")
	}
	if err := runMigrate(ctx, a); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return runManager(gctx, a) })
	g.Go(func() error { return runWorker(gctx, a) })
	g.Go(func() error { return runProvider(gctx, a) })
	return g.Wait()
}

// serveHTTP serves h on addr until ctx ends, then shuts down gracefully.
func serveHTTP(ctx context.Context, a *app, name, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", name, addr, err)
	}
	srv := httpserve.New(h, slog.NewLogLogger(a.log.Handler(), slog.LevelWarn), httpserve.Timeouts{})
	a.log.Info("listening", "role", name, "addr", "http://"+ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", name, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: shutdown: %w", name, err)
	}
	return nil
}
