package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/model"
)

// FlagFilter selects flags for ListFlags.
type FlagFilter struct {
	Archived bool   // list archived flags instead of live ones
	Tag      string // only flags with this tag
	Search   string // substring of key, name or description
	After    string // cursor: the last key of the previous page
	Limit    int    // page size (1..500)
}

func toFlag(f db.Flag, states []db.ListFlagStatesRow) (model.Flag, error) {
	out := model.Flag{
		Key: f.Key, Name: f.Name, Description: f.Description, Tags: f.Tags, Kind: model.Kind(f.Kind),
		Version: f.Version, ArchivedAt: f.ArchivedAt, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
		Environments: []model.FlagState{},
	}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if err := json.Unmarshal(f.Variants, &out.Variants); err != nil {
		return out, fmt.Errorf("flag %q: decode variants: %w", f.Key, err)
	}
	for _, s := range states {
		st, err := stateFromRow(s)
		if err != nil {
			return out, fmt.Errorf("flag %q: %w", f.Key, err)
		}
		out.Environments = append(out.Environments, st)
	}
	return out, nil
}

// stateFromRow maps a ListFlagStates row (state, environment key and
// assignment count) to the domain type.
func stateFromRow(s db.ListFlagStatesRow) (model.FlagState, error) {
	st := model.FlagState{
		Environment: s.EnvironmentKey, Enabled: s.Enabled, OffVariant: s.OffVariant, Version: s.Version,
		AssignmentCount: s.AssignmentCount, UpdatedAt: s.UpdatedAt,
	}
	if err := json.Unmarshal(s.Rollout, &st.Rollout); err != nil {
		return st, fmt.Errorf("decode rollout (environment %s): %w", s.EnvironmentKey, err)
	}
	return st, nil
}

func flagRow(ctx context.Context, q *db.Queries, projectID int64, key string) (db.Flag, error) {
	f, err := q.GetFlag(ctx, db.GetFlagParams{ProjectID: projectID, Key: key})
	if isNoRows(err) {
		return f, errs.NotFound("flag %q", key)
	}
	if err != nil {
		return f, fmt.Errorf("get flag %q: %w", key, err)
	}
	return f, nil
}

// withStates loads the per-environment states of flags in one query.
func withStates(ctx context.Context, q *db.Queries, flags []db.Flag) ([]model.Flag, error) {
	ids := make([]int64, len(flags))
	for i, f := range flags {
		ids[i] = f.ID
	}
	states, err := q.ListFlagStates(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("list flag states: %w", err)
	}
	byFlag := make(map[int64][]db.ListFlagStatesRow, len(flags))
	for _, s := range states {
		byFlag[s.FlagID] = append(byFlag[s.FlagID], s)
	}
	out := make([]model.Flag, len(flags))
	for i, f := range flags {
		if out[i], err = toFlag(f, byFlag[f.ID]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ListFlags returns one page of a project's flags (with every environment's
// state) ordered by key, and the cursor of the next page ("" at the end).
func (s *Store) ListFlags(ctx context.Context, projectKey string, f FlagFilter) ([]model.Flag, string, error) {
	q := s.queries()
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return nil, "", err
	}
	params := db.ListFlagsParams{ProjectID: p.ID, Archived: f.Archived, RowLimit: int32(f.Limit + 1)}
	if f.Tag != "" {
		params.Tag = &f.Tag
	}
	if f.Search != "" {
		params.Search = &f.Search
	}
	if f.After != "" {
		params.AfterKey = &f.After
	}
	rows, err := q.ListFlags(ctx, params)
	if err != nil {
		return nil, "", fmt.Errorf("list flags: %w", err)
	}
	next := ""
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		next = rows[len(rows)-1].Key
	}
	flags, err := withStates(ctx, q, rows)
	return flags, next, err
}

// GetFlag returns a flag with every environment's state.
func (s *Store) GetFlag(ctx context.Context, projectKey, flagKey string) (model.Flag, error) {
	return getFlag(ctx, s.queries(), projectKey, flagKey)
}

func getFlag(ctx context.Context, q *db.Queries, projectKey, flagKey string) (model.Flag, error) {
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return model.Flag{}, err
	}
	f, err := flagRow(ctx, q, p.ID, flagKey)
	if err != nil {
		return model.Flag{}, err
	}
	flags, err := withStates(ctx, q, []db.Flag{f})
	if err != nil {
		return model.Flag{}, err
	}
	return flags[0], nil
}

// CreateFlag creates a flag; triggers give it an off state in every
// environment and log flag_created.
func (s *Store) CreateFlag(ctx context.Context, projectKey string, in model.CreateFlag) (model.Flag, error) {
	var out model.Flag
	if err := in.Validate(); err != nil {
		return out, err
	}
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		variants, err := json.Marshal(in.Variants)
		if err != nil {
			return fmt.Errorf("encode variants: %w", err)
		}
		_, err = q.CreateFlag(ctx, db.CreateFlagParams{
			ProjectID: p.ID, Key: in.Key, Name: in.Name, Description: in.Description,
			Tags: in.Tags, Kind: string(in.Kind), Variants: variants,
		})
		if err != nil {
			err = mapErr(fmt.Errorf("create flag: %w", err))
			if e, ok := errs.As(err); ok && e.Code == "duplicate" {
				return errs.Duplicate("key", "a flag with key %q already exists in project %q", in.Key, projectKey)
			}
			return err
		}
		out, err = getFlag(ctx, q, projectKey, in.Key)
		return err
	})
	return out, err
}

// UpdateFlag changes a flag's name, description, tags or variants, if
// in.Version is still current; otherwise it returns a version conflict
// carrying the current flag. Variants may be renamed, added (weight 0 in
// every environment) or removed when no environment serves them.
func (s *Store) UpdateFlag(ctx context.Context, projectKey, flagKey string, in model.UpdateFlag) (model.Flag, error) {
	var out model.Flag
	if in.Version == nil { // checked first: the rest of Validate needs the flag's kind
		return out, in.Validate(model.KindBoolean)
	}
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		cur, err := flagRow(ctx, q, p.ID, flagKey)
		if err != nil {
			return err
		}
		curFlag, err := withStates(ctx, q, []db.Flag{cur})
		if err != nil {
			return err
		}
		if cur.Version != *in.Version {
			return errs.VersionConflict("flag "+flagKey, curFlag[0])
		}
		if err := in.Validate(model.Kind(cur.Kind)); err != nil {
			return err
		}
		params := db.UpdateFlagParams{ID: cur.ID, Version: cur.Version, Name: cur.Name,
			Description: cur.Description, Tags: cur.Tags, Variants: cur.Variants}
		if in.Name != nil {
			params.Name = *in.Name
		}
		if in.Description != nil {
			params.Description = *in.Description
		}
		if in.Tags != nil {
			params.Tags = *in.Tags
		}
		if in.Variants != nil {
			if err := reshapeRollouts(ctx, q, curFlag[0], *in.Variants, cur.ID, cur.ProjectID); err != nil {
				return err
			}
			if params.Variants, err = json.Marshal(*in.Variants); err != nil {
				return fmt.Errorf("encode variants: %w", err)
			}
		}
		if _, err := q.UpdateFlag(ctx, params); err != nil {
			if isNoRows(err) { // changed between our read and our write
				return errs.VersionConflict("flag "+flagKey, curFlag[0])
			}
			return mapErr(fmt.Errorf("update flag: %w", err))
		}
		if in.Variants != nil {
			if err := checkProject(ctx, q, p.ID, flagKey); err != nil {
				return err
			}
		}
		out, err = getFlag(ctx, q, projectKey, flagKey)
		return err
	})
	return out, err
}

// reshapeRollouts rewrites every environment's rollout for a new variant
// list, refusing to drop a variant that is still served.
func reshapeRollouts(ctx context.Context, q *db.Queries, cur model.Flag, next []model.Variant, flagID, projectID int64) error {
	for _, old := range cur.Variants {
		if model.HasVariant(next, old.Key) {
			continue
		}
		for _, st := range cur.Environments {
			if st.OffVariant == old.Key {
				return errs.Invalid("variants", "variant %q is the off variant in %s; change that first", old.Key, st.Environment)
			}
			for _, w := range st.Rollout {
				if w.Variant == old.Key && w.Weight > 0 {
					return errs.Invalid("variants", "variant %q has %d basis points of rollout in %s; set it to 0 first", old.Key, w.Weight, st.Environment)
				}
			}
		}
		if err := variantInUse(ctx, q, projectID, flagID, cur.Key, old.Key); err != nil {
			return err
		}
		n, err := q.CountAssignmentsUsingVariant(ctx, db.CountAssignmentsUsingVariantParams{FlagID: flagID, Variant: old.Key})
		if err != nil {
			return fmt.Errorf("count assignments: %w", err)
		}
		if n > 0 {
			return errs.Invalid("variants", "variant %q is assigned to %d users; remove those assignments first", old.Key, n)
		}
	}
	states, err := q.ListFlagStates(ctx, []int64{flagID})
	if err != nil {
		return fmt.Errorf("list flag states: %w", err)
	}
	for _, st := range states {
		var ws []model.Weight
		if err := json.Unmarshal(st.Rollout, &ws); err != nil {
			return fmt.Errorf("decode rollout: %w", err)
		}
		weights := map[string]int{}
		for _, w := range ws {
			weights[w.Variant] = w.Weight
		}
		reshaped := make([]model.Weight, len(next))
		for i, v := range next {
			reshaped[i] = model.Weight{Variant: v.Key, Weight: weights[v.Key]}
		}
		b, err := json.Marshal(reshaped)
		if err != nil {
			return fmt.Errorf("encode rollout: %w", err)
		}
		if string(b) == string(st.Rollout) {
			continue
		}
		if err := q.SetRolloutForFlag(ctx, db.SetRolloutForFlagParams{FlagID: flagID, EnvironmentID: st.EnvironmentID, Rollout: b}); err != nil {
			return mapErr(fmt.Errorf("rewrite rollout: %w", err))
		}
	}
	for _, st := range states {
		if err := reshapeRuleRollouts(ctx, q, st.Rules, next, flagID, st.EnvironmentID); err != nil {
			return err
		}
	}
	return nil
}

// SetArchived archives (soft-deletes) or restores a flag. Archived flags
// are not served to SDKs; their history stays.
func (s *Store) SetArchived(ctx context.Context, projectKey, flagKey string, archived bool) (model.Flag, error) {
	var out model.Flag
	err := s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		f, err := flagRow(ctx, q, p.ID, flagKey)
		if err != nil {
			return err
		}
		if archived {
			if err := prerequisiteInUse(ctx, q, p.ID, flagKey); err != nil {
				return err
			}
		}
		if _, err := q.SetFlagArchived(ctx, db.SetFlagArchivedParams{ID: f.ID, Archived: archived}); err != nil {
			return mapErr(fmt.Errorf("set archived: %w", err))
		}
		if !archived { // served again: its rules and prerequisites must still compile
			if err := checkProject(ctx, q, p.ID, flagKey); err != nil {
				return err
			}
		}
		out, err = getFlag(ctx, q, projectKey, flagKey)
		return err
	})
	return out, err
}
