package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/internal/flagset"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/sdk/eval"
)

// Experiment audiences and layers (issue 11): validated with the SDK
// compiler against the environment's segments, and kept mutually
// exclusive within a layer.

// decodeExperimentTargeting fills out's Audience and Layer from the row.
func decodeExperimentTargeting(out *model.Experiment, x db.GetExperimentRow) error {
	out.Audience = []eval.Clause{}
	if len(x.Audience) > 0 {
		if err := json.Unmarshal(x.Audience, &out.Audience); err != nil {
			return fmt.Errorf("experiment %q audience: %w", x.Key, err)
		}
	}
	if x.LayerKey != nil && x.LayerStart != nil && x.LayerEnd != nil {
		out.Layer = &eval.Layer{Key: *x.LayerKey, Start: int(*x.LayerStart), End: int(*x.LayerEnd)}
	}
	return nil
}

// checkLayerFree refuses a layer range that overlaps the range of another
// experiment of the same layer and environment that is not stopped. The
// caller holds the environment lock (LockEnvironment), so two concurrent
// saves cannot both pass.
func checkLayerFree(ctx context.Context, q *db.Queries, envID, expID int64, l *eval.Layer) error {
	if l == nil {
		return nil
	}
	xs, err := q.OverlappingLayerExperiment(ctx, db.OverlappingLayerExperimentParams{EnvironmentID: envID, LayerKey: l.Key,
		ExcludeID: expID, LayerStart: int32(l.Start), LayerEnd: int32(l.End)})
	if err != nil {
		return fmt.Errorf("layer overlap: %w", err)
	}
	if len(xs) == 0 {
		return nil
	}
	o := xs[0]
	return &errs.Error{Kind: errs.KindConflict, Code: "layer_overlap", Field: "layer",
		Message: fmt.Sprintf("range [%d, %d) of layer %q overlaps experiment %q (%s, [%d, %d)); experiments of a layer must own disjoint ranges",
			l.Start, l.End, l.Key, o.Key, o.Status, derefInt(o.LayerStart), derefInt(o.LayerEnd))}
}

func derefInt(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// checkAudience compiles an audience (and layer) with the environment's
// segments, as SDKs will when the experiment runs; errors name the clause
// ("audience[1].values[0]").
func checkAudience(ctx context.Context, q *db.Queries, envID int64, audience []eval.Clause, layer *eval.Layer) error {
	segs, err := q.SnapshotSegments(ctx, envID)
	if err != nil {
		return fmt.Errorf("segments: %w", err)
	}
	set, err := flagset.Build(db.GetEnvironmentRevisionRow{}, nil, nil, segs)
	if err != nil {
		return err
	}
	set.Flags = []eval.Flag{{Key: "audience", Kind: eval.KindBoolean, Salt: "audience", OffVariant: "off",
		Variants:   []eval.Variant{{Key: "off", Value: json.RawMessage("false")}, {Key: "on", Value: json.RawMessage("true")}},
		Rollout:    []eval.WeightedVariant{{Variant: "off", Weight: eval.Buckets}, {Variant: "on", Weight: 0}},
		Experiment: &eval.Experiment{Key: "audience", Traffic: eval.Buckets, Audience: audience, Layer: layer}}}
	if _, err := eval.Compile(set); err != nil {
		var ve *eval.ValidationError
		if errors.As(err, &ve) && ve.Flag == "audience" {
			field := strings.TrimPrefix(ve.Field, "experiment.")
			return errs.Invalid(refineField(field, ve.Msg), "%s", ve.Msg)
		}
		return errs.Invalid("audience", "%v", err)
	}
	return nil
}

// saveExperimentTargeting checks and stores an experiment's audience and
// layer (in the caller's transaction, which holds the environment lock).
func saveExperimentTargeting(ctx context.Context, q *db.Queries, envID, expID int64, in model.SaveExperiment) error {
	if err := checkAudience(ctx, q, envID, in.Audience, in.Layer); err != nil {
		return err
	}
	if err := checkLayerFree(ctx, q, envID, expID, in.Layer); err != nil {
		return err
	}
	audience, err := json.Marshal(in.Audience)
	if err != nil {
		return fmt.Errorf("encode audience: %w", err)
	}
	p := db.SetExperimentTargetingParams{ID: expID, Audience: audience}
	if l := in.Layer; l != nil {
		start, end := int32(l.Start), int32(l.End)
		p.LayerKey, p.LayerStart, p.LayerEnd = &l.Key, &start, &end
	}
	if err := q.SetExperimentTargeting(ctx, p); err != nil {
		return mapErr(fmt.Errorf("set experiment targeting: %w", err))
	}
	return nil
}

// checkStartTargeting re-checks, when an experiment starts (or restarts),
// that its layer range is still free: a stopped experiment's range may
// have been given to another meanwhile. The caller holds the environment
// lock.
func checkStartTargeting(ctx context.Context, q *db.Queries, x db.GetExperimentRow) error {
	var m model.Experiment
	if err := decodeExperimentTargeting(&m, x); err != nil {
		return err
	}
	return checkLayerFree(ctx, q, x.EnvironmentID, x.ID, m.Layer)
}

// lockEnvironment serialises targeting changes of one environment
// (LockEnvironment); a deadlock or serialisation failure is a 409 retry.
func lockEnvironment(ctx context.Context, q *db.Queries, envID int64) error {
	if err := q.LockEnvironment(ctx, envID); err != nil {
		return mapErr(fmt.Errorf("lock environment: %w", err))
	}
	return nil
}

// lockExperimentEnvironment takes the environment lock of experiment key
// (before the experiment's own row lock, in the order saves take them).
func lockExperimentEnvironment(ctx context.Context, q *db.Queries, projectKey, key string) error {
	p, err := project(ctx, q, projectKey)
	if err != nil {
		return err
	}
	x, err := experimentRow(ctx, q, p.ID, key)
	if err != nil {
		return err
	}
	return lockEnvironment(ctx, q, x.EnvironmentID)
}
