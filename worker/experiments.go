package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/store"
)

// uniqueWhileQueued makes a second insert of the same job (same args) a
// no-op while the first is waiting or running: a double click enqueues
// one job. Finished jobs do not block a new one.
var uniqueWhileQueued = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}}

// ExperimentOptions configures the experiment jobs.
type ExperimentOptions struct {
	// ExposuresSchedule runs the exposures pipeline (all experiments);
	// nil disables the periodic run.
	ExposuresSchedule river.PeriodicSchedule
	// ResultsSchedule refreshes the results of every running experiment;
	// nil (the default) disables it.
	ResultsSchedule river.PeriodicSchedule
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// ExperimentJobs registers the exposures pipeline and the results
// refresh, and their periodic schedules. River runs periodic jobs only on
// its elected leader, so one nightly run happens however many workers run.
// st and pools may be nil in an insert-only client.
func ExperimentJobs(st *store.Store, pools *eventsdb.Pools, log *slog.Logger, opts ExperimentOptions) Registration {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return func(workers *river.Workers, cfg *river.Config) error {
		if err := river.AddWorkerSafely(workers, &exposuresWorker{st: st, pools: pools, log: log, now: opts.Now}); err != nil {
			return err
		}
		if err := river.AddWorkerSafely(workers, &resultsWorker{st: st, pools: pools, log: log, now: opts.Now}); err != nil {
			return err
		}
		if opts.ExposuresSchedule != nil {
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(opts.ExposuresSchedule,
				func() (river.JobArgs, *river.InsertOpts) { return ExposuresArgs{}, nil },
				&river.PeriodicJobOpts{ID: "experiment_exposures", RunOnStart: false}))
		}
		if opts.ResultsSchedule != nil {
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(opts.ResultsSchedule,
				func() (river.JobArgs, *river.InsertOpts) { return ResultsArgs{}, nil },
				&river.PeriodicJobOpts{ID: "experiment_results", RunOnStart: false}))
		}
		return nil
	}
}

// Jobs enqueues experiment jobs from the manager.
type Jobs struct{ client *river.Client[pgx.Tx] }

// NewJobs enqueues with inserter, a River client that knows the experiment
// jobs (see ExperimentJobs; it need not work jobs).
func NewJobs(inserter *river.Client[pgx.Tx]) *Jobs {
	return &Jobs{client: inserter}
}

func (j *Jobs) insert(ctx context.Context, args river.JobArgs) (model.Job, error) {
	res, err := j.client.Insert(ctx, args, nil)
	if err != nil {
		return model.Job{}, fmt.Errorf("enqueue %s: %w", args.Kind(), err)
	}
	return model.Job{JobID: res.Job.ID, Duplicate: res.UniqueSkippedAsDuplicate}, nil
}

// RefreshResults enqueues a results refresh of one experiment, for its
// current phase or the window w.
func (j *Jobs) RefreshResults(ctx context.Context, experimentID int64, w model.AnalysisWindow) (model.Job, error) {
	args := ResultsArgs{ExperimentID: experimentID}
	if !w.IsZero() {
		args.Window = &w
	}
	return j.insert(ctx, args)
}

// RefreshExposures enqueues the exposures pipeline for one experiment.
func (j *Jobs) RefreshExposures(ctx context.Context, experimentID int64) (model.Job, error) {
	return j.insert(ctx, ExposuresArgs{ExperimentID: experimentID})
}

// ExposuresArgs runs the daily exposures pipeline for one experiment, or
// for every running (and recently stopped) one when ExperimentID is 0.
type ExposuresArgs struct {
	ExperimentID int64 `json:"experiment_id"`
}

// Kind is the River job kind.
func (ExposuresArgs) Kind() string { return "experiment_exposures" }

// InsertOpts: unique while queued or running.
func (ExposuresArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: uniqueWhileQueued}
}

type exposuresWorker struct {
	river.WorkerDefaults[ExposuresArgs]
	st    *store.Store
	pools *eventsdb.Pools
	log   *slog.Logger
	now   func() time.Time
}

func (w *exposuresWorker) Timeout(*river.Job[ExposuresArgs]) time.Duration { return time.Hour }

// Work recomputes every complete day of each experiment since its start
// (so any missed day is backfilled) and upserts the counts; unchanged rows
// are not rewritten, so running it twice changes nothing.
func (w *exposuresWorker) Work(ctx context.Context, job *river.Job[ExposuresArgs]) error {
	ids := []int64{job.Args.ExperimentID}
	if job.Args.ExperimentID == 0 {
		var err error
		if ids, err = w.st.ExperimentsForExposures(ctx); err != nil {
			return err
		}
	}
	var failed []error
	for _, id := range ids {
		if err := w.one(ctx, id); err != nil {
			if errs.IsKind(err, errs.KindNotFound) {
				continue
			}
			w.log.WarnContext(ctx, "exposures pipeline failed", "experiment_id", id, "err", err)
			failed = append(failed, fmt.Errorf("experiment %d: %w", id, err))
		}
	}
	return errors.Join(failed...)
}

func (w *exposuresWorker) one(ctx context.Context, id int64) error {
	now := w.now()
	plan, target, err := w.st.AnalysisPlan(ctx, id, now)
	if err != nil {
		return err
	}
	if plan.StartedAt == nil {
		return nil
	}
	pool, err := w.pools.Get(ctx, target)
	if err != nil {
		return err
	}
	days, err := dailyExposures(ctx, pool, plan, target, now)
	if err != nil {
		return err
	}
	n, err := w.st.UpsertExposureDays(ctx, id, days)
	if err != nil {
		return err
	}
	w.log.InfoContext(ctx, "exposures pipeline", "experiment", plan.ExperimentKey, "days_variants", len(days), "changed", n)
	return nil
}
