package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/saferollout"
	"github.com/waypost/waypost/internal/store"
	"github.com/waypost/waypost/internal/webhooksig"
)

// Safe rollouts (docs/safe-rollouts.md) run on three jobs:
//
//   - safe_rollout_schedule, periodic (River runs it on the elected leader
//     only): enqueues check number checks+1 of every running rollout whose
//     next check is due.
//   - safe_rollout_check {rollout_id, check}: refreshes the guardrails of
//     the rollout's current stage with the metric pipeline (package
//     analysis, sequential test), decides (package saferollout) and
//     applies the decision in one transaction. River's uniqueness by args
//     keeps one job per (rollout, check) however often it is enqueued, and
//     the store applies a check only if the rollout is still at checks =
//     check−1 in the same state and stage, so a second worker, a retry
//     after a killed worker or a concurrent manual action never applies a
//     stage twice or skips one.
//   - safe_rollout_notify {webhook_id, decision_id}: POSTs the decision to
//     one project webhook (Slack-compatible JSON, HMAC-signed), retried by
//     River; enqueued in the decision's transaction, so once per decision.

// SafeRolloutOptions configures the safe-rollout jobs.
type SafeRolloutOptions struct {
	// Every is how often the scheduler looks for due checks; 0 means one
	// minute, negative disables the periodic job (tests enqueue checks).
	Every time.Duration
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// HTTPClient sends notifications; default a client with a 10 s timeout.
	HTTPClient *http.Client
}

// SafeRolloutJobs registers the safe-rollout jobs. st and pools may be nil
// in an insert-only client.
func SafeRolloutJobs(st *store.Store, pools *eventsdb.Pools, log *slog.Logger, opts SafeRolloutOptions) Registration {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.Every == 0 {
		opts.Every = time.Minute
	}
	return func(workers *river.Workers, cfg *river.Config) error {
		if err := river.AddWorkerSafely(workers, &rolloutScheduleWorker{st: st, now: opts.Now}); err != nil {
			return err
		}
		if err := river.AddWorkerSafely(workers, &rolloutCheckWorker{st: st, pools: pools, log: log, now: opts.Now}); err != nil {
			return err
		}
		if err := river.AddWorkerSafely(workers, &rolloutNotifyWorker{st: st, log: log, client: opts.HTTPClient}); err != nil {
			return err
		}
		if opts.Every > 0 {
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(opts.Every),
				func() (river.JobArgs, *river.InsertOpts) { return SafeRolloutScheduleArgs{}, nil },
				&river.PeriodicJobOpts{ID: "safe_rollout_schedule", RunOnStart: true}))
		}
		return nil
	}
}

// EnqueueNotificationsOnDecision makes every safe-rollout decision made
// through st enqueue, in its transaction, one notification job per project
// webhook (inserter must know the notify job: see SafeRolloutJobs).
func EnqueueNotificationsOnDecision(st *store.Store, inserter *river.Client[pgx.Tx]) {
	st.OnDecision(func(ctx context.Context, tx pgx.Tx, n store.Notification) error {
		params := make([]river.InsertManyParams, 0, len(n.WebhookIDs))
		for _, id := range n.WebhookIDs {
			params = append(params, river.InsertManyParams{Args: SafeRolloutNotifyArgs{WebhookID: id, DecisionID: n.DecisionID}})
		}
		if _, err := inserter.InsertManyTx(ctx, tx, params); err != nil {
			return fmt.Errorf("enqueue notifications: %w", err)
		}
		return nil
	})
}

// ---- scheduler ----

// SafeRolloutScheduleArgs enqueues the due checks.
type SafeRolloutScheduleArgs struct{}

// Kind is the River job kind.
func (SafeRolloutScheduleArgs) Kind() string { return "safe_rollout_schedule" }

// InsertOpts: one at a time.
func (SafeRolloutScheduleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: uniqueWhileQueued}
}

type rolloutScheduleWorker struct {
	river.WorkerDefaults[SafeRolloutScheduleArgs]
	st  *store.Store
	now func() time.Time
}

func (w *rolloutScheduleWorker) Work(ctx context.Context, _ *river.Job[SafeRolloutScheduleArgs]) error {
	due, err := w.st.DueSafeRolloutChecks(ctx, w.now())
	if err != nil || len(due) == 0 {
		return err
	}
	params := make([]river.InsertManyParams, len(due))
	for i, d := range due {
		params[i] = river.InsertManyParams{Args: SafeRolloutCheckArgs{RolloutID: d.RolloutID, Check: d.Check}}
	}
	if _, err := river.ClientFromContext[pgx.Tx](ctx).InsertMany(ctx, params); err != nil {
		return fmt.Errorf("enqueue safe-rollout checks: %w", err)
	}
	return nil
}

// ---- check ----

// SafeRolloutCheckArgs runs check number Check of a rollout.
type SafeRolloutCheckArgs struct {
	RolloutID int64 `json:"rollout_id"`
	Check     int   `json:"check"`
}

// Kind is the River job kind.
func (SafeRolloutCheckArgs) Kind() string { return "safe_rollout_check" }

// InsertOpts: unique by (rollout, check) in every state but cancelled and
// discarded, so a check is enqueued once; retried a few times.
func (SafeRolloutCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type rolloutCheckWorker struct {
	river.WorkerDefaults[SafeRolloutCheckArgs]
	st    *store.Store
	pools *eventsdb.Pools
	log   *slog.Logger
	now   func() time.Time
}

func (w *rolloutCheckWorker) Timeout(*river.Job[SafeRolloutCheckArgs]) time.Duration {
	return 30 * time.Minute
}

// Work runs one check (see RunSafeRolloutCheck).
func (w *rolloutCheckWorker) Work(ctx context.Context, job *river.Job[SafeRolloutCheckArgs]) error {
	jobID := job.ID
	_, err := RunSafeRolloutCheck(ctx, w.st, w.pools, w.log, w.now(), job.Args.RolloutID, job.Args.Check, &jobID)
	if errs.IsKind(err, errs.KindNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// CheckOutcome says what a check did.
type CheckOutcome struct {
	// Applied is false when the check was stale (already applied, or the
	// rollout is no longer running at checks = n−1).
	Applied  bool
	Decision saferollout.Decision
}

// RunSafeRolloutCheck refreshes the guardrails of rollout id's current
// stage, decides and applies check number n. It is what the check job
// runs; any number of concurrent calls for the same n apply it once.
func RunSafeRolloutCheck(ctx context.Context, st *store.Store, pools *eventsdb.Pools, log *slog.Logger, now time.Time, id int64, n int, jobID *int64) (CheckOutcome, error) {
	c, err := st.SafeRolloutForCheck(ctx, id, now)
	if err != nil {
		return CheckOutcome{}, err
	}
	if c.State != model.RolloutRunning || c.Checks != n-1 {
		log.InfoContext(ctx, "safe-rollout check is stale", "rollout", c.Rollout.Key, "check", n, "state", c.State, "checks", c.Checks)
		return CheckOutcome{}, nil
	}
	r := c.Rollout
	var d saferollout.Decision
	var refreshID *int64
	plan, target, err := st.AnalysisPlan(ctx, c.ExperimentID, now)
	if err != nil {
		d = saferollout.Decide(r, nil, err.Error())
	} else {
		// The latest phase is the current stage; only its two arms count.
		stage := r.Stages[r.Stage]
		plan.Variants = []string{r.ControlVariant, r.NewVariant}
		plan.WeightsBP = []int{model.TotalWeight - stage.BP(), stage.BP()}
		plan.Settings = r.Settings()
		plan.MDE, plan.PlannedSampleSize = nil, nil
		rid, err := st.BeginRefresh(ctx, c.ExperimentID, jobID, plan)
		if err != nil {
			return CheckOutcome{}, err
		}
		refreshID = &rid
		res, stmts, failure := runPlan(ctx, pools, plan, target, now)
		if stmts == nil {
			stmts = []analysis.Statement{}
		}
		if failure != nil {
			if err := st.FinishRefresh(context.WithoutCancel(ctx), rid, stmts, nil, failure.Code, failure.Message); err != nil {
				return CheckOutcome{}, err
			}
			d = saferollout.Decide(r, nil, failure.Message)
		} else {
			if err := st.FinishRefresh(ctx, rid, stmts, res, "", ""); err != nil {
				return CheckOutcome{}, err
			}
			d = saferollout.Decide(r, res, "")
		}
	}
	applied, err := st.ApplyCheck(ctx, c, n, d, refreshID)
	if err != nil {
		return CheckOutcome{}, fmt.Errorf("apply check %d of safe rollout %q: %w", n, r.Key, err)
	}
	log.InfoContext(ctx, "safe-rollout check", "rollout", r.Key, "check", n, "action", d.Action, "applied", applied, "reason", d.Reason)
	return CheckOutcome{Applied: applied, Decision: d}, nil
}

func runPlan(ctx context.Context, pools *eventsdb.Pools, plan analysis.Plan, target eventsdb.Target, now time.Time) (*analysis.Results, []analysis.Statement, *analysis.Failure) {
	pool, err := pools.Get(ctx, target)
	if err != nil {
		return nil, nil, &analysis.Failure{Code: analysis.CodeConfig, Message: err.Error(), Err: err}
	}
	res, stmts, err := analysis.Run(ctx, pool, plan, 0, now)
	if err != nil {
		f, ok := err.(*analysis.Failure)
		if !ok {
			f = &analysis.Failure{Code: analysis.CodeInternal, Message: err.Error(), Err: err}
		}
		return nil, stmts, f
	}
	return res, stmts, nil
}

// ---- notifications ----

// SafeRolloutNotifyArgs sends one decision to one project webhook.
type SafeRolloutNotifyArgs struct {
	WebhookID  int64 `json:"webhook_id"`
	DecisionID int64 `json:"decision_id"`
}

// Kind is the River job kind.
func (SafeRolloutNotifyArgs) Kind() string { return "safe_rollout_notify" }

// InsertOpts: once per (webhook, decision); retried for about an hour.
func (SafeRolloutNotifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type rolloutNotifyWorker struct {
	river.WorkerDefaults[SafeRolloutNotifyArgs]
	st     *store.Store
	log    *slog.Logger
	client *http.Client
}

func (w *rolloutNotifyWorker) Timeout(*river.Job[SafeRolloutNotifyArgs]) time.Duration {
	return 30 * time.Second
}

// NextRetry backs off quadratically (1 s, 4 s, 9 s, ... about 10 min at the
// last attempt).
func (w *rolloutNotifyWorker) NextRetry(job *river.Job[SafeRolloutNotifyArgs]) time.Time {
	n := time.Duration(job.Attempt)
	return time.Now().Add(n * n * time.Second)
}

func (w *rolloutNotifyWorker) Work(ctx context.Context, job *river.Job[SafeRolloutNotifyArgs]) error {
	target, err := w.st.NotificationWebhookTarget(ctx, job.Args.WebhookID)
	if errs.IsKind(err, errs.KindNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	d, err := w.st.DecisionNotice(ctx, job.Args.DecisionID)
	if errs.IsKind(err, errs.KindNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	body, err := json.Marshal(NotificationBody(d))
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	now := time.Now()
	req, err := webhooksig.NewRequest(ctx, target.URL, target.Secret, "safe_rollout."+eventOf(d),
		fmt.Sprintf("%d-%d", job.Args.DecisionID, job.Args.WebhookID), body, now)
	if err != nil {
		return river.JobCancel(fmt.Errorf("notification webhook %d: %w", job.Args.WebhookID, err))
	}
	res, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("notification webhook %d: %w", job.Args.WebhookID, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	_ = res.Body.Close()
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("notification webhook %d answered %d", job.Args.WebhookID, res.StatusCode)
	}
	return nil
}

// Notification is the body of a safe-rollout notification: Slack's
// incoming-webhook "text", plus the decision as structured fields.
type Notification struct {
	Text        string          `json:"text"`
	Event       string          `json:"event"`
	Regression  bool            `json:"regression"`
	Project     string          `json:"project"`
	SafeRollout string          `json:"safe_rollout"`
	Flag        string          `json:"flag"`
	Environment string          `json:"environment"`
	Action      string          `json:"action"`
	Automatic   bool            `json:"automatic"`
	State       string          `json:"state"`
	FromPercent float64         `json:"from_percent"`
	ToPercent   float64         `json:"to_percent"`
	Control     string          `json:"control_variant"`
	New         string          `json:"new_variant"`
	Reason      string          `json:"reason"`
	Actor       string          `json:"actor"`
	CheckNumber *int            `json:"check_number"`
	DecisionID  int64           `json:"decision_id"`
	Numbers     json.RawMessage `json:"numbers"`
	At          time.Time       `json:"at"`
}

func eventOf(d store.DecisionNotice) string {
	switch d.Action {
	case model.ActionStart:
		return "started"
	case model.ActionAdvance:
		return "advanced"
	case model.ActionComplete:
		return "completed"
	case model.ActionRollback:
		return "rolled_back"
	case model.ActionPause:
		return "paused"
	case model.ActionResume:
		return "resumed"
	}
	return d.Action
}

// NotificationBody describes decision d.
func NotificationBody(d store.DecisionNotice) Notification {
	var nums saferollout.Numbers
	_ = json.Unmarshal(d.Numbers, &nums)
	regression := false
	for _, g := range nums.Guardrails {
		regression = regression || g.Regression
	}
	ev := eventOf(d)
	what := fmt.Sprintf("Safe rollout *%s* of flag `%s` in %s", d.Rollout, d.Flag, d.Environment)
	var text string
	switch {
	case regression:
		text = fmt.Sprintf(":rotating_light: Regression: %s was %s. %s", what, map[string]string{"rolled_back": "rolled back", "paused": "paused"}[ev], d.Reason)
	case ev == "started":
		text = fmt.Sprintf(":rocket: %s started: %q gets %v%% of users.", what, d.NewVariant, d.ToPercent)
	case ev == "advanced":
		text = fmt.Sprintf(":arrow_up: %s advanced from %v%% to %v%%. %s", what, d.FromPercent, d.ToPercent, d.Reason)
	case ev == "completed":
		text = fmt.Sprintf(":white_check_mark: %s completed: %q ships to everyone. %s", what, d.NewVariant, d.Reason)
	case ev == "rolled_back":
		text = fmt.Sprintf(":leftwards_arrow_with_hook: %s rolled back: everyone gets %q. %s", what, d.ControlVariant, d.Reason)
	case ev == "paused":
		text = fmt.Sprintf(":pause_button: %s paused at %v%%. %s", what, d.FromPercent, d.Reason)
	default:
		text = fmt.Sprintf("%s %s. %s", what, ev, d.Reason)
	}
	text += fmt.Sprintf(" (by %s)", d.Actor)
	return Notification{Text: text, Event: ev, Regression: regression, Project: d.Project, SafeRollout: d.Rollout, Flag: d.Flag,
		Environment: d.Environment, Action: d.Action, Automatic: d.Automatic, State: d.ToState, FromPercent: d.FromPercent,
		ToPercent: d.ToPercent, Control: d.ControlVariant, New: d.NewVariant, Reason: d.Reason, Actor: d.Actor,
		CheckNumber: d.CheckNumber, DecisionID: d.ID, Numbers: d.Numbers, At: d.CreatedAt}
}
