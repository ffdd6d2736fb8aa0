package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// ResultsArgs refreshes one experiment's results, or enqueues a refresh
// of every running experiment when ExperimentID is 0 (the schedule).
type ResultsArgs struct {
	ExperimentID int64 `json:"experiment_id"`
	// Window, when set, analyses a chosen phase or an explicit window
	// instead of the current phase.
	Window *model.AnalysisWindow `json:"window,omitempty"`
}

// Kind is the River job kind.
func (ResultsArgs) Kind() string { return "experiment_results" }

// InsertOpts: unique while queued or running (a double click refreshes once).
func (ResultsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: uniqueWhileQueued}
}

type resultsWorker struct {
	river.WorkerDefaults[ResultsArgs]
	st    *store.Store
	pools *eventsdb.Pools
	log   *slog.Logger
	now   func() time.Time
}

func (w *resultsWorker) Timeout(*river.Job[ResultsArgs]) time.Duration { return 2 * time.Hour }

// Work runs one refresh and records it in the history. A failure (timeout,
// unreachable database, refused SQL) is recorded with its reason and the
// previous results stay the latest; the job itself succeeds, since
// retrying would not help until someone fixes the cause.
func (w *resultsWorker) Work(ctx context.Context, job *river.Job[ResultsArgs]) error {
	if job.Args.ExperimentID == 0 {
		return w.enqueueAll(ctx)
	}
	id := job.Args.ExperimentID
	now := w.now()
	var window model.AnalysisWindow
	if job.Args.Window != nil {
		window = *job.Args.Window
	}
	plan, target, err := w.st.AnalysisPlanFor(ctx, id, now, window)
	if errs.IsKind(err, errs.KindNotFound) {
		return river.JobCancel(err)
	}
	jobID := job.ID
	refreshID, berr := w.st.BeginRefresh(ctx, id, &jobID, plan)
	if berr != nil {
		return berr
	}
	if err != nil {
		return w.fail(ctx, refreshID, nil, &analysis.Failure{Code: analysis.CodeConfig, Message: err.Error(), Err: err})
	}
	pool, err := w.pools.Get(ctx, target)
	if err != nil {
		return w.fail(ctx, refreshID, nil, &analysis.Failure{Code: analysis.CodeConfig, Message: err.Error(), Err: err})
	}
	var rate float64
	if plan.StartedAt != nil {
		days, err := w.st.ExposureDays(ctx, id)
		if err != nil {
			return w.fail(ctx, refreshID, nil, &analysis.Failure{Code: analysis.CodeInternal, Message: err.Error(), Err: err})
		}
		end := now
		if plan.StoppedAt != nil {
			end = *plan.StoppedAt
		}
		rate = analysis.UsersPerDay(days, *plan.StartedAt, end)
	}
	total := len(plan.Metrics)
	w.progress(ctx, refreshID, 0, total)
	plan.SetProgress(func(done, total int) { w.progress(ctx, refreshID, done, total) })
	start := time.Now()
	res, stmts, err := analysis.Run(ctx, pool, plan, rate, now)
	if err != nil {
		f, ok := err.(*analysis.Failure)
		if !ok {
			f = &analysis.Failure{Code: analysis.CodeInternal, Message: err.Error(), Err: err}
		}
		return w.fail(ctx, refreshID, stmts, f)
	}
	res.ComputedIn["total"] = time.Since(start).String()
	if err := w.st.FinishRefresh(ctx, refreshID, stmts, res, "", ""); err != nil {
		return err
	}
	w.log.InfoContext(ctx, "results refreshed", "experiment", plan.ExperimentKey, "refresh_id", refreshID, "took", time.Since(start))
	return nil
}

// progress records a refresh's progress; a failure to record it is
// logged, not fatal to the refresh.
func (w *resultsWorker) progress(ctx context.Context, refreshID int64, done, total int) {
	if err := w.st.RefreshProgress(ctx, refreshID, done, total); err != nil {
		w.log.WarnContext(ctx, "refresh progress not recorded", "refresh_id", refreshID, "err", err)
	}
}

func (w *resultsWorker) fail(ctx context.Context, refreshID int64, stmts []analysis.Statement, f *analysis.Failure) error {
	w.log.WarnContext(ctx, "results refresh failed", "refresh_id", refreshID, "code", f.Code, "err", f.Message)
	if stmts == nil {
		stmts = []analysis.Statement{}
	}
	if err := w.st.FinishRefresh(context.WithoutCancel(ctx), refreshID, stmts, nil, f.Code, f.Message); err != nil {
		return fmt.Errorf("record failed refresh: %w", err)
	}
	return nil
}

func (w *resultsWorker) enqueueAll(ctx context.Context) error {
	ids, err := w.st.ExperimentsForExposures(ctx)
	if err != nil {
		return err
	}
	client := river.ClientFromContext[pgx.Tx](ctx)
	for _, id := range ids {
		if _, err := client.Insert(ctx, ResultsArgs{ExperimentID: id}, nil); err != nil {
			return fmt.Errorf("enqueue refresh of experiment %d: %w", id, err)
		}
	}
	return nil
}

// dailyExposures runs the daily counts for plan on pool.
func dailyExposures(ctx context.Context, pool metricsql.DB, plan analysis.Plan, t eventsdb.Target, now time.Time) ([]analysis.Day, error) {
	return analysis.DailyExposures(ctx, pool, plan.ExposuresSQL, plan.ExperimentKey, plan.Variants,
		*plan.StartedAt, plan.StoppedAt, now, t.StatementTimeout)
}
