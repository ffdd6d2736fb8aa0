// Package flagset reads one environment's served flag set (the wire format
// of docs/evaluation.md) from the database. The provider serves what it
// reads; the manager reads the same set to check, before saving a
// targeting change, that the environment still compiles.
package flagset

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/sdk/eval"
)

// Read loads environment envID's flag set with q. Call it inside one
// repeatable-read (or locking) transaction so revision and data agree.
func Read(ctx context.Context, q *db.Queries, envID int64) (*eval.FlagSet, error) {
	set, _, err := ReadRevised(ctx, q, envID)
	return set, err
}

// ReadRevised is Read that also returns when the set's revision was made
// (environments.revised_at), for the provider's delivery timings.
func ReadRevised(ctx context.Context, q *db.Queries, envID int64) (*eval.FlagSet, time.Time, error) {
	env, err := q.GetEnvironmentRevision(ctx, envID)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("environment %d: %w", envID, err)
	}
	set, err := read(ctx, q, env)
	return set, env.RevisedAt, err
}

func read(ctx context.Context, q *db.Queries, env db.GetEnvironmentRevisionRow) (*eval.FlagSet, error) {
	envID := env.ID
	flags, err := q.SnapshotFlags(ctx, envID)
	if err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	assigns, err := q.SnapshotAssignments(ctx, envID)
	if err != nil {
		return nil, fmt.Errorf("assignments: %w", err)
	}
	segments, err := q.SnapshotSegments(ctx, envID)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	return Build(env, flags, assigns, segments)
}

// Build maps database rows to the wire format.
func Build(env db.GetEnvironmentRevisionRow, flags []db.SnapshotFlagsRow, assigns []db.SnapshotAssignmentsRow, segments []db.SnapshotSegmentsRow) (*eval.FlagSet, error) {
	set := &eval.FlagSet{Project: env.ProjectKey, Environment: env.Key, Revision: env.Revision, Flags: make([]eval.Flag, 0, len(flags))}
	byKey := make(map[string]int, len(flags))
	for _, r := range flags {
		f := eval.Flag{Key: r.Key, Kind: eval.Kind(r.Kind), Enabled: r.Enabled, OffVariant: r.OffVariant, Salt: r.Salt, Version: r.Version}
		if err := json.Unmarshal(r.Variants, &f.Variants); err != nil {
			return nil, fmt.Errorf("flag %q variants: %w", r.Key, err)
		}
		if err := json.Unmarshal(r.Rollout, &f.Rollout); err != nil {
			return nil, fmt.Errorf("flag %q rollout: %w", r.Key, err)
		}
		if err := unmarshalList(r.Rules, &f.Rules); err != nil {
			return nil, fmt.Errorf("flag %q rules: %w", r.Key, err)
		}
		if err := unmarshalList(r.Prerequisites, &f.Prerequisites); err != nil {
			return nil, fmt.Errorf("flag %q prerequisites: %w", r.Key, err)
		}
		if r.ExperimentKey != nil && r.ExperimentTraffic != nil {
			e := &eval.Experiment{Key: *r.ExperimentKey, Traffic: int(*r.ExperimentTraffic)}
			if err := unmarshalList(r.ExperimentAudience, &e.Audience); err != nil {
				return nil, fmt.Errorf("flag %q experiment audience: %w", r.Key, err)
			}
			if r.ExperimentLayerKey != nil && r.ExperimentLayerStart != nil && r.ExperimentLayerEnd != nil {
				e.Layer = &eval.Layer{Key: *r.ExperimentLayerKey, Start: int(*r.ExperimentLayerStart), End: int(*r.ExperimentLayerEnd)}
			}
			if r.ExperimentFallback != nil {
				e.Fallback = *r.ExperimentFallback // a safe rollout's control variant
			}
			f.Experiment = e
		}
		byKey[r.Key] = len(set.Flags)
		set.Flags = append(set.Flags, f)
	}
	for _, a := range assigns {
		i, ok := byKey[a.FlagKey]
		if !ok {
			continue
		}
		if set.Flags[i].Assignments == nil {
			set.Flags[i].Assignments = map[string]string{}
		}
		set.Flags[i].Assignments[a.UserID] = a.Variant
	}
	for _, s := range segments {
		sg := eval.Segment{Key: s.Key, Included: s.Included, Excluded: s.Excluded, Version: s.Version}
		if err := unmarshalList(s.Rules, &sg.Rules); err != nil {
			return nil, fmt.Errorf("segment %q rules: %w", s.Key, err)
		}
		set.Segments = append(set.Segments, sg)
	}
	return set, nil
}

// unmarshalList decodes a JSON array column; an empty array (the column
// default) leaves dst nil, so flags without targeting keep their old wire
// form byte for byte.
func unmarshalList[T any](raw json.RawMessage, dst *[]T) error {
	if len(raw) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return err
	}
	if len(*dst) == 0 {
		*dst = nil
	}
	return nil
}
