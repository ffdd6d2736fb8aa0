package metricsql

import (
	"context"
	"fmt"
	"time"

	"github.com/waypost/waypost/internal/stats"
)

// Counts is what the metric statement returns.
type Counts struct {
	// Variants in the order the statement returned them (by name).
	Variants []stats.VariantData `json:"variants"`
	// ExcludedUsers were exposed to more than one variant.
	ExcludedUsers int64 `json:"excluded_users"`
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

// Run builds the statement for spec in db's dialect and runs it
// (read-only, with the given statement timeout).
func Run(ctx context.Context, db DB, spec Spec, timeout time.Duration) (Counts, error) {
	sql, args, err := BuildFor(db.Dialect(), spec)
	if err != nil {
		return Counts{}, err
	}
	out, err := scanCounts(db.Query(ctx, timeout, sql, args))
	if err != nil {
		return Counts{}, fmt.Errorf("metric %s for experiment %q: %w", spec.MetricType, spec.ExperimentKey, err)
	}
	return out, nil
}

// scanCounts reads the rows of a metric statement: variant, then
// StatColumns.
func scanCounts(_ []Column, rows [][]any, err error) (Counts, error) {
	var out Counts
	if err != nil {
		return out, err
	}
	for _, r := range rows {
		if len(r) != 1+len(StatColumns) {
			return out, fmt.Errorf("scan metric row: %d columns, want %d", len(r), 1+len(StatColumns))
		}
		var v stats.VariantData
		for i, c := range StatColumns {
			x, err := toFloat(r[1+i])
			if err != nil {
				return out, fmt.Errorf("scan metric row: column %s: %w", c.Name, err)
			}
			c.Set(&v, x)
		}
		name, ok := toText(r[0])
		if !ok {
			out.ExcludedUsers = v.Users
			continue
		}
		v.Variant = name
		out.Variants = append(out.Variants, v)
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
