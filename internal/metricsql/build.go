package metricsql

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/stats"
)

// Cap limits each per-user value before the sums. Set exactly one field.
type Cap struct {
	// Value is an absolute cap (> 0).
	Value *float64 `json:"value,omitempty"`
	// Percentile q in (0, 1): the cap is percentile_cont(q) over the
	// per-user values of all analysed users.
	Percentile *float64 `json:"percentile,omitempty"`
}

// Spec describes one metric analysis.
type Spec struct {
	// ExposuresSQL returns experiment_key, user_id, variant (text) and
	// "timestamp" (timestamptz), one row per exposure.
	ExposuresSQL string
	// MetricSQL returns user_id (text), "timestamp" (timestamptz) and, for
	// duration and revenue, value (a number).
	MetricSQL     string
	MetricType    stats.MetricType
	ExperimentKey string
	// AnalysisStart is the experiment start: exposures before it (say, from
	// an earlier run under the same key) do not count. Zero means no bound.
	AnalysisStart time.Time
	// AnalysisEnd is the experiment end, or now while it runs.
	AnalysisEnd time.Time
	// ConversionWindowHours limits counted events to this many hours after
	// a user's first exposure; nil means until AnalysisEnd.
	ConversionWindowHours *float64
	// Cap is optional; not allowed for binomial metrics.
	Cap *Cap
	// CUPEDWindowDays, when > 0, adds the CUPED covariate: the same
	// metric over [first exposure − window, first exposure) per user.
	CUPEDWindowDays float64
	// Denominator, when set, makes this a ratio metric: per user the
	// numerator (MetricSQL, MetricType) over the denominator.
	Denominator *Denominator
	// Dimension, when set, names a column of the exposures query to break
	// the results down by: rows come per (dimension value, variant), the
	// MaxDimensionValues most common values (by analysed users) kept and
	// the others grouped as "(other)"; NULL is "(none)".
	Dimension          string
	MaxDimensionValues int
}

// DefaultMaxDimensionValues caps a breakdown when Spec.MaxDimensionValues is 0.
const DefaultMaxDimensionValues = 20

// OtherDimension and NoDimension label the grouped and NULL values.
const (
	OtherDimension = "(other)"
	NoDimension    = "(none)"
)

// Denominator is the per-user denominator of a ratio metric: a query
// returning user_id, "timestamp" and, for duration and revenue, value;
// per user it counts qualifying events (Type count) or sums value
// (duration, revenue), in the same window as the numerator.
type Denominator struct {
	SQL  string           `json:"sql"`
	Type stats.MetricType `json:"type"`
}

var dimensionName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Build returns the single statement computing, per variant, the columns
// variant text, users bigint, sum double precision, sum_squares double
// precision (ordered by variant, the NULL-variant row of users excluded
// for being exposed to several variants last), and its bind arguments:
// $1 experiment key, $2 analysis end, $3 conversion window in hours (NULL
// for none), $4 analysis start (NULL for none), $5 cap (absolute value or
// percentile) when there is a cap.
//
// The plan is one pass over each user query: the exposures are
// aggregated per user (first exposure, min/max variant, window bounds),
// left-joined to the metric's events on user and window (pre-period and
// in-window events in the same join, told apart by FILTER), aggregated
// per user again, then summed per variant. The user queries are inlined
// (NOT MATERIALIZED), so PostgreSQL pushes the experiment-key filter into
// the exposures query (an index on experiment_key or user_id in the
// user's tables is usable). The statement runs in one process with a
// small work_mem (setSession): the hash join and the per-user aggregate
// then work in cache-sized batches, which on a million users costs about
// a third less CPU than one large in-memory hash table or two parallel
// halves of the users. See docs/statistics.md for the plan.
func Build(spec Spec) (string, []any, error) {
	exposures, err := ValidateQuery(spec.ExposuresSQL)
	if err != nil {
		return "", nil, fmt.Errorf("exposures query: %w", err)
	}
	metric, err := ValidateQuery(spec.MetricSQL)
	if err != nil {
		return "", nil, fmt.Errorf("metric query: %w", err)
	}
	if !spec.MetricType.Valid() {
		return "", nil, fmt.Errorf("metricsql: unknown metric type %q", spec.MetricType)
	}
	if spec.ExperimentKey == "" {
		return "", nil, errors.New("metricsql: empty experiment key")
	}
	if spec.AnalysisEnd.IsZero() {
		return "", nil, errors.New("metricsql: analysis end is not set")
	}
	if w := spec.ConversionWindowHours; w != nil && (!(*w > 0) || math.IsInf(*w, 0)) {
		return "", nil, fmt.Errorf("metricsql: conversion window must be a positive number of hours, got %v", *w)
	}
	var start *time.Time
	if !spec.AnalysisStart.IsZero() {
		start = &spec.AnalysisStart
	}
	args := []any{spec.ExperimentKey, spec.AnalysisEnd, spec.ConversionWindowHours, start}

	if spec.CUPEDWindowDays < 0 || math.IsNaN(spec.CUPEDWindowDays) || spec.CUPEDWindowDays > 3650 {
		return "", nil, fmt.Errorf("metricsql: CUPED window must be between 0 and 3650 days, got %v", spec.CUPEDWindowDays)
	}
	var denominator string
	if d := spec.Denominator; d != nil {
		if d.Type != stats.Count && d.Type != stats.Duration && d.Type != stats.Revenue {
			return "", nil, fmt.Errorf("metricsql: a ratio's denominator counts events or sums values (count, duration or revenue), got %q", d.Type)
		}
		if spec.MetricType == stats.Binomial {
			return "", nil, errors.New("metricsql: a ratio metric's numerator cannot be binomial")
		}
		if denominator, err = ValidateQuery(d.SQL); err != nil {
			return "", nil, fmt.Errorf("denominator query: %w", err)
		}
	}

	capExpr, capCTE := "", ""
	if c := spec.Cap; c != nil {
		if spec.MetricType == stats.Binomial {
			return "", nil, errors.New("metricsql: a cap does not apply to binomial metrics")
		}
		switch {
		case c.Value != nil && c.Percentile != nil:
			return "", nil, errors.New("metricsql: set either a cap value or a cap percentile, not both")
		case c.Value != nil:
			if !(*c.Value > 0) || math.IsInf(*c.Value, 0) {
				return "", nil, fmt.Errorf("metricsql: cap value must be positive, got %v", *c.Value)
			}
			args = append(args, *c.Value)
			capExpr = "$5::double precision"
		case c.Percentile != nil:
			if !(*c.Percentile > 0 && *c.Percentile < 1) {
				return "", nil, fmt.Errorf("metricsql: cap percentile must be between 0 and 1, got %v", *c.Percentile)
			}
			args = append(args, *c.Percentile)
			capCTE = `,
wp_cap AS (
  SELECT percentile_cont($5::double precision) WITHIN GROUP (ORDER BY value) AS cap
  FROM wp_per_user WHERE NOT multiple
)`
			capExpr = "wp_cap.cap"
		default:
			return "", nil, errors.New("metricsql: empty cap")
		}
	}
	if d := spec.Dimension; d != "" && !dimensionName.MatchString(d) {
		return "", nil, fmt.Errorf("metricsql: dimension must be a column name (letters, digits, _), got %q", d)
	}
	if spec.MaxDimensionValues < 0 || spec.MaxDimensionValues > 1000 {
		return "", nil, fmt.Errorf("metricsql: at most 1000 dimension values, got %d", spec.MaxDimensionValues)
	}
	x := postgresExtras(spec, len(args)+1)
	args = append(args, x.args...)

	capFrom := ""
	if capCTE != "" {
		capFrom = " CROSS JOIN wp_cap"
	}
	valueSel := "value"
	if capExpr != "" {
		valueSel = "LEAST(value, " + capExpr + ")"
	}
	userCTEs := ""
	if denominator != "" {
		userCTEs = ",\nwp_denominator AS (\n" + denominator + "\n)"
	}

	// Without a breakdown or a ratio, wp_exposed is read once, by
	// wp_per_user, and is inlined (NOT MATERIALIZED) so the planner sees
	// its row estimate; otherwise it is also read by the dimension and
	// denominator CTEs and is materialized once.
	exposedMat := "NOT MATERIALIZED "
	if x.dimension || x.ratio {
		exposedMat = ""
	}
	perUser := fmt.Sprintf(`  SELECT e.user_id, e.multiple%s,
         CASE WHEN e.multiple THEN NULL ELSE e.variant END AS variant,
         %s AS value%s
  FROM wp_exposed e
  LEFT JOIN wp_metric m
    ON m.user_id = e.user_id
   AND m."timestamp" >= e.window_start
   AND m."timestamp" <= e.window_end
  GROUP BY e.user_id, e.multiple, e.variant%s`, x.dimPerUser, x.value, x.preColumn, x.dimGroup)

	var b strings.Builder
	// The CTE names carry a wp_ prefix so they cannot shadow the user's
	// tables (a metric query may itself read a table called exposures).
	// The user queries go on their own lines so a trailing -- comment in
	// them cannot swallow the closing parenthesis. They are NOT
	// MATERIALIZED: inlined, the experiment-key and time filters reach
	// their scans.
	fmt.Fprintf(&b, `WITH wp_exposures AS NOT MATERIALIZED (
%s
),
wp_metric AS NOT MATERIALIZED (
%s
)%s,
wp_exposed AS %s(
  SELECT user_id,
         min("timestamp") AS first_exposure,
         -- Variants compare byte-wise (COLLATE "C": memcmp, not the
         -- locale's strcoll): min = max means one variant under any
         -- deterministic collation, and that variant is the same string.
         -- The result keeps the database's collation for the ORDER BY.
         min(variant::text COLLATE "C") COLLATE "default" AS variant,
         min(variant::text COLLATE "C") <> max(variant::text COLLATE "C") AS multiple%s,
         -- The window bounds are computed once per user (by the aggregate),
         -- not per joined event. A user exposed to several variants gets
         -- none, so joins no event.
         CASE WHEN min(variant::text COLLATE "C") = max(variant::text COLLATE "C") THEN %s END AS window_start,
         -- LEAST ignores NULL: without a window ($3 NULL) this is the analysis end.
         CASE WHEN min(variant::text COLLATE "C") = max(variant::text COLLATE "C")
              THEN LEAST(min("timestamp") + $3::double precision * interval '1 hour', $2::timestamptz) END AS window_end
  FROM wp_exposures
  WHERE experiment_key = $1::text
    AND "timestamp" <= $2::timestamptz
    AND ($4::timestamptz IS NULL OR "timestamp" >= $4::timestamptz)
    AND user_id IS NOT NULL
    AND variant IS NOT NULL
  GROUP BY user_id
),
wp_per_user AS (
%s
)%s%s%s
SELECT %svariant::text AS variant,
       count(*)::bigint AS users,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(v), 0) END::double precision AS sum,
       CASE WHEN variant IS NULL THEN 0 ELSE coalesce(sum(v * v), 0) END::double precision AS sum_squares%s
FROM (SELECT %svariant, %s AS v%s FROM wp_per_user%s%s) AS capped
GROUP BY %svariant
ORDER BY %svariant NULLS LAST`, exposures, metric, userCTEs, exposedMat, x.dimExposed, x.windowStart,
		perUser,
		x.denominatorCTE, capCTE, x.dimCTE, x.dimSelect, x.sumColumns, x.dimInner, valueSel, x.perUserColumns(capExpr), capFrom, x.denominatorJoin,
		x.dimOuter, x.dimOuter)
	return b.String(), args, nil
}

// ValidateFor is ValidateQuery followed by the dialect's own check.
func ValidateFor(d Dialect, sql string) (string, error) {
	q, err := ValidateQuery(sql)
	if err != nil {
		return "", err
	}
	if err := d.CheckQuery(q); err != nil {
		return "", err
	}
	return q, nil
}

// Postgres is the PostgreSQL dialect (also the built-in store's).
var Postgres Dialect = postgres{}

type postgres struct{}

func (postgres) Kind() string            { return KindPostgres }
func (postgres) CheckQuery(string) error { return nil }

func (postgres) Preview(q string, limit int) (string, []any) {
	return "SELECT * FROM (\n" + q + "\n) AS wp_preview LIMIT $1", []any{limit}
}

func (postgres) DailyExposures(q, experimentKey string, end time.Time) (string, []any) {
	return `WITH wp_exposures AS (
` + q + `
),
wp_first AS (
  SELECT DISTINCT ON (user_id) user_id, variant, "timestamp" AS first_exposure
  FROM wp_exposures
  WHERE experiment_key = $1::text AND "timestamp" < $2::timestamptz
    AND user_id IS NOT NULL AND variant IS NOT NULL
  ORDER BY user_id, "timestamp", variant
)
SELECT variant::text, ((first_exposure AT TIME ZONE 'UTC')::date - date '1970-01-01')::bigint AS day, count(*)::bigint
FROM wp_first GROUP BY 1, 2`, []any{experimentKey, end}
}

// statSelect renders StatColumns over v; cast wraps an aggregate in the
// dialect's cast for a count or a double.
func statSelect(cast func(agg string, integer bool) string) string {
	var b strings.Builder
	for _, c := range StatColumns {
		fmt.Fprintf(&b, ",\n       %s AS %s", cast(c.Agg, c.Integer), c.Name)
	}
	return b.String()
}

func (postgres) Metric(exposures, metric string, spec Spec, capArg *float64) (string, []any) {
	var start *time.Time
	if !spec.AnalysisStart.IsZero() {
		start = &spec.AnalysisStart
	}
	args := []any{spec.ExperimentKey, spec.AnalysisEnd, spec.ConversionWindowHours, start}

	var value string
	switch spec.MetricType {
	case stats.Binomial:
		value = "CASE WHEN count(m.user_id) > 0 THEN 1.0 ELSE 0.0 END"
	case stats.Count:
		value = "count(m.user_id)::double precision"
	default:
		value = "coalesce(sum(m.value::double precision), 0)"
	}

	capExpr, capCTE := "", ""
	if capArg != nil {
		args = append(args, *capArg)
		if spec.Cap.Value != nil {
			capExpr = "$5::double precision"
		} else {
			capCTE = `,
wp_cap AS (
  SELECT percentile_cont($5::double precision) WITHIN GROUP (ORDER BY value) AS cap
  FROM wp_per_user WHERE NOT multiple
)`
			capExpr = "wp_cap.cap"
		}
	}
	capFrom := ""
	if capCTE != "" {
		capFrom = " CROSS JOIN wp_cap"
	}
	valueSel := "value"
	if capExpr != "" {
		valueSel = "LEAST(value, " + capExpr + ")"
	}
	cols := statSelect(func(agg string, integer bool) string {
		if integer {
			return agg + "::bigint"
		}
		return "CASE WHEN variant IS NULL THEN 0 ELSE coalesce(" + agg + ", 0) END::double precision"
	})
	var b strings.Builder
	// The CTE names carry a wp_ prefix so they cannot shadow the user's
	// tables (a metric query may itself read a table called exposures).
	// The user queries go on their own lines so a trailing -- comment in
	// them cannot swallow the closing parenthesis.
	fmt.Fprintf(&b, `WITH wp_exposures AS (
%s
),
wp_metric AS (
%s
),
wp_exposed AS (
  SELECT user_id,
         min("timestamp") AS first_exposure,
         min(variant) AS variant,
         min(variant) <> max(variant) AS multiple
  FROM wp_exposures
  WHERE experiment_key = $1::text
    AND "timestamp" <= $2::timestamptz
    AND ($4::timestamptz IS NULL OR "timestamp" >= $4::timestamptz)
    AND user_id IS NOT NULL
    AND variant IS NOT NULL
  GROUP BY user_id
),
wp_per_user AS (
  SELECT e.multiple,
         CASE WHEN e.multiple THEN NULL ELSE e.variant END AS variant,
         %s AS value
  FROM wp_exposed e
  LEFT JOIN wp_metric m
    ON NOT e.multiple
   AND m.user_id = e.user_id
   AND m."timestamp" >= e.first_exposure
   -- LEAST ignores NULL: without a window ($3 NULL) this is the analysis end.
   AND m."timestamp" <= LEAST(e.first_exposure + $3::double precision * interval '1 hour', $2::timestamptz)
  GROUP BY e.user_id, e.multiple, e.variant
)%s
SELECT variant::text AS variant%s
FROM (SELECT variant, %s AS v FROM wp_per_user%s) AS capped
GROUP BY variant
ORDER BY variant NULLS LAST`, exposures, metric, value, capCTE, cols, valueSel, capFrom)
	return b.String(), args
}
