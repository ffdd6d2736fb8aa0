package metricsql

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waypost/waypost/internal/stats"
)

// Counts is what the metric statement returns.
type Counts struct {
	// Variants in the order the statement returned them (by name).
	Variants []stats.VariantData `json:"variants"`
	// ExcludedUsers were exposed to more than one variant.
	ExcludedUsers int64 `json:"excluded_users"`
	// With a dimension: the rows per dimension value (Variants and
	// ExcludedUsers above are then their sums) and the number of distinct
	// values before the cap.
	Dimensions      []DimensionCounts `json:"dimensions,omitempty"`
	DimensionValues int64             `json:"dimension_values,omitempty"`
}

// DimensionCounts are one dimension value's per-variant statistics.
type DimensionCounts struct {
	Value         string              `json:"value"`
	Variants      []stats.VariantData `json:"variants"`
	ExcludedUsers int64               `json:"excluded_users"`
}

// add accumulates b's sums into a (same variant).
func add(a *stats.VariantData, b stats.VariantData) {
	a.Users += b.Users
	a.Sum += b.Sum
	a.SumSquares += b.SumSquares
	for _, p := range []struct {
		dst **stats.PairedSums
		src *stats.PairedSums
	}{{&a.Pre, b.Pre}, {&a.Denominator, b.Denominator}} {
		if p.src == nil {
			continue
		}
		if *p.dst == nil {
			*p.dst = &stats.PairedSums{}
		}
		(*p.dst).Sum += p.src.Sum
		(*p.dst).SumSquares += p.src.SumSquares
		(*p.dst).SumProducts += p.src.SumProducts
	}
}

// Ordered returns the variants in the given order, with zero rows for
// variants that had no users, followed by any variants the exposures
// contained that are not in order (e.g. a misspelt variant name).
func (c Counts) Ordered(order []string) []stats.VariantData {
	by := make(map[string]stats.VariantData, len(c.Variants))
	for _, v := range c.Variants {
		by[v.Variant] = v
	}
	out := make([]stats.VariantData, 0, len(order)+len(c.Variants))
	seen := make(map[string]bool, len(order))
	for _, name := range order {
		if seen[name] {
			continue
		}
		seen[name] = true
		v, ok := by[name]
		if !ok {
			v = stats.VariantData{Variant: name}
		}
		out = append(out, v)
	}
	for _, v := range c.Variants {
		if !seen[v.Variant] {
			out = append(out, v)
		}
	}
	return out
}

// WorkMem is the work_mem of a metric statement's transaction.
const WorkMem = "2MB"

// setSession applies the metric statement's transaction-local settings.
func setSession(ctx context.Context, tx pgx.Tx) error {
	// The statement's cost is random access into two hash tables keyed by
	// user (the exposed users the events join, and the per-user
	// aggregate). With a small work_mem PostgreSQL splits both into
	// batches that fit the CPU caches (hash join batches, hash aggregate
	// partitions, written to temporary files): at 1,000,000 users and
	// 5,000,000 events, 2MB costs about a third less CPU than 64MB, where
	// everything stays in memory but most probes miss the cache (see
	// docs/statistics.md). JIT compilation (0.2-0.4 s per statement) buys
	// nothing for a plan bound by memory access and is switched off.
	if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '"+WorkMem+"'"); err != nil {
		return fmt.Errorf("set work_mem: %w", err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
		return fmt.Errorf("set jit: %w", err)
	}
	return nil
}

// Explain runs spec's PostgreSQL statement under EXPLAIN (ANALYZE,
// BUFFERS) in the same read-only transaction and settings as Run and
// returns the plan text (for benchmarks and for tuning an events
// database's indexes).
func Explain(ctx context.Context, db Beginner, spec Spec, timeout time.Duration) (string, error) {
	sql, args, err := Build(spec)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = ReadOnly(ctx, db, timeout, func(ctx context.Context, tx pgx.Tx) error {
		if err := setSession(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
		return rows.Err()
	})
	return b.String(), err
}

// runPostgres builds and runs spec on PostgreSQL, where every analysis
// (CUPED, ratio, dimensions) is pushed down.
func runPostgres(ctx context.Context, db Beginner, spec Spec, timeout time.Duration) (Counts, error) {
	sql, args, err := Build(spec)
	if err != nil {
		return Counts{}, err
	}
	x := postgresExtras(spec, 0)
	var out Counts
	err = ReadOnly(ctx, db, timeout, func(ctx context.Context, tx pgx.Tx) error {
		if err := setSession(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		dims := map[string]int{}
		overall := map[string]int{}
		for rows.Next() {
			var (
				variant   *string
				dimension string
				v         stats.VariantData
			)
			dest := []any{&variant, &v.Users, &v.Sum, &v.SumSquares}
			if x.dimension {
				dest = append([]any{&dimension, &out.DimensionValues}, dest...)
			}
			dest = append(dest, x.scanTargets(&v)...)
			if err := rows.Scan(dest...); err != nil {
				return fmt.Errorf("scan metric row: %w", err)
			}
			if !x.dimension {
				if variant == nil {
					out.ExcludedUsers = v.Users
					continue
				}
				v.Variant = *variant
				out.Variants = append(out.Variants, v)
				continue
			}
			d, ok := dims[dimension]
			if !ok {
				d = len(out.Dimensions)
				dims[dimension] = d
				out.Dimensions = append(out.Dimensions, DimensionCounts{Value: dimension})
			}
			if variant == nil {
				out.Dimensions[d].ExcludedUsers += v.Users
				out.ExcludedUsers += v.Users
				continue
			}
			v.Variant = *variant
			out.Dimensions[d].Variants = append(out.Dimensions[d].Variants, v)
			i, ok := overall[v.Variant]
			if !ok {
				i = len(out.Variants)
				overall[v.Variant] = i
				out.Variants = append(out.Variants, stats.VariantData{Variant: v.Variant})
			}
			add(&out.Variants[i], v)
		}
		sort.Slice(out.Variants, func(i, j int) bool { return out.Variants[i].Variant < out.Variants[j].Variant })
		return rows.Err()
	})
	if err != nil {
		return Counts{}, fmt.Errorf("metric %s for experiment %q: %w", spec.MetricType, spec.ExperimentKey, err)
	}
	return out, nil
}

// Run builds the statement for spec in db's dialect and runs it
// (read-only, with the given statement timeout).
func Run(ctx context.Context, db DB, spec Spec, timeout time.Duration) (Counts, error) {
	if pg, ok := db.(pgDB); ok {
		return runPostgres(ctx, pg.b, spec, timeout)
	}
	sql, args, err := BuildOn(db.Dialect(), spec)
	if err != nil {
		return Counts{}, err
	}
	_, rows, err := db.Query(ctx, timeout, sql, args)
	var out Counts
	if err == nil {
		out, err = scanShaped(ShapeOf(spec), rows)
	}
	if err != nil {
		return Counts{}, fmt.Errorf("metric %s for experiment %q: %w", spec.MetricType, spec.ExperimentKey, err)
	}
	return out, nil
}

// Describe returns the result columns of a user query without returning
// rows (on PostgreSQL it is only prepared).
func Describe(ctx context.Context, db DB, sql string, timeout time.Duration) ([]Column, error) {
	q, err := ValidateFor(db.Dialect(), sql)
	if err != nil {
		return nil, err
	}
	return db.Describe(ctx, timeout, q)
}

// CheckExposuresQuery validates, describes and column-checks an
// exposures query against the events database.
func CheckExposuresQuery(ctx context.Context, db DB, sql string, timeout time.Duration) error {
	fields, err := Describe(ctx, db, sql, timeout)
	if err != nil {
		return fmt.Errorf("exposures query: %w", err)
	}
	return CheckExposureColumns(fields)
}

// CheckMetricQuery validates, describes and column-checks a metric query.
func CheckMetricQuery(ctx context.Context, db DB, sql string, t stats.MetricType, timeout time.Duration) error {
	fields, err := Describe(ctx, db, sql, timeout)
	if err != nil {
		return fmt.Errorf("metric query: %w", err)
	}
	return CheckMetricColumns(fields, t)
}
