package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/sdk/eval"
)

// Phases: an experiment runs in phases, each with a fixed split and
// traffic. The database refuses rollout changes that do not match the open
// phase (SQLSTATE WPX01, mapped to 409 experiment_running by mapErr), marks
// the phase interrupted when the kill switch turns the flag off, and logs
// phase changes (migration 010). The functions here open and end phases.

func toPhase(p db.ExperimentPhase) (model.Phase, error) {
	out := model.Phase{Number: int(p.Number), TrafficBP: int(p.TrafficBp), StartedAt: p.StartedAt, StartedBy: p.StartedBy,
		EndedAt: p.EndedAt, EndedBy: p.EndedBy, EndReason: p.EndReason}
	if err := json.Unmarshal(p.Weights, &out.Weights); err != nil {
		return out, fmt.Errorf("phase %d weights: %w", p.Number, err)
	}
	if err := json.Unmarshal(p.Audience, &out.Audience); err != nil {
		return out, fmt.Errorf("phase %d audience: %w", p.Number, err)
	}
	if p.InterruptedAt != nil && p.InterruptedBy != nil {
		out.Interrupted = &model.Interrupted{At: *p.InterruptedAt, By: *p.InterruptedBy}
	}
	return out, nil
}

func listPhases(ctx context.Context, q *db.Queries, experimentID int64) ([]model.Phase, error) {
	rows, err := q.ListPhases(ctx, experimentID)
	if err != nil {
		return nil, fmt.Errorf("list phases: %w", err)
	}
	out := make([]model.Phase, 0, len(rows))
	for _, r := range rows {
		p, err := toPhase(r)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// openPhase ends the experiment's open phase (if any) with reason and
// opens the next one with weights (normalised), traffic and audience (nil:
// the experiment's), keeping the experiment row's plan in step.
func openPhase(ctx context.Context, q *db.Queries, experimentID int64, reason string, ws []model.Weight, traffic int, audience json.RawMessage) error {
	if reason != "" {
		if err := q.EndPhase(ctx, db.EndPhaseParams{ExperimentID: experimentID, EndReason: reason}); err != nil {
			return fmt.Errorf("end phase: %w", err)
		}
	}
	b, err := json.Marshal(ws)
	if err != nil {
		return fmt.Errorf("encode weights: %w", err)
	}
	if _, err := q.InsertPhase(ctx, db.InsertPhaseParams{ExperimentID: experimentID, Weights: b, TrafficBp: int32(traffic), Audience: audience}); err != nil {
		return mapErr(fmt.Errorf("open phase: %w", err))
	}
	if err := q.SetExperimentPlan(ctx, db.SetExperimentPlanParams{ID: experimentID, Weights: b, TrafficBp: int32(traffic), Audience: audience}); err != nil {
		return mapErr(fmt.Errorf("set experiment plan: %w", err))
	}
	return nil
}

// runningOn returns the experiment running on a flag in an environment,
// or ok false.
func runningOn(ctx context.Context, q *db.Queries, fe flagEnv) (db.ExperimentCurrentPhase, bool, error) {
	cur, err := q.RunningExperimentOn(ctx, db.RunningExperimentOnParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
	if isNoRows(err) {
		return cur, false, nil
	}
	if err != nil {
		return cur, false, fmt.Errorf("running experiment: %w", err)
	}
	return cur, true, nil
}

// newPhaseForRollout is the confirmed path of a rollout change while an
// experiment runs: the phase ends and the next starts with the new
// rollout as its weights (same traffic), before the rollout is written.
func newPhaseForRollout(ctx context.Context, q *db.Queries, fe flagEnv, rollout []model.Weight) error {
	cur, ok, err := runningOn(ctx, q, fe)
	if err != nil || !ok {
		return err
	}
	if err := guardRolloutFlag(ctx, q, fe); err != nil {
		return err
	}
	if _, err := q.LockExperiment(ctx, cur.ExperimentID); err != nil {
		return fmt.Errorf("lock experiment: %w", err)
	}
	return openPhase(ctx, q, cur.ExperimentID, "new_phase", rollout, int(cur.TrafficBp), nil)
}

// NewPhase ends a running experiment's phase and starts the next with a
// changed plan (weights, traffic and/or audience); the flag's rollout
// follows the weights and the served experiment the audience, all in one
// transaction (logged once, as experiment_phase_changed).
func (s *Store) NewPhase(ctx context.Context, projectKey, key string, in model.NewPhase) (model.Experiment, error) {
	err := s.change(ctx, func(q *db.Queries) error {
		if err := guardRolloutExperiment(ctx, q, projectKey, key); err != nil {
			return err
		}
		// The environment first, then the experiment (the order saves
		// use): an audience is checked against the segments.
		if err := lockExperimentEnvironment(ctx, q, projectKey, key); err != nil {
			return err
		}
		x, fe, err := lockForTransition(ctx, q, projectKey, key, "change its plan", "running")
		if err != nil {
			return err
		}
		if err := in.Validate(fe.vars); err != nil {
			return err
		}
		audience, err := newPhaseAudience(ctx, q, x, in.Audience)
		if err != nil {
			return err
		}
		var ws []model.Weight
		if in.Weights != nil {
			ws = *in.Weights
		} else if err := json.Unmarshal(x.Weights, &ws); err != nil {
			return fmt.Errorf("weights: %w", err)
		}
		traffic := int(x.TrafficBp)
		if in.TrafficBP != nil {
			traffic = *in.TrafficBP
		}
		if err := openPhase(ctx, q, x.ID, "new_phase", ws, traffic, audience); err != nil {
			return err
		}
		rollout, _ := json.Marshal(ws)
		if err := q.SetRollout(ctx, db.SetRolloutParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, Rollout: rollout}); err != nil {
			return mapErr(fmt.Errorf("set rollout: %w", err))
		}
		if audience == nil {
			return nil
		}
		// The new audience is served from now on: the set must still compile.
		return checkEnvironment(ctx, q, fe.env.ID, x.FlagKey, "")
	})
	if err != nil {
		return model.Experiment{}, err
	}
	return s.GetExperiment(ctx, projectKey, key)
}

// newPhaseAudience checks a new phase's audience as an experiment's save
// does (compiled with the environment's segments and the experiment's
// layer; errors name the clause, "audience[1].values[0]") and returns it
// encoded, or nil when none was given (the audience stays).
func newPhaseAudience(ctx context.Context, q *db.Queries, x db.GetExperimentRow, audience *[]eval.Clause) (json.RawMessage, error) {
	if audience == nil {
		return nil, nil
	}
	var m model.Experiment
	if err := decodeExperimentTargeting(&m, x); err != nil {
		return nil, err
	}
	if err := checkAudience(ctx, q, x.EnvironmentID, *audience, m.Layer); err != nil {
		return nil, err
	}
	b, err := json.Marshal(*audience)
	if err != nil {
		return nil, fmt.Errorf("encode audience: %w", err)
	}
	return b, nil
}

// experimentRunningErr is the 409 for a change a running experiment
// forbids.
func experimentRunningErr(msg string, err error) error {
	return &errs.Error{Kind: errs.KindConflict, Code: "experiment_running", Message: msg, Err: err}
}
