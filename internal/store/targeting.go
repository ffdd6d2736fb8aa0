package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/flagset"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/sdk/eval"
)

// checkEnvironment compiles environment envID's flag set as the provider
// will serve it, inside the caller's transaction (after its change). A
// set SDKs could not compile is refused with a 422 naming the flag or
// segment, the rule and the clause; the caller's transaction rolls back,
// so nothing is half-written.
func checkEnvironment(ctx context.Context, q *db.Queries, envID int64, editedFlag, editedSegment string) error {
	set, err := flagset.Read(ctx, q, envID)
	if err != nil {
		return err
	}
	if _, err := eval.Compile(set); err != nil {
		var ve *eval.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("compile environment %d: %w", envID, err)
		}
		if (editedFlag != "" && ve.Flag == editedFlag && ve.Segment == "") || (editedSegment != "" && ve.Segment == editedSegment) {
			return errs.Invalid(ve.Field, "%s", ve.Msg)
		}
		return errs.Invalid("", "%s", ve.Error())
	}
	return nil
}

// UpdateTargeting replaces a flag's rules and prerequisites in one
// environment. Changes of one environment are serialised (LockEnvironment)
// and the whole environment is compiled before commit, so unknown
// operators, bad values, invalid regexes or versions, unknown variants or
// segments and prerequisite cycles are refused with a 422.
func (s *Store) UpdateTargeting(ctx context.Context, projectKey, flagKey, envKey string, in model.UpdateTargeting) (model.FlagTargeting, error) {
	var out model.FlagTargeting
	if err := in.Validate(); err != nil {
		return out, err
	}
	rules, err := json.Marshal(in.Rules)
	if err != nil {
		return out, fmt.Errorf("encode rules: %w", err)
	}
	prereqs, err := json.Marshal(in.Prerequisites)
	if err != nil {
		return out, fmt.Errorf("encode prerequisites: %w", err)
	}
	err = s.change(ctx, func(q *db.Queries) error {
		fe, err := resolveFlagEnv(ctx, q, projectKey, flagKey, envKey)
		if err != nil {
			return err
		}
		if err := q.LockEnvironment(ctx, fe.env.ID); err != nil {
			return fmt.Errorf("lock environment: %w", err)
		}
		row, err := q.UpdateFlagTargeting(ctx, db.UpdateFlagTargetingParams{Rules: rules, Prerequisites: prereqs,
			FlagID: fe.flag.ID, EnvironmentID: fe.env.ID, ExpectedVersion: in.Version})
		if err != nil {
			if isNoRows(err) {
				cur, cerr := q.GetFlagTargeting(ctx, db.GetFlagTargetingParams{FlagID: fe.flag.ID, EnvironmentID: fe.env.ID})
				if cerr != nil {
					return fmt.Errorf("get targeting: %w", cerr)
				}
				return errs.VersionConflict(fmt.Sprintf("flag %s in %s", flagKey, envKey), map[string]int64{"version": cur.Version})
			}
			return mapErr(fmt.Errorf("update targeting: %w", err))
		}
		if err := checkEnvironment(ctx, q, fe.env.ID, flagKey, ""); err != nil {
			return err
		}
		out = model.FlagTargeting{Rules: in.Rules, Prerequisites: in.Prerequisites, Version: row.Version}
		return nil
	})
	return out, err
}

// CreateSegment adds a segment to one environment, compiling the
// environment before commit.
func (s *Store) CreateSegment(ctx context.Context, projectKey, envKey string, in model.SaveSegment) (model.Segment, error) {
	var out model.Segment
	if err := in.Validate(true); err != nil {
		return out, err
	}
	rules, err := json.Marshal(in.Rules)
	if err != nil {
		return out, fmt.Errorf("encode rules: %w", err)
	}
	err = s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		env, err := environment(ctx, q, p.ID, envKey)
		if err != nil {
			return err
		}
		if err := q.LockEnvironment(ctx, env.ID); err != nil {
			return fmt.Errorf("lock environment: %w", err)
		}
		row, err := q.CreateSegment(ctx, db.CreateSegmentParams{ProjectID: p.ID, EnvironmentID: env.ID, Key: in.Key,
			Name: in.Name, Description: in.Description, Included: in.Included, Excluded: in.Excluded, Rules: rules})
		if err != nil {
			return mapErr(fmt.Errorf("create segment: %w", err))
		}
		if err := checkEnvironment(ctx, q, env.ID, "", in.Key); err != nil {
			return err
		}
		out = model.Segment{Key: row.Key, Name: row.Name, Description: row.Description, Included: row.Included,
			Excluded: row.Excluded, Rules: in.Rules, Version: row.Version, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
		return nil
	})
	return out, err
}

// DeleteSegment removes a segment; it is refused (422) while a rule or an
// experiment audience of the environment still uses it.
func (s *Store) DeleteSegment(ctx context.Context, projectKey, envKey, segmentKey string) error {
	return s.change(ctx, func(q *db.Queries) error {
		p, err := project(ctx, q, projectKey)
		if err != nil {
			return err
		}
		env, err := environment(ctx, q, p.ID, envKey)
		if err != nil {
			return err
		}
		if err := q.LockEnvironment(ctx, env.ID); err != nil {
			return fmt.Errorf("lock environment: %w", err)
		}
		n, err := q.DeleteSegment(ctx, db.DeleteSegmentParams{EnvironmentID: env.ID, Key: segmentKey})
		if err != nil {
			return fmt.Errorf("delete segment: %w", err)
		}
		if n == 0 {
			return errs.NotFound("segment %q in %s", segmentKey, envKey)
		}
		return checkEnvironment(ctx, q, env.ID, "", "")
	})
}
