package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

// flagEnv resolves project, flag and environment keys to rows.
type flagEnv struct {
	project db.Project
	flag    db.Flag
	env     db.Environment
	vars    []model.Variant
}

func resolveFlagEnv(ctx context.Context, q *db.Queries, projectKey, flagKey, envKey string) (flagEnv, error) {
	var fe flagEnv
	var err error
	if fe.project, err = project(ctx, q, projectKey); err != nil {
		return fe, err
	}
	if fe.flag, err = flagRow(ctx, q, fe.project.ID, flagKey); err != nil {
		return fe, err
	}
	if fe.env, err = environment(ctx, q, fe.project.ID, envKey); err != nil {
		return fe, err
	}
	if err := json.Unmarshal(fe.flag.Variants, &fe.vars); err != nil {
		return fe, fmt.Errorf("flag %q: decode variants: %w", flagKey, err)
	}
	return fe, nil
}

func (fe flagEnv) state(ctx context.Context, q *db.Queries) (model.FlagState, error) {
	rows, err := q.ListFlagStates(ctx, []int64{fe.flag.ID})
	if err != nil {
		return model.FlagState{}, fmt.Errorf("get flag state: %w", err)
	}
	for _, r := range rows {
		if r.EnvironmentID == fe.env.ID {
			return stateFromRow(r)
		}
	}
	return model.FlagState{}, errs.NotFound("state of flag %q in %s", fe.flag.Key, fe.env.Key)
}

// UpdateState toggles a flag, sets its rollout or its off variant in one
// environment, all in one transaction. in must be validated by the caller
// against the flag's variants with in.Validate; UpdateState re-validates
// inside the transaction so a concurrent variant change cannot slip by.
func (s *Store) UpdateState(ctx context.Context, projectKey, flagKey, envKey string, in model.UpdateState) (model.FlagState, error) {
	var out model.FlagState
	err := s.change(ctx, func(q *db.Queries) error {
		fe, err := resolveFlagEnv(ctx, q, projectKey, flagKey, envKey)
		if err != nil {
			return err
		}
		if err := in.Validate(fe.vars); err != nil {
			return err
		}
		params := db.UpdateFlagStateParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID,
			Enabled: in.Enabled, OffVariant: in.OffVariant, ExpectedVersion: in.Version}
		if in.Rollout != nil {
			if params.Rollout, err = json.Marshal(*in.Rollout); err != nil {
				return fmt.Errorf("encode rollout: %w", err)
			}
			if in.NewExperimentPhase {
				if err := newPhaseForRollout(ctx, q, fe, *in.Rollout); err != nil {
					return err
				}
			}
		}
		if _, err := q.UpdateFlagState(ctx, params); err != nil {
			if isNoRows(err) {
				cur, cerr := fe.state(ctx, q)
				if cerr != nil {
					return cerr
				}
				return errs.VersionConflict(fmt.Sprintf("flag %s in %s", flagKey, envKey), cur)
			}
			return mapErr(fmt.Errorf("update flag state: %w", err))
		}
		out, err = fe.state(ctx, q)
		return err
	})
	return out, err
}

// ListAssignments returns one page of a flag's custom assignments in an
// environment, ordered by user id, and the next cursor ("" at the end).
func (s *Store) ListAssignments(ctx context.Context, projectKey, flagKey, envKey, after string, limit int) ([]model.Assignment, string, error) {
	q := s.queries()
	fe, err := resolveFlagEnv(ctx, q, projectKey, flagKey, envKey)
	if err != nil {
		return nil, "", err
	}
	params := db.ListAssignmentsParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, RowLimit: int32(limit + 1)}
	if after != "" {
		params.AfterUser = &after
	}
	rows, err := q.ListAssignments(ctx, params)
	if err != nil {
		return nil, "", fmt.Errorf("list assignments: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rows[len(rows)-1].UserID
	}
	out := make([]model.Assignment, len(rows))
	for i, r := range rows {
		out[i] = model.Assignment{UserID: r.UserID, Variant: r.Variant, CreatedAt: r.CreatedAt}
	}
	return out, next, nil
}

// SetAssignments adds or changes custom assignments in one transaction and
// returns how many rows changed (unchanged ones are not rewritten or logged).
func (s *Store) SetAssignments(ctx context.Context, projectKey, flagKey, envKey string, in model.SetAssignments) (int64, error) {
	var n int64
	err := s.change(ctx, func(q *db.Queries) error {
		fe, err := resolveFlagEnv(ctx, q, projectKey, flagKey, envKey)
		if err != nil {
			return err
		}
		if err := in.Validate(fe.vars); err != nil {
			return err
		}
		users := make([]string, len(in.Assignments))
		variants := make([]string, len(in.Assignments))
		for i, a := range in.Assignments {
			users[i], variants[i] = a.UserID, a.Variant
		}
		n, err = q.UpsertAssignments(ctx, db.UpsertAssignmentsParams{
			FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, UserIds: users, Variants: variants})
		if err != nil {
			return mapErr(fmt.Errorf("upsert assignments: %w", err))
		}
		return nil
	})
	return n, err
}

// RemoveAssignments deletes custom assignments and returns how many existed.
func (s *Store) RemoveAssignments(ctx context.Context, projectKey, flagKey, envKey string, in model.RemoveAssignments) (int64, error) {
	var n int64
	if err := in.Validate(); err != nil {
		return 0, err
	}
	err := s.change(ctx, func(q *db.Queries) error {
		fe, err := resolveFlagEnv(ctx, q, projectKey, flagKey, envKey)
		if err != nil {
			return err
		}
		n, err = q.DeleteAssignments(ctx, db.DeleteAssignmentsParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, UserIds: in.UserIDs})
		if err != nil {
			return fmt.Errorf("delete assignments: %w", err)
		}
		return nil
	})
	return n, err
}
