package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

func (s *Store) toExperiment(ctx context.Context, q *db.Queries, x db.GetExperimentRow) (model.Experiment, error) {
	out := model.Experiment{Key: x.Key, Name: x.Name, Hypothesis: x.Hypothesis, Flag: x.FlagKey, Environment: x.EnvironmentKey,
		Connection: x.ConnectionKey, TrafficBP: int(x.TrafficBp), PlannedSampleSize: x.PlannedSampleSize, MDE: x.Mde,
		Status: x.Status, StartedAt: x.StartedAt, StoppedAt: x.StoppedAt, ShippedVariant: x.ShippedVariant,
		Version: x.Version, CreatedAt: x.CreatedAt, UpdatedAt: x.UpdatedAt,
		PrimaryMetrics: []string{}, SecondaryMetrics: []string{}}
	if x.PlannedDurationDays != nil {
		d := int(*x.PlannedDurationDays)
		out.PlannedDurationDays = &d
	}
	if err := json.Unmarshal(x.Weights, &out.Weights); err != nil {
		return out, fmt.Errorf("experiment %q weights: %w", x.Key, err)
	}
	if err := decodeExperimentTargeting(&out, x); err != nil {
		return out, err
	}
	ms, err := q.ExperimentMetrics(ctx, x.ID)
	if err != nil {
		return out, fmt.Errorf("experiment metrics: %w", err)
	}
	for _, m := range ms {
		if m.IsPrimary {
			out.PrimaryMetrics = append(out.PrimaryMetrics, m.Key)
		} else {
			out.SecondaryMetrics = append(out.SecondaryMetrics, m.Key)
		}
	}
	if out.Phases, err = listPhases(ctx, q, x.ID); err != nil {
		return out, err
	}
	st, err := q.GetFlagState(ctx, db.GetFlagStateParams{FlagID: x.FlagID, EnvironmentID: x.EnvironmentID})
	if err != nil {
		return out, fmt.Errorf("experiment %q flag state: %w", x.Key, err)
	}
	out.FlagEnabled = st.Enabled
	return out, nil
}

func experimentRow(ctx context.Context, q *db.Queries, projectID int64, key string) (db.GetExperimentRow, error) {
	x, err := q.GetExperiment(ctx, db.GetExperimentParams{ProjectID: projectID, Key: key})
	if isNoRows(err) {
		return x, errs.NotFound("experiment %q", key)
	}
	if err != nil {
		return x, fmt.Errorf("get experiment %q: %w", key, err)
	}
	return x, nil
}

// ListExperiments returns a project's experiments, newest first.
func (s *Store) ListExperiments(ctx context.Context, projectKey string) ([]model.Experiment, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListExperiments(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list experiments: %w", err)
	}
	out := make([]model.Experiment, 0, len(rows))
	for _, r := range rows {
		x, err := s.toExperiment(ctx, q, db.GetExperimentRow(r))
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// GetExperiment returns one experiment.
func (s *Store) GetExperiment(ctx context.Context, projectKey, key string) (model.Experiment, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return model.Experiment{}, err
	}
	x, err := experimentRow(ctx, q, p.ID, key)
	if err != nil {
		return model.Experiment{}, err
	}
	return s.toExperiment(ctx, q, x)
}

// resolveMetrics looks up the metrics by key and returns their ids and the
// one events connection they share (exposures and events must be in the
// same database, as one statement joins them).
func resolveMetrics(ctx context.Context, q *db.Queries, projectID int64, in model.SaveExperiment) ([]int64, int64, error) {
	var ids []int64
	conn := int64(0)
	all := append(append([]string{}, in.PrimaryMetrics...), in.SecondaryMetrics...)
	for i, key := range all {
		field := fmt.Sprintf("primary_metrics[%d]", i)
		if i >= len(in.PrimaryMetrics) {
			field = fmt.Sprintf("secondary_metrics[%d]", i-len(in.PrimaryMetrics))
		}
		m, err := q.GetMetric(ctx, db.GetMetricParams{ProjectID: projectID, Key: key})
		if isNoRows(err) {
			return nil, 0, errs.Invalid(field, "unknown metric %q", key)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("get metric: %w", err)
		}
		if conn != 0 && m.ConnectionID != conn {
			return nil, 0, errs.Invalid(field, "metric %q reads events connection %q, but the other metrics use another one; an experiment's metrics must share one events database", key, m.ConnectionKey)
		}
		conn = m.ConnectionID
		ids = append(ids, m.ID)
	}
	return ids, conn, nil
}

func setExperimentMetrics(ctx context.Context, q *db.Queries, expID int64, ids []int64, primaries int) error {
	if err := q.DeleteExperimentMetrics(ctx, expID); err != nil {
		return fmt.Errorf("clear experiment metrics: %w", err)
	}
	for i, id := range ids {
		if err := q.AddExperimentMetric(ctx, db.AddExperimentMetricParams{ExperimentID: expID, MetricID: id,
			IsPrimary: i < primaries, Position: int32(i)}); err != nil {
			return fmt.Errorf("add experiment metric: %w", err)
		}
	}
	return nil
}

func int32Ptr(p *int) *int32 {
	if p == nil {
		return nil
	}
	v := int32(*p)
	return &v
}

// CreateExperiment creates a draft experiment.
func (s *Store) CreateExperiment(ctx context.Context, projectKey string, in model.SaveExperiment) (model.Experiment, error) {
	if err := checkKey2("flag", in.Flag, "environment", in.Environment); err != nil {
		// Flag every other invalid field of the form too, at once.
		var p errs.Problems
		for _, f := range []struct{ name, v string }{{"flag", in.Flag}, {"environment", in.Environment}} {
			switch {
			case f.v == "":
				p.Add(errs.Invalid(f.name, "is required"))
			case !model.ValidKey(f.v):
				p.Add(errs.Invalid(f.name, "a valid key is required"))
			}
		}
		rest := in
		rest.Weights = nil // checked against the flag's variants once there is a flag
		p.Add(rest.Validate([]model.Variant{{Key: "a"}, {Key: "b"}}))
		return model.Experiment{}, p.Err()
	}
	err := s.change(ctx, func(q *db.Queries) error {
		fe, err := resolveFlagEnv(ctx, q, projectKey, in.Flag, in.Environment)
		if err != nil {
			if e, ok := errs.As(err); ok && e.Kind == errs.KindNotFound {
				return errs.Invalid("", "%s", e.Message)
			}
			return err
		}
		// Lock the environment before inserting (the insert's foreign-key
		// lock on it would otherwise deadlock two concurrent creates).
		if err := lockEnvironment(ctx, q, fe.env.ID); err != nil {
			return err
		}
		if err := in.Validate(fe.vars); err != nil {
			return err
		}
		ids, conn, err := resolveMetrics(ctx, q, fe.project.ID, in)
		if err != nil {
			return err
		}
		weights, _ := json.Marshal(in.Weights)
		id, err := q.CreateExperiment(ctx, db.CreateExperimentParams{ProjectID: fe.project.ID, FlagID: fe.flag.ID,
			EnvironmentID: fe.env.ID, ConnectionID: conn, Key: in.Key, Name: in.Name, Hypothesis: in.Hypothesis,
			Weights: weights, TrafficBp: int32(in.TrafficBP), PlannedDurationDays: int32Ptr(in.PlannedDurationDays),
			PlannedSampleSize: in.PlannedSampleSize, Mde: in.MDE})
		if err != nil {
			return mapErr(fmt.Errorf("create experiment: %w", err))
		}
		if err := saveExperimentTargeting(ctx, q, fe.env.ID, id, in); err != nil {
			return err
		}
		return setExperimentMetrics(ctx, q, id, ids, len(in.PrimaryMetrics))
	})
	if err != nil {
		return model.Experiment{}, err
	}
	return s.GetExperiment(ctx, projectKey, in.Key)
}

func checkKey2(f1, v1, f2, v2 string) error {
	if !model.ValidKey(v1) {
		return errs.Invalid(f1, "a valid key is required")
	}
	if !model.ValidKey(v2) {
		return errs.Invalid(f2, "a valid key is required")
	}
	return nil
}

// UpdateExperiment replaces a draft experiment's settings (its flag and
// environment cannot change).
func (s *Store) UpdateExperiment(ctx context.Context, projectKey, key string, in model.SaveExperiment) (model.Experiment, error) {
	in.Key = key
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		x, err := experimentRow(ctx, q, p.ID, key)
		if err != nil {
			return err
		}
		if err := lockEnvironment(ctx, q, x.EnvironmentID); err != nil {
			return err
		}
		if (in.Flag != "" && in.Flag != x.FlagKey) || (in.Environment != "" && in.Environment != x.EnvironmentKey) {
			return errs.Invalid("flag", "an experiment's flag and environment cannot change; create another experiment")
		}
		if x.Status == "running" {
			return experimentRunningErr(fmt.Sprintf("experiment %q is running: its weights, traffic and audience change only as a new phase (POST .../phases); stop it to edit the rest", key), nil)
		}
		if x.Status != "draft" {
			return errs.Invalid("status", "only draft experiments can be edited (this one is %s)", x.Status)
		}
		fe, err := resolveFlagEnv(ctx, q, projectKey, x.FlagKey, x.EnvironmentKey)
		if err != nil {
			return err
		}
		if err := in.Validate(fe.vars); err != nil {
			return err
		}
		ids, conn, err := resolveMetrics(ctx, q, p.ID, in)
		if err != nil {
			return err
		}
		weights, _ := json.Marshal(in.Weights)
		n, err := q.UpdateDraftExperiment(ctx, db.UpdateDraftExperimentParams{ID: x.ID, ConnectionID: conn, Name: in.Name,
			Hypothesis: in.Hypothesis, Weights: weights, TrafficBp: int32(in.TrafficBP),
			PlannedDurationDays: int32Ptr(in.PlannedDurationDays), PlannedSampleSize: in.PlannedSampleSize, Mde: in.MDE})
		if err != nil {
			return mapErr(fmt.Errorf("update experiment: %w", err))
		}
		if n == 0 {
			return errs.Invalid("status", "only draft experiments can be edited")
		}
		if err := saveExperimentTargeting(ctx, q, fe.env.ID, x.ID, in); err != nil {
			return err
		}
		return setExperimentMetrics(ctx, q, x.ID, ids, len(in.PrimaryMetrics))
	})
	if err != nil {
		return model.Experiment{}, err
	}
	return s.GetExperiment(ctx, projectKey, key)
}

// DeleteExperiment deletes an experiment that is not running (with its
// results and exposure counts).
func (s *Store) DeleteExperiment(ctx context.Context, projectKey, key string) error {
	return s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		x, err := experimentRow(ctx, q, p.ID, key)
		if err != nil {
			return err
		}
		n, err := q.DeleteExperiment(ctx, x.ID)
		if err != nil {
			return fmt.Errorf("delete experiment: %w", err)
		}
		if n == 0 {
			return experimentRunningErr(fmt.Sprintf("experiment %q is running and cannot be deleted; stop it first", key), nil)
		}
		return nil
	})
}

// lockForTransition locks an experiment row for a status change, re-reads
// it under the lock, checks that it is in one of the statuses from, and
// resolves its flag and environment.
func lockForTransition(ctx context.Context, q *db.Queries, projectKey, key, verb string, from ...string) (db.GetExperimentRow, flagEnv, error) {
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return db.GetExperimentRow{}, flagEnv{}, err
	}
	x, err := experimentRow(ctx, q, p.ID, key)
	if err != nil {
		return x, flagEnv{}, err
	}
	if _, err := q.LockExperiment(ctx, x.ID); err != nil {
		return x, flagEnv{}, fmt.Errorf("lock experiment: %w", err)
	}
	if x, err = experimentRow(ctx, q, p.ID, key); err != nil {
		return x, flagEnv{}, err
	}
	if !slices.Contains(from, x.Status) {
		return x, flagEnv{}, errs.Invalid("status", "only a %s experiment can %s (this one is %s)", strings.Join(from, " or "), verb, x.Status)
	}
	fe, err := resolveFlagEnv(ctx, q, projectKey, x.FlagKey, x.EnvironmentKey)
	return x, fe, err
}

// StartExperiment sets the flag's rollout to the experiment's weights and
// marks it running with a new phase, in one transaction (the triggers log
// both and bump the revision, so SDKs receive "experiment": {key,
// traffic}). The flag must be on in the environment; at most one
// experiment per flag and environment runs (a unique index enforces it).
// A stopped experiment restarts as its next phase.
func (s *Store) StartExperiment(ctx context.Context, projectKey, key string) (model.Experiment, error) {
	err := s.change(ctx, func(q *db.Queries) error { return startExperimentTx(ctx, q, projectKey, key) })
	if err != nil {
		return model.Experiment{}, err
	}
	return s.GetExperiment(ctx, projectKey, key)
}

// startExperimentTx is StartExperiment inside the caller's transaction
// (safe rollouts start their experiment with their own state change).
func startExperimentTx(ctx context.Context, q *db.Queries, projectKey, key string) error {
	{
		// The environment first, then the experiment: the order saves use.
		if err := lockExperimentEnvironment(ctx, q, projectKey, key); err != nil {
			return err
		}
		x, fe, err := lockForTransition(ctx, q, projectKey, key, "start", "draft", "stopped")
		if err != nil {
			return err
		}
		if err := checkStartTargeting(ctx, q, x); err != nil {
			return err
		}
		st, err := q.GetFlagState(ctx, db.GetFlagStateParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
		if err != nil {
			return fmt.Errorf("get flag state: %w", err)
		}
		if !st.Enabled {
			return errs.Invalid("flag", "flag %q is off in %s: turn it on first (an off flag serves its off variant to everyone, so nobody would be exposed)", x.FlagKey, x.EnvironmentKey)
		}
		var ws []model.Weight
		if err := json.Unmarshal(x.Weights, &ws); err != nil {
			return fmt.Errorf("weights: %w", err)
		}
		if ws, err = model.NormalizeRollout("weights", ws, fe.vars); err != nil {
			return err
		}
		rollout, _ := json.Marshal(ws)
		if err := q.StartExperiment(ctx, db.StartExperimentParams{ID: x.ID, RolloutBefore: st.Rollout}); err != nil {
			return startErr(err, x)
		}
		if err := openPhase(ctx, q, x.ID, "", ws, int(x.TrafficBp), x.Audience); err != nil {
			return err
		}
		if err := q.SetRollout(ctx, db.SetRolloutParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, Rollout: rollout}); err != nil {
			return mapErr(fmt.Errorf("set rollout: %w", err))
		}
		// The audience is served from now on: the set must still compile.
		return checkEnvironment(ctx, q, fe.env.ID, x.FlagKey, "")
	}
}

func startErr(err error, x db.GetExperimentRow) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" && pg.ConstraintName == "experiments_one_running" {
		return experimentRunningErr(fmt.Sprintf("flag %q already has a running experiment in %s; stop it first", x.FlagKey, x.EnvironmentKey), err)
	}
	return mapErr(fmt.Errorf("start experiment: %w", err))
}

// StopExperiment stops a running experiment in one transaction with the
// rollout change: ship set serves that variant to 100% and turns the flag
// on (so the shipped variant is what everyone gets, even after the kill
// switch), otherwise the rollout from before the start is restored. The
// result's Outcome says what is served now.
func (s *Store) StopExperiment(ctx context.Context, projectKey, key string, in model.StopExperiment) (model.Experiment, error) {
	var outcome string
	err := s.change(ctx, func(q *db.Queries) error {
		if err := guardRolloutExperiment(ctx, q, projectKey, key); err != nil {
			return err
		}
		var err error
		outcome, err = stopExperimentTx(ctx, q, projectKey, key, in)
		return err
	})
	if err != nil {
		return model.Experiment{}, err
	}
	x, err := s.GetExperiment(ctx, projectKey, key)
	x.Outcome = outcome
	return x, err
}

// stopExperimentTx is StopExperiment inside the caller's transaction; it
// returns the outcome in words.
func stopExperimentTx(ctx context.Context, q *db.Queries, projectKey, key string, in model.StopExperiment) (string, error) {
	var outcome string
	err := func() error {
		x, fe, err := lockForTransition(ctx, q, projectKey, key, "stop", "running")
		if err != nil {
			return err
		}
		var ws []model.Weight
		if in.Ship != nil {
			if !model.HasVariant(fe.vars, *in.Ship) {
				return errs.Invalid("ship", "unknown variant %q", *in.Ship)
			}
			ws, _ = model.NormalizeRollout("ship", []model.Weight{{Variant: *in.Ship, Weight: model.TotalWeight}}, fe.vars)
		} else if len(x.RolloutBefore) > 0 {
			_ = json.Unmarshal(x.RolloutBefore, &ws)
			if ws, err = model.NormalizeRollout("rollout", ws, fe.vars); err != nil {
				ws = nil // the variants changed since: keep the current rollout
			}
		}
		reason := "stopped"
		if in.Ship != nil {
			reason = "shipped"
		}
		if err := q.EndPhase(ctx, db.EndPhaseParams{ExperimentID: x.ID, EndReason: reason}); err != nil {
			return fmt.Errorf("end phase: %w", err)
		}
		if err := q.StopExperiment(ctx, db.StopExperimentParams{ID: x.ID, ShippedVariant: in.Ship}); err != nil {
			return mapErr(fmt.Errorf("stop experiment: %w", err))
		}
		if ws != nil {
			rollout, _ := json.Marshal(ws)
			if err := q.SetRollout(ctx, db.SetRolloutParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, Rollout: rollout}); err != nil {
				return mapErr(fmt.Errorf("set rollout: %w", err))
			}
		}
		outcome, err = stopOutcome(ctx, q, fe, in.Ship)
		return err
	}()
	return outcome, err
}

// stopOutcome turns the flag on when a variant ships, and says in words
// what the environment serves now.
func stopOutcome(ctx context.Context, q *db.Queries, fe flagEnv, ship *string) (string, error) {
	st, err := q.GetFlagState(ctx, db.GetFlagStateParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
	if err != nil {
		return "", fmt.Errorf("get flag state: %w", err)
	}
	if ship == nil {
		if !st.Enabled {
			return fmt.Sprintf("Experiment stopped. The flag is off in %s: everyone gets %q.", fe.env.Key, st.OffVariant), nil
		}
		return fmt.Sprintf("Experiment stopped. The rollout from before the experiment is restored in %s (the flag is on).", fe.env.Key), nil
	}
	msg := fmt.Sprintf("%q now ships to everyone in %s (the flag is on).", *ship, fe.env.Key)
	if !st.Enabled {
		on := true
		if _, err := q.UpdateFlagState(ctx, db.UpdateFlagStateParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, Enabled: &on}); err != nil {
			return "", mapErr(fmt.Errorf("turn flag on: %w", err))
		}
		msg = fmt.Sprintf("%q now ships to everyone in %s: the flag was off and has been turned on.", *ship, fe.env.Key)
	}
	n, err := q.CountAssignments(ctx, db.CountAssignmentsParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
	if err != nil {
		return "", fmt.Errorf("count assignments: %w", err)
	}
	if n > 0 {
		msg += fmt.Sprintf(" %d users with custom assignments keep their assigned variant.", n)
	}
	return msg, nil
}

// ExperimentID resolves an experiment key to its id.
func (s *Store) ExperimentID(ctx context.Context, projectKey, key string) (int64, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return 0, err
	}
	x, err := experimentRow(ctx, q, p.ID, key)
	if err != nil {
		return 0, err
	}
	return x.ID, nil
}
