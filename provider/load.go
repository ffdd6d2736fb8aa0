package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/sdk/eval"
)

// loadEnvironment reads one environment's flag set in a single read-only
// repeatable-read transaction, so revision and data agree.
func loadEnvironment(ctx context.Context, pool *pgxpool.Pool, envID int64) (*eval.FlagSet, error) {
	var set *eval.FlagSet
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		q := db.New(tx)
		env, err := q.GetEnvironmentRevision(ctx, envID)
		if err != nil {
			return fmt.Errorf("environment %d: %w", envID, err)
		}
		flags, err := q.SnapshotFlags(ctx, envID)
		if err != nil {
			return fmt.Errorf("flags: %w", err)
		}
		assigns, err := q.SnapshotAssignments(ctx, envID)
		if err != nil {
			return fmt.Errorf("assignments: %w", err)
		}
		set, err = buildFlagSet(env, flags, assigns)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load environment %d: %w", envID, err)
	}
	return set, nil
}

// buildFlagSet maps database rows to the wire format of evaluation.md.
func buildFlagSet(env db.GetEnvironmentRevisionRow, flags []db.SnapshotFlagsRow, assigns []db.SnapshotAssignmentsRow) (*eval.FlagSet, error) {
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
		if r.ExperimentKey != nil && r.ExperimentTraffic != nil {
			f.Experiment = &eval.Experiment{Key: *r.ExperimentKey, Traffic: int(*r.ExperimentTraffic)}
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
	return set, nil
}

// loadKeys reads every valid SDK key hash.
func loadKeys(ctx context.Context, pool *pgxpool.Pool) (map[keyHash]keyInfo, error) {
	rows, err := db.New(pool).ActiveSDKKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load sdk keys: %w", err)
	}
	out := make(map[keyHash]keyInfo, len(rows))
	for _, r := range rows {
		var h keyHash
		if len(r.KeyHash) != len(h) {
			continue
		}
		copy(h[:], r.KeyHash)
		out[h] = keyInfo{id: r.ID, envID: r.EnvironmentID, server: r.Kind == "server"}
	}
	return out, nil
}
