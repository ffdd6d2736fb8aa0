package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/saferollout"
	"github.com/waypost/waypost/sdk/eval"
)

// Safe rollouts (migration 016, docs/safe-rollouts.md). A rollout owns an
// experiment of the same key that measures it: starting the rollout starts
// the experiment at the first stage's split, each stage is one of its
// phases, a rollback stops it shipping the control variant and completion
// stops it shipping the new one. Every transition, manual or automatic, is
// one transaction: the conditional update of the rollout on (state, stage,
// checks), the flag change, the decision row and the notification jobs
// (through the decision hooks), so it happens once or not at all.

// Notification is a decision to announce to a project's webhooks.
type Notification struct {
	DecisionID int64
	WebhookIDs []int64
}

// DecisionHook runs in the transaction of every decision that changes a
// rollout (not for checks that hold); the worker package enqueues the
// notification jobs with it (River InsertTx).
type DecisionHook func(ctx context.Context, tx pgx.Tx, n Notification) error

// OnDecision registers a decision hook (before serving).
func (s *Store) OnDecision(h DecisionHook) { s.decisionHooks = append(s.decisionHooks, h) }

// safeRolloutRow is the row shape shared by the Get/List/ByID queries.
type safeRolloutRow = db.GetSafeRolloutRow

func decodeRollout(r safeRolloutRow) ([]model.Stage, []model.Guardrail, error) {
	var st []model.Stage
	var gs []model.Guardrail
	if err := json.Unmarshal(r.Stages, &st); err != nil {
		return nil, nil, fmt.Errorf("safe rollout %q stages: %w", r.Key, err)
	}
	if err := json.Unmarshal(r.Guardrails, &gs); err != nil {
		return nil, nil, fmt.Errorf("safe rollout %q guardrails: %w", r.Key, err)
	}
	return st, gs, nil
}

// decodeAudience reads a rollout's audience (its experiment's); [] for
// everybody.
func decodeAudience(r safeRolloutRow) ([]eval.Clause, error) {
	a := []eval.Clause{}
	if len(r.Audience) > 0 {
		if err := json.Unmarshal(r.Audience, &a); err != nil {
			return nil, fmt.Errorf("safe rollout %q audience: %w", r.Key, err)
		}
	}
	if a == nil {
		a = []eval.Clause{}
	}
	return a, nil
}

func toSafeRollout(ctx context.Context, q *db.Queries, r safeRolloutRow, decisions int) (model.SafeRollout, error) {
	st, gs, err := decodeRollout(r)
	if err != nil {
		return model.SafeRollout{}, err
	}
	audience, err := decodeAudience(r)
	if err != nil {
		return model.SafeRollout{}, err
	}
	out := model.SafeRollout{Key: r.Key, Name: r.Name, Flag: r.FlagKey, Environment: r.EnvironmentKey, Experiment: r.ExperimentKey,
		ControlVariant: r.ControlVariant, NewVariant: r.NewVariant, Stages: st, Guardrails: gs, Audience: audience, OnRegression: r.OnRegression,
		CheckIntervalSeconds: int(r.CheckIntervalSeconds), Confidence: r.Confidence, State: r.State, StateReason: r.StateReason,
		CurrentStage: int(r.CurrentStage), StageStartedAt: r.StageStartedAt, Checks: int(r.Checks), NextCheckAt: r.NextCheckAt,
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, Version: r.Version, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Decisions: []model.RolloutDecision{}}
	if int(r.CurrentStage) < len(st) {
		out.Percent = st[r.CurrentStage].Percent
	}
	if r.State == model.RolloutDraft {
		out.Percent = 0
	}
	if r.State == model.RolloutRolledBack {
		out.Percent = 0
	}
	if r.State == model.RolloutCompleted {
		out.Percent = 100
	}
	if decisions > 0 {
		ds, err := q.ListRolloutDecisions(ctx, db.ListRolloutDecisionsParams{RolloutID: r.ID, Limit: int32(decisions)})
		if err != nil {
			return out, fmt.Errorf("list decisions: %w", err)
		}
		for _, d := range ds {
			rd := model.RolloutDecision{ID: d.ID, Action: d.Action, Automatic: d.Automatic, FromState: d.FromState, ToState: d.ToState,
				FromStage: int(d.FromStage), ToStage: int(d.ToStage), Reason: d.Reason, Numbers: d.Numbers, RefreshID: d.RefreshID,
				Actor: d.Actor, CreatedAt: d.CreatedAt}
			if d.CheckNumber != nil {
				n := int(*d.CheckNumber)
				rd.CheckNumber = &n
			}
			out.Decisions = append(out.Decisions, rd)
		}
	}
	return out, nil
}

func safeRolloutRowOf(ctx context.Context, q *db.Queries, projectID int64, key string) (safeRolloutRow, error) {
	r, err := q.GetSafeRollout(ctx, db.GetSafeRolloutParams{ProjectID: projectID, Key: key})
	if isNoRows(err) {
		return r, errs.NotFound("safe rollout %q", key)
	}
	if err != nil {
		return r, fmt.Errorf("get safe rollout %q: %w", key, err)
	}
	return r, nil
}

// GetSafeRollout returns one safe rollout with its last 100 decisions.
func (s *Store) GetSafeRollout(ctx context.Context, projectKey, key string) (model.SafeRollout, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return model.SafeRollout{}, err
	}
	r, err := safeRolloutRowOf(ctx, q, p.ID, key)
	if err != nil {
		return model.SafeRollout{}, err
	}
	return toSafeRollout(ctx, q, r, 100)
}

// ListSafeRollouts returns a project's safe rollouts (of one flag when
// flagKey is set), newest first, without their decisions.
func (s *Store) ListSafeRollouts(ctx context.Context, projectKey, flagKey string) ([]model.SafeRollout, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	params := db.ListSafeRolloutsParams{ProjectID: p.ID}
	if flagKey != "" {
		f, err := flagRow(ctx, q, p.ID, flagKey)
		if err != nil {
			return nil, err
		}
		params.FlagID = &f.ID
	}
	rows, err := q.ListSafeRollouts(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("list safe rollouts: %w", err)
	}
	out := make([]model.SafeRollout, 0, len(rows))
	for _, r := range rows {
		x, err := toSafeRollout(ctx, q, safeRolloutRow(r), 0)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// CreateSafeRollout creates a draft safe rollout and the experiment that
// measures it (and starts both when in.Start is set), in one transaction.
// The flag must not have a running experiment (409 experiment_running).
func (s *Store) CreateSafeRollout(ctx context.Context, projectKey string, in model.SaveSafeRollout) (model.SafeRollout, error) {
	if err := checkKey2("flag", in.Flag, "environment", in.Environment); err != nil {
		return model.SafeRollout{}, err
	}
	err := s.changeTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		fe, err := resolveFlagEnv(ctx, q, projectKey, in.Flag, in.Environment)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
				field := "flag"
				if fe.flag.ID != 0 {
					field = "environment"
				}
				return errs.Invalid(field, "%s", e.Message)
			}
			return err
		}
		if err := in.Validate(fe.vars); err != nil {
			return err
		}
		// Compiled as SDKs will, against the environment's segments.
		if err := checkAudience(ctx, q, fe.env.ID, in.Audience, nil); err != nil {
			return err
		}
		if cur, ok, err := runningOn(ctx, q, fe); err != nil {
			return err
		} else if ok {
			return &errs.Error{Kind: errs.KindConflict, Code: "experiment_running", Field: "flag",
				Message: fmt.Sprintf("experiment %q is running on flag %q in %s: stop it before a safe rollout", cur.ExperimentKey, in.Flag, in.Environment)}
		}
		if _, err := q.GetExperiment(ctx, db.GetExperimentParams{ProjectID: fe.project.ID, Key: in.Key}); err == nil {
			return errs.Duplicate("key", "an experiment or safe rollout with key %q already exists (a safe rollout is measured by an experiment of its key)", in.Key)
		}
		var ids []int64
		conn := int64(0)
		for i, g := range in.Guardrails {
			field := fmt.Sprintf("guardrails[%d].metric", i)
			m, err := q.GetMetric(ctx, db.GetMetricParams{ProjectID: fe.project.ID, Key: g.Metric})
			if isNoRows(err) {
				return errs.Invalid(field, "unknown metric %q", g.Metric)
			}
			if err != nil {
				return fmt.Errorf("get metric: %w", err)
			}
			if conn != 0 && m.ConnectionID != conn {
				return errs.Invalid(field, "metric %q reads events connection %q, but the other guardrails use another one; they must share one events database", g.Metric, m.ConnectionKey)
			}
			conn = m.ConnectionID
			ids = append(ids, m.ID)
		}
		ws, err := model.NormalizeRollout("stages[0].percent", model.StageWeights(in.ControlVariant, in.NewVariant, in.Stages[0]), fe.vars)
		if err != nil {
			return err
		}
		weights, _ := json.Marshal(ws)
		expID, err := q.CreateExperiment(ctx, db.CreateExperimentParams{ProjectID: fe.project.ID, FlagID: fe.flag.ID,
			EnvironmentID: fe.env.ID, ConnectionID: conn, Key: in.Key, Name: "Safe rollout: " + in.Name,
			Hypothesis: fmt.Sprintf("Safe rollout of %q over %q: the guardrails do not get worse.", in.NewVariant, in.ControlVariant),
			Weights:    weights, TrafficBp: model.TotalWeight})
		if err != nil {
			return mapErr(fmt.Errorf("create experiment: %w", err))
		}
		if err := setExperimentMetrics(ctx, q, expID, ids, len(ids)); err != nil {
			return err
		}
		// The audience is the experiment's: outside it, the served flag's
		// experiment.fallback (the control variant, SnapshotFlags) applies.
		if err := setRolloutAudience(ctx, q, expID, in.Audience); err != nil {
			return err
		}
		stages, _ := json.Marshal(in.Stages)
		guards, _ := json.Marshal(in.Guardrails)
		if _, err := q.CreateSafeRollout(ctx, db.CreateSafeRolloutParams{ProjectID: fe.project.ID, FlagID: fe.flag.ID,
			EnvironmentID: fe.env.ID, ExperimentID: expID, Key: in.Key, Name: in.Name, ControlVariant: in.ControlVariant,
			NewVariant: in.NewVariant, Stages: stages, Guardrails: guards, OnRegression: in.OnRegression,
			CheckIntervalSeconds: int32(in.CheckIntervalSeconds), Confidence: in.Confidence}); err != nil {
			return mapErr(fmt.Errorf("create safe rollout: %w", err))
		}
		if !in.Start {
			return nil
		}
		r, err := safeRolloutRowOf(ctx, q, fe.project.ID, in.Key)
		if err != nil {
			return err
		}
		_, err = s.transition(ctx, tx, q, projectKey, r, transition{action: model.ActionStart, reason: "started"})
		return err
	})
	if err != nil {
		return model.SafeRollout{}, err
	}
	return s.GetSafeRollout(ctx, projectKey, in.Key)
}

// SafeRolloutAction applies a manual action: start, pause, resume,
// advance (to the next stage now; into the last stage it completes) or
// rollback. It is logged with the caller as actor and the reason given.
func (s *Store) SafeRolloutAction(ctx context.Context, projectKey, key, action string, in model.RolloutAction) (model.SafeRollout, error) {
	if err := in.Validate(); err != nil {
		return model.SafeRollout{}, err
	}
	err := s.changeTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		r, err := safeRolloutRowOf(ctx, q, p.ID, key)
		if err != nil {
			return err
		}
		if _, err := q.LockSafeRollout(ctx, r.ID); err != nil {
			return fmt.Errorf("lock safe rollout: %w", err)
		}
		if r, err = safeRolloutRowOf(ctx, q, p.ID, key); err != nil {
			return err
		}
		t := transition{action: action, reason: in.Reason}
		if action == model.ActionAdvance {
			st, _, err := decodeRollout(r)
			if err != nil {
				return err
			}
			if int(r.CurrentStage)+1 >= len(st)-1 {
				t.action = model.ActionComplete
			}
		}
		_, err = s.transition(ctx, tx, q, projectKey, r, t)
		return err
	})
	if err != nil {
		return model.SafeRollout{}, err
	}
	return s.GetSafeRollout(ctx, projectKey, key)
}

// transition is one decision to apply.
type transition struct {
	action      string
	reason      string
	checkNumber *int // automatic checks only
	numbers     any
	refreshID   *int64
	// toStage for advance (default: the next stage).
	toStage *int
}

// allowed are the states each manual action applies to, and where it leads.
var allowedFrom = map[string][]string{
	model.ActionStart:    {model.RolloutDraft},
	model.ActionPause:    {model.RolloutRunning},
	model.ActionResume:   {model.RolloutPaused},
	model.ActionAdvance:  {model.RolloutRunning, model.RolloutPaused},
	model.ActionComplete: {model.RolloutRunning, model.RolloutPaused},
	model.ActionRollback: {model.RolloutRunning, model.RolloutPaused},
	model.ActionHold:     {model.RolloutRunning},
}

// transition applies t to r in the caller's transaction: the conditional
// update, the flag change, the decision row and the notification hooks.
// applied is false when r is no longer where it was read (another worker
// or person changed it first); an automatic check then changes nothing.
func (s *Store) transition(ctx context.Context, tx pgx.Tx, q *db.Queries, projectKey string, r safeRolloutRow, t transition) (bool, error) {
	stages, _, err := decodeRollout(r)
	if err != nil {
		return false, err
	}
	from := allowedFrom[t.action]
	ok := false
	for _, f := range from {
		ok = ok || f == r.State
	}
	if !ok && t.checkNumber != nil {
		return false, nil // a check of a rollout that was paused or ended meanwhile
	}
	if !ok {
		return false, errs.Invalid("state", "a %s safe rollout cannot %s", r.State, t.action)
	}
	toState, toStage := r.State, int(r.CurrentStage)
	switch t.action {
	case model.ActionStart, model.ActionResume:
		toState = model.RolloutRunning
	case model.ActionPause:
		toState = model.RolloutPaused
	case model.ActionAdvance:
		toStage++
		if t.toStage != nil {
			toStage = *t.toStage
		}
	case model.ActionComplete:
		toState, toStage = model.RolloutCompleted, len(stages)-1
	case model.ActionRollback:
		toState = model.RolloutRolledBack
	}
	if toStage >= len(stages) {
		return false, errs.Invalid("stage", "the rollout is at its last stage")
	}
	reason := t.reason
	if reason == "" {
		reason = fmt.Sprintf("%s by %s", t.action, ActorFrom(ctx))
	}
	checks := r.Checks
	if t.checkNumber != nil {
		checks = int32(*t.checkNumber)
	}
	n, err := q.TransitionSafeRollout(ctx, db.TransitionSafeRolloutParams{ID: r.ID, FromState: r.State, FromStage: r.CurrentStage,
		FromChecks: r.Checks, ToState: toState, ToStage: int32(toStage), ToChecks: checks, Reason: reason})
	if err != nil {
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "23505" && pg.ConstraintName == "safe_rollouts_one_active" {
			return false, &errs.Error{Kind: errs.KindConflict, Code: "safe_rollout_running", Field: "flag",
				Message: fmt.Sprintf("another safe rollout of flag %q is running or paused in %s", r.FlagKey, r.EnvironmentKey), Err: err}
		}
		return false, mapErr(fmt.Errorf("update safe rollout: %w", err))
	}
	if n == 0 {
		if t.checkNumber != nil {
			return false, nil
		}
		return false, &errs.Error{Kind: errs.KindConflict, Code: "retry", Message: "the safe rollout changed meanwhile, please retry"}
	}
	// The flag follows, in the same transaction.
	switch t.action {
	case model.ActionStart:
		if err := startExperimentTx(ctx, q, projectKey, r.ExperimentKey); err != nil {
			return false, err
		}
	case model.ActionAdvance:
		fe, err := resolveFlagEnv(ctx, q, projectKey, r.FlagKey, r.EnvironmentKey)
		if err != nil {
			return false, err
		}
		ws, err := model.NormalizeRollout("stages", model.StageWeights(r.ControlVariant, r.NewVariant, stages[toStage]), fe.vars)
		if err != nil {
			return false, err
		}
		if _, err := q.LockExperiment(ctx, r.ExperimentID); err != nil {
			return false, fmt.Errorf("lock experiment: %w", err)
		}
		if err := openPhase(ctx, q, r.ExperimentID, "new_phase", ws, model.TotalWeight, nil); err != nil {
			return false, err
		}
		rollout, _ := json.Marshal(ws)
		if err := q.SetRollout(ctx, db.SetRolloutParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, Rollout: rollout}); err != nil {
			return false, mapErr(fmt.Errorf("set rollout: %w", err))
		}
	case model.ActionComplete, model.ActionRollback:
		ship := r.NewVariant
		if t.action == model.ActionRollback {
			ship = r.ControlVariant
		}
		if _, err := stopExperimentTx(ctx, q, projectKey, r.ExperimentKey, model.StopExperiment{Ship: &ship}); err != nil {
			return false, err
		}
	}
	numbers := t.numbers
	if numbers == nil {
		numbers = map[string]any{"stage": toStage, "percent": stages[toStage].Percent}
	}
	nb, err := json.Marshal(numbers)
	if err != nil {
		return false, fmt.Errorf("encode numbers: %w", err)
	}
	var cn *int32
	if t.checkNumber != nil {
		v := int32(*t.checkNumber)
		cn = &v
	}
	id, err := q.InsertRolloutDecision(ctx, db.InsertRolloutDecisionParams{RolloutID: r.ID, CheckNumber: cn, Action: t.action,
		Automatic: t.checkNumber != nil, FromState: r.State, ToState: toState, FromStage: r.CurrentStage, ToStage: int32(toStage),
		Reason: reason, Numbers: nb, RefreshID: t.refreshID})
	if err != nil {
		return false, mapErr(fmt.Errorf("log decision: %w", err))
	}
	if t.action == model.ActionHold || len(s.decisionHooks) == 0 {
		return true, nil
	}
	hooks, err := q.ListNotificationWebhooks(ctx, r.ProjectID)
	if err != nil {
		return false, fmt.Errorf("list notification webhooks: %w", err)
	}
	note := Notification{DecisionID: id}
	for _, h := range hooks {
		note.WebhookIDs = append(note.WebhookIDs, h.ID)
	}
	if len(note.WebhookIDs) == 0 {
		return true, nil
	}
	for _, h := range s.decisionHooks {
		if err := h(ctx, tx, note); err != nil {
			return false, fmt.Errorf("decision hook: %w", err)
		}
	}
	return true, nil
}

// RolloutCheck is what the check job needs of a running rollout.
type RolloutCheck struct {
	ID           int64
	ProjectKey   string
	ExperimentID int64
	State        string
	Checks       int
	Rollout      saferollout.Rollout
	// row is the rollout as read, for the conditional update.
	row safeRolloutRow
}

// SafeRolloutForCheck reads rollout id for a check at now.
func (s *Store) SafeRolloutForCheck(ctx context.Context, id int64, now time.Time) (RolloutCheck, error) {
	q := s.queries()
	r, err := q.GetSafeRolloutByID(ctx, id)
	if isNoRows(err) {
		return RolloutCheck{}, errs.NotFound("safe rollout %d", id)
	}
	if err != nil {
		return RolloutCheck{}, fmt.Errorf("get safe rollout %d: %w", id, err)
	}
	row := safeRolloutRow{ID: r.ID, ProjectID: r.ProjectID, FlagID: r.FlagID, EnvironmentID: r.EnvironmentID,
		ExperimentID: r.ExperimentID, Key: r.Key, Name: r.Name, ControlVariant: r.ControlVariant, NewVariant: r.NewVariant,
		Stages: r.Stages, Guardrails: r.Guardrails, OnRegression: r.OnRegression, CheckIntervalSeconds: r.CheckIntervalSeconds,
		Confidence: r.Confidence, State: r.State, CurrentStage: r.CurrentStage, StageStartedAt: r.StageStartedAt, Checks: r.Checks,
		NextCheckAt: r.NextCheckAt, StateReason: r.StateReason, StartedAt: r.StartedAt, EndedAt: r.EndedAt, Version: r.Version,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, FlagKey: r.FlagKey, EnvironmentKey: r.EnvironmentKey, ExperimentKey: r.ExperimentKey,
		Audience: r.Audience}
	st, gs, err := decodeRollout(row)
	if err != nil {
		return RolloutCheck{}, err
	}
	dirs := map[string]string{}
	for _, g := range gs {
		if m, err := q.GetMetric(ctx, db.GetMetricParams{ProjectID: r.ProjectID, Key: g.Metric}); err == nil {
			dirs[g.Metric] = m.Direction
		}
	}
	c := RolloutCheck{ID: r.ID, ProjectKey: r.ProjectKey, ExperimentID: r.ExperimentID, State: r.State, Checks: int(r.Checks), row: row,
		Rollout: saferollout.Rollout{Key: r.Key, ControlVariant: r.ControlVariant, NewVariant: r.NewVariant, Stages: st, Guardrails: gs,
			MetricDirections: dirs, OnRegression: r.OnRegression, Confidence: r.Confidence, Stage: int(r.CurrentStage)}}
	if r.StageStartedAt != nil {
		c.Rollout.StageElapsed = max(0, now.Sub(*r.StageStartedAt))
	}
	return c, nil
}

// ApplyCheck applies check number n's decision to c in one transaction,
// with actor safe-rollout:<key>. It returns false, and changes nothing,
// when the rollout moved on since c was read (another worker applied the
// check, or a person acted).
func (s *Store) ApplyCheck(ctx context.Context, c RolloutCheck, n int, d saferollout.Decision, refreshID *int64) (bool, error) {
	ctx = WithActor(ctx, "safe-rollout:"+c.Rollout.Key)
	applied := false
	err := s.changeTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		t := transition{action: d.Action, reason: d.Reason, checkNumber: &n, numbers: d.Numbers, refreshID: refreshID}
		if d.Action == model.ActionAdvance {
			to := d.ToStage
			t.toStage = &to
		}
		var err error
		applied, err = s.transition(ctx, tx, q, c.ProjectKey, c.row, t)
		if err == nil && !applied {
			return errNotApplied
		}
		return err
	})
	if errors.Is(err, errNotApplied) {
		return false, nil
	}
	return applied, err
}

var errNotApplied = errors.New("not applied")

// DueCheck is a check the scheduler enqueues.
type DueCheck struct {
	RolloutID int64
	Check     int
}

// DueSafeRolloutChecks lists the next check of every running rollout due at now.
func (s *Store) DueSafeRolloutChecks(ctx context.Context, now time.Time) ([]DueCheck, error) {
	rows, err := s.queries().DueSafeRollouts(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("due safe rollouts: %w", err)
	}
	out := make([]DueCheck, len(rows))
	for i, r := range rows {
		out[i] = DueCheck{RolloutID: r.ID, Check: int(r.Checks) + 1}
	}
	return out, nil
}

// ---- notification webhooks ----

// CreateNotificationWebhook adds an outgoing webhook to a project; its
// secret is stored encrypted (WAYPOST_SECRET_KEY).
func (s *Store) CreateNotificationWebhook(ctx context.Context, projectKey string, in model.SaveNotificationWebhook) (model.NotificationWebhook, error) {
	if err := in.Validate(); err != nil {
		return model.NotificationWebhook{}, err
	}
	sealed, err := s.box.Seal([]byte(in.Secret))
	if err != nil {
		return model.NotificationWebhook{}, errs.Invalid("secret", "%v", err)
	}
	var out model.NotificationWebhook
	err = s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		w, err := q.CreateNotificationWebhook(ctx, db.CreateNotificationWebhookParams{ProjectID: p.ID, Url: in.URL, SecretCiphertext: sealed})
		if err != nil {
			return mapErr(fmt.Errorf("create notification webhook: %w", err))
		}
		out = model.NotificationWebhook{ID: w.ID, URL: w.Url, CreatedAt: w.CreatedAt}
		return nil
	})
	return out, err
}

// ListNotificationWebhooks lists a project's outgoing webhooks.
func (s *Store) ListNotificationWebhooks(ctx context.Context, projectKey string) ([]model.NotificationWebhook, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListNotificationWebhooks(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list notification webhooks: %w", err)
	}
	out := make([]model.NotificationWebhook, 0, len(rows))
	for _, w := range rows {
		out = append(out, model.NotificationWebhook{ID: w.ID, URL: w.Url, CreatedAt: w.CreatedAt})
	}
	return out, nil
}

// DeleteNotificationWebhook removes one.
func (s *Store) DeleteNotificationWebhook(ctx context.Context, projectKey string, id int64) error {
	return s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		n, err := q.DeleteNotificationWebhook(ctx, db.DeleteNotificationWebhookParams{ProjectID: p.ID, ID: id})
		if err != nil {
			return fmt.Errorf("delete notification webhook: %w", err)
		}
		if n == 0 {
			return errs.NotFound("notification webhook %d", id)
		}
		return nil
	})
}

// WebhookTarget is where and how a notification is sent.
type WebhookTarget struct {
	URL    string
	Secret string
}

// NotificationWebhookTarget returns webhook id's URL and decrypted secret.
func (s *Store) NotificationWebhookTarget(ctx context.Context, id int64) (WebhookTarget, error) {
	w, err := s.queries().GetNotificationWebhook(ctx, id)
	if isNoRows(err) {
		return WebhookTarget{}, errs.NotFound("notification webhook %d", id)
	}
	if err != nil {
		return WebhookTarget{}, fmt.Errorf("get notification webhook %d: %w", id, err)
	}
	secret, err := s.box.Open(w.SecretCiphertext)
	if err != nil {
		return WebhookTarget{}, err
	}
	return WebhookTarget{URL: w.Url, Secret: string(secret)}, nil
}

// DecisionNotice is a logged decision with what a notification says about it.
type DecisionNotice struct {
	model.RolloutDecision
	Project        string
	Rollout        string
	Flag           string
	Environment    string
	ControlVariant string
	NewVariant     string
	FromPercent    float64
	ToPercent      float64
}

// DecisionNotice reads decision id.
func (s *Store) DecisionNotice(ctx context.Context, id int64) (DecisionNotice, error) {
	d, err := s.queries().GetRolloutDecision(ctx, id)
	if isNoRows(err) {
		return DecisionNotice{}, errs.NotFound("decision %d", id)
	}
	if err != nil {
		return DecisionNotice{}, fmt.Errorf("get decision %d: %w", id, err)
	}
	var st []model.Stage
	_ = json.Unmarshal(d.Stages, &st)
	out := DecisionNotice{Project: d.ProjectKey, Rollout: d.RolloutKey, Flag: d.FlagKey, Environment: d.EnvironmentKey,
		ControlVariant: d.ControlVariant, NewVariant: d.NewVariant,
		RolloutDecision: model.RolloutDecision{ID: d.ID, Action: d.Action, Automatic: d.Automatic, FromState: d.FromState,
			ToState: d.ToState, FromStage: int(d.FromStage), ToStage: int(d.ToStage), Reason: d.Reason, Numbers: d.Numbers,
			RefreshID: d.RefreshID, Actor: d.Actor, CreatedAt: d.CreatedAt}}
	if d.CheckNumber != nil {
		n := int(*d.CheckNumber)
		out.CheckNumber = &n
	}
	pct := func(state string, stage int) float64 {
		switch {
		case state == model.RolloutDraft || state == model.RolloutRolledBack:
			return 0
		case state == model.RolloutCompleted:
			return 100
		case stage < len(st):
			return st[stage].Percent
		}
		return 0
	}
	out.FromPercent, out.ToPercent = pct(d.FromState, int(d.FromStage)), pct(d.ToState, int(d.ToStage))
	return out, nil
}

// safeRolloutRunningErr is the 409 for changing, by hand, what a running or
// paused safe rollout controls.
func safeRolloutRunningErr(key string) error {
	return &errs.Error{Kind: errs.KindConflict, Code: "safe_rollout_running", Field: "flag",
		Message: fmt.Sprintf("safe rollout %q controls this flag's rollout here: pause, advance, complete or roll it back instead", key)}
}

// guardRolloutExperiment refuses to stop or re-phase, by hand, the
// experiment that measures a running or paused safe rollout.
func guardRolloutExperiment(ctx context.Context, q *db.Queries, projectKey, experimentKey string) error {
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return err
	}
	k, err := q.ActiveSafeRolloutOfExperiment(ctx, db.ActiveSafeRolloutOfExperimentParams{ProjectID: p.ID, Key: experimentKey})
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("safe rollout of experiment: %w", err)
	}
	return safeRolloutRunningErr(k)
}

// guardRolloutFlag refuses a confirmed new phase (a rollout change) on a
// flag a safe rollout controls.
func guardRolloutFlag(ctx context.Context, q *db.Queries, fe flagEnv) error {
	k, err := q.ActiveSafeRolloutOn(ctx, db.ActiveSafeRolloutOnParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("safe rollout on flag: %w", err)
	}
	return safeRolloutRunningErr(k)
}

// UpdateSafeRollout changes the stages of a draft or paused safe rollout
// at the version the caller read (model.UpdateSafeRollout). A draft's
// experiment follows its new first stage.
func (s *Store) UpdateSafeRollout(ctx context.Context, projectKey, key string, in model.UpdateSafeRollout) (model.SafeRollout, error) {
	if err := in.Validate(); err != nil {
		return model.SafeRollout{}, err
	}
	err := s.changeTx(ctx, func(tx pgx.Tx, q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		r, err := safeRolloutRowOf(ctx, q, p.ID, key)
		if err != nil {
			return err
		}
		if _, err := q.LockSafeRollout(ctx, r.ID); err != nil {
			return fmt.Errorf("lock safe rollout: %w", err)
		}
		if r, err = safeRolloutRowOf(ctx, q, p.ID, key); err != nil {
			return err
		}
		if r.State != model.RolloutDraft && r.State != model.RolloutPaused {
			return &errs.Error{Kind: errs.KindConflict, Code: "safe_rollout_" + r.State, Field: "state",
				Message: fmt.Sprintf("the stages of a %s safe rollout cannot change: only a draft or a paused one can be edited", r.State)}
		}
		if r.Version != in.Version {
			return &errs.Error{Kind: errs.KindConflict, Code: "version_conflict", Field: "version",
				Message: fmt.Sprintf("the safe rollout changed meanwhile (version %d, you sent %d): reload and retry", r.Version, in.Version)}
		}
		old, _, err := decodeRollout(r)
		if err != nil {
			return err
		}
		if in.Audience != nil {
			cur, err := decodeAudience(r)
			if err != nil {
				return err
			}
			if r.State == model.RolloutPaused && !eval.FlagsEqual(audienceProbe(cur), audienceProbe(*in.Audience)) {
				return errs.Invalid("audience", "the audience of a paused rollout cannot change: users inside it were served the new variant already")
			}
			if r.State == model.RolloutDraft {
				if err := checkAudience(ctx, q, r.EnvironmentID, *in.Audience, nil); err != nil {
					return err
				}
				if err := setRolloutAudience(ctx, q, r.ExperimentID, *in.Audience); err != nil {
					return err
				}
			}
		}
		if r.State == model.RolloutPaused {
			cur := int(r.CurrentStage)
			if len(in.Stages) <= cur+1 {
				return errs.Invalid("stages", "the rollout is paused at stage %d (%v%%): keep it and at least one stage after it", cur+1, old[cur].Percent)
			}
			for i := 0; i <= cur; i++ {
				if in.Stages[i].BP() != old[i].BP() {
					return errs.Invalid(fmt.Sprintf("stages[%d].percent", i), "stage %d (%v%%) was served already: its percent cannot change", i+1, old[i].Percent)
				}
			}
		} else {
			fe, err := resolveFlagEnv(ctx, q, projectKey, r.FlagKey, r.EnvironmentKey)
			if err != nil {
				return err
			}
			ws, err := model.NormalizeRollout("stages[0].percent", model.StageWeights(r.ControlVariant, r.NewVariant, in.Stages[0]), fe.vars)
			if err != nil {
				return err
			}
			weights, _ := json.Marshal(ws)
			if err := q.SetExperimentPlan(ctx, db.SetExperimentPlanParams{ID: r.ExperimentID, Weights: weights, TrafficBp: model.TotalWeight}); err != nil {
				return mapErr(fmt.Errorf("set experiment plan: %w", err))
			}
		}
		stages, _ := json.Marshal(in.Stages)
		n, err := q.UpdateSafeRolloutStages(ctx, db.UpdateSafeRolloutStagesParams{ID: r.ID, Stages: stages, Version: r.Version})
		if err != nil {
			return mapErr(fmt.Errorf("update safe rollout: %w", err))
		}
		if n == 0 {
			return &errs.Error{Kind: errs.KindConflict, Code: "retry", Message: "the safe rollout changed meanwhile, please retry"}
		}
		return nil
	})
	if err != nil {
		return model.SafeRollout{}, err
	}
	return s.GetSafeRollout(ctx, projectKey, key)
}

// setRolloutAudience stores a (checked) audience on the rollout's experiment.
func setRolloutAudience(ctx context.Context, q *db.Queries, expID int64, audience []eval.Clause) error {
	b, err := json.Marshal(audience)
	if err != nil {
		return fmt.Errorf("encode audience: %w", err)
	}
	if err := q.SetExperimentTargeting(ctx, db.SetExperimentTargetingParams{ID: expID, Audience: b}); err != nil {
		return mapErr(fmt.Errorf("set safe rollout audience: %w", err))
	}
	return nil
}

// audienceProbe wraps an audience in a flag, to compare two audiences
// clause by clause with eval.FlagsEqual.
func audienceProbe(a []eval.Clause) *eval.Flag {
	return &eval.Flag{Experiment: &eval.Experiment{Audience: a}}
}

// UpdateNotificationWebhook changes a project webhook's URL or secret.
func (s *Store) UpdateNotificationWebhook(ctx context.Context, projectKey string, id int64, in model.UpdateNotificationWebhook) (model.NotificationWebhook, error) {
	if err := in.Validate(); err != nil {
		return model.NotificationWebhook{}, err
	}
	var sealed []byte
	if in.Secret != nil {
		var err error
		if sealed, err = s.box.Seal([]byte(*in.Secret)); err != nil {
			return model.NotificationWebhook{}, errs.Invalid("secret", "%v", err)
		}
	}
	var out model.NotificationWebhook
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		w, err := q.UpdateNotificationWebhook(ctx, db.UpdateNotificationWebhookParams{ProjectID: p.ID, ID: id, Url: in.URL, SecretCiphertext: sealed})
		if isNoRows(err) {
			return errs.NotFound("notification webhook %d", id)
		}
		if err != nil {
			return mapErr(fmt.Errorf("update notification webhook: %w", err))
		}
		out = model.NotificationWebhook{ID: w.ID, URL: w.Url, CreatedAt: w.CreatedAt}
		return nil
	})
	return out, err
}

// ProjectNotificationWebhook returns webhook id of a project with its
// decrypted secret (for a test notification).
func (s *Store) ProjectNotificationWebhook(ctx context.Context, projectKey string, id int64) (WebhookTarget, error) {
	p, err := project(ctx, s.queries(), projectKey)
	if err != nil {
		return WebhookTarget{}, err
	}
	w, err := s.queries().GetNotificationWebhook(ctx, id)
	if isNoRows(err) || (err == nil && w.ProjectID != p.ID) {
		return WebhookTarget{}, errs.NotFound("notification webhook %d", id)
	}
	if err != nil {
		return WebhookTarget{}, fmt.Errorf("get notification webhook %d: %w", id, err)
	}
	secret, err := s.box.Open(w.SecretCiphertext)
	if err != nil {
		return WebhookTarget{}, err
	}
	return WebhookTarget{URL: w.Url, Secret: string(secret)}, nil
}
