package metricsql

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BuildExposed returns the statement counting the users of an analysis
// per variant from the exposures query alone: users exposed in
// [AnalysisStart, AnalysisEnd] grouped by variant, and one row with a NULL
// variant for the users exposed to more than one (excluded), by the same
// per-user rule as every metric statement. Columns: variant (text, NULL
// for the excluded) and users (integer). A refresh takes its users and
// sample-ratio check from this one statement rather than from any
// metric's.
func BuildExposed(d Dialect, spec Spec) (string, []any, error) {
	q, err := ValidateFor(d, spec.ExposuresSQL)
	if err != nil {
		return "", nil, fmt.Errorf("exposures query: %w", err)
	}
	if spec.ExperimentKey == "" {
		return "", nil, errors.New("metricsql: empty experiment key")
	}
	if spec.AnalysisEnd.IsZero() {
		return "", nil, errors.New("metricsql: analysis end is not set")
	}
	switch d.Kind() {
	case KindClickHouse:
		return `SELECT if(multiple, NULL, exposed_variant) AS variant, toInt64(count()) AS users
FROM (
  SELECT min(wp_variant) AS exposed_variant, min(wp_variant) != max(wp_variant) OR min(wp_k2) != max(wp_k2) AS multiple
  FROM (
    ` + chExposures(q, spec.ExperimentKey, spec.AnalysisStart, spec.AnalysisEnd, false) + `
  )
  GROUP BY wp_k1
)
GROUP BY variant
ORDER BY variant NULLS LAST`, nil, nil
	case KindMySQL:
		args := []any{spec.ExperimentKey, spec.AnalysisEnd.UTC()}
		startCond := ""
		if !spec.AnalysisStart.IsZero() {
			startCond = " AND `timestamp` >= ?"
			args = append(args, spec.AnalysisStart.UTC())
		}
		return "WITH wp_exposures AS (\n" + q + "\n" + `),
wp_per_user AS (
  SELECT CASE WHEN MIN(CAST(variant AS BINARY)) <> MAX(CAST(variant AS BINARY)) THEN NULL ELSE MIN(CAST(variant AS BINARY)) END AS variant
  FROM wp_exposures
  WHERE CAST(experiment_key AS BINARY) = CAST(? AS BINARY) AND ` + "`timestamp`" + ` <= ?` + startCond + `
    AND user_id IS NOT NULL AND variant IS NOT NULL
  GROUP BY CAST(user_id AS BINARY)
)
SELECT variant, COUNT(*) AS users
FROM wp_per_user
GROUP BY variant
ORDER BY variant IS NULL, variant`, args, nil
	}
	var start *time.Time
	if !spec.AnalysisStart.IsZero() {
		start = &spec.AnalysisStart
	}
	return `WITH wp_exposures AS (
` + q + `
),
wp_per_user AS (
  -- Byte-wise comparison (COLLATE "C"), as in Build: the same users are
  -- excluded under any deterministic collation, without strcoll calls.
  SELECT CASE WHEN min(variant::text COLLATE "C") <> max(variant::text COLLATE "C") THEN NULL
              ELSE min(variant::text COLLATE "C") COLLATE "default" END AS variant
  FROM wp_exposures
  WHERE experiment_key = $1::text
    AND "timestamp" <= $2::timestamptz
    AND ($3::timestamptz IS NULL OR "timestamp" >= $3::timestamptz)
    AND user_id IS NOT NULL
    AND variant IS NOT NULL
  GROUP BY user_id
)
SELECT variant::text, count(*)::bigint AS users
FROM wp_per_user
GROUP BY 1
ORDER BY 1 NULLS LAST`, []any{spec.ExperimentKey, spec.AnalysisEnd, start}, nil
}

// Exposed is what the exposures statement returns: users per variant and
// the users excluded for being exposed to several variants.
type Exposed struct {
	Users         map[string]int64
	ExcludedUsers int64
}

// RunExposed builds and runs BuildExposed on db (read-only, bounded by
// timeout).
func RunExposed(ctx context.Context, db DB, spec Spec, timeout time.Duration) (Exposed, string, []any, error) {
	out := Exposed{Users: map[string]int64{}}
	sql, args, err := BuildExposed(db.Dialect(), spec)
	if err != nil {
		return out, "", nil, err
	}
	_, rows, err := db.Query(ctx, timeout, sql, args)
	if err != nil {
		return out, sql, args, fmt.Errorf("exposures of experiment %q: %w", spec.ExperimentKey, err)
	}
	for _, r := range rows {
		if len(r) != 2 {
			return out, sql, args, fmt.Errorf("exposures of experiment %q: %d columns, want 2", spec.ExperimentKey, len(r))
		}
		n, err := toFloat(r[1])
		if err != nil {
			return out, sql, args, fmt.Errorf("exposures of experiment %q: users: %w", spec.ExperimentKey, err)
		}
		v, ok := toText(r[0])
		if !ok {
			out.ExcludedUsers += int64(n)
			continue
		}
		out.Users[v] += int64(n)
	}
	return out, sql, args, nil
}
