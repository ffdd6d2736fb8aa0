package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waypost/waypost/internal/model"
)

// IngestResult counts a batch: Inserted new events, Duplicates already
// stored (a retried batch).
type IngestResult struct {
	Inserted   int64 `json:"inserted"`
	Duplicates int64 `json:"duplicates"`
}

var (
	exposureCols = []string{"environment_id", "experiment_key", "user_id", "variant", "timestamp", "day", "idempotency_key"}
	metricCols   = []string{"environment_id", "metric", "experiment_key", "user_id", "value", "timestamp", "day", "idempotency_key"}
)

// IngestEvents writes a validated batch for environment envID into the
// built-in store: the day partitions are ensured, the rows are COPied into
// session temporary tables and moved with INSERT ... ON CONFLICT DO
// NOTHING on the idempotency key, so a retried batch is not counted twice.
func (s *Store) IngestEvents(ctx context.Context, envID int64, events []model.Event) (IngestResult, error) {
	var exps, mets [][]any
	days := map[time.Time]bool{}
	for _, e := range events {
		ts := e.Timestamp.UTC()
		day := ts.Truncate(24 * time.Hour)
		days[day] = true
		if e.Type == "exposure" {
			exps = append(exps, []any{envID, e.ExperimentKey, e.UserID, e.Variant, ts, day, e.IdempotencyKey})
		} else {
			var xk *string
			if e.ExperimentKey != "" {
				xk = &e.ExperimentKey
			}
			mets = append(mets, []any{envID, e.Metric, xk, e.UserID, e.Value, ts, day, e.IdempotencyKey})
		}
	}
	// Partitions first, in their own short transactions: DDL locks the
	// parent table, so it must not be held for the whole batch.
	for d := range days {
		if _, err := s.pool.Exec(ctx, "SELECT waypost_ensure_events_partition($1::date)", d); err != nil {
			return IngestResult{}, fmt.Errorf("ensure events partition %s: %w", d.Format(time.DateOnly), err)
		}
	}
	var res IngestResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
CREATE TEMP TABLE IF NOT EXISTS wp_in_exposures (environment_id bigint, experiment_key text, user_id text, variant text,
  "timestamp" timestamptz, day date, idempotency_key text) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS wp_in_metric (environment_id bigint, metric text, experiment_key text, user_id text,
  value double precision, "timestamp" timestamptz, day date, idempotency_key text) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("temp tables: %w", err)
		}
		if len(exps) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"wp_in_exposures"}, exposureCols, pgx.CopyFromRows(exps)); err != nil {
				return fmt.Errorf("copy exposures: %w", err)
			}
			tag, err := tx.Exec(ctx, `
INSERT INTO events_exposures (project_id, environment_id, experiment_key, user_id, variant, "timestamp", day, idempotency_key)
SELECT e.project_id, i.environment_id, i.experiment_key, i.user_id, i.variant, i."timestamp", i.day, i.idempotency_key
  FROM wp_in_exposures i JOIN environments e ON e.id = i.environment_id
ON CONFLICT DO NOTHING`)
			if err != nil {
				return fmt.Errorf("insert exposures: %w", err)
			}
			res.Inserted += tag.RowsAffected()
		}
		if len(mets) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"wp_in_metric"}, metricCols, pgx.CopyFromRows(mets)); err != nil {
				return fmt.Errorf("copy metric events: %w", err)
			}
			tag, err := tx.Exec(ctx, `
INSERT INTO events_metric (project_id, environment_id, metric, experiment_key, user_id, value, "timestamp", day, idempotency_key)
SELECT e.project_id, i.environment_id, i.metric, i.experiment_key, i.user_id, i.value, i."timestamp", i.day, i.idempotency_key
  FROM wp_in_metric i JOIN environments e ON e.id = i.environment_id
ON CONFLICT DO NOTHING`)
			if err != nil {
				return fmt.Errorf("insert metric events: %w", err)
			}
			res.Inserted += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return IngestResult{}, mapErr(err)
	}
	res.Duplicates = int64(len(events)) - res.Inserted
	return res, nil
}
