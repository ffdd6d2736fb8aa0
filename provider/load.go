package provider

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waypost/waypost/db"
	"github.com/waypost/waypost/internal/flagset"
	"github.com/waypost/waypost/sdk/eval"
)

// loadEnvironment reads one environment's flag set in a single read-only
// repeatable-read transaction, so revision and data agree.
func loadEnvironment(ctx context.Context, pool *pgxpool.Pool, envID int64) (*eval.FlagSet, error) {
	var set *eval.FlagSet
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		set, err = flagset.Read(ctx, db.New(tx), envID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load environment %d: %w", envID, err)
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
