package metricsql

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/stats"
)

// MySQL is the MySQL / MariaDB dialect (MySQL 8.0.17+, MariaDB 10.4+:
// CTEs, window functions, CAST AS DOUBLE). User ids and variants compare
// as bytes (CAST AS BINARY), as on PostgreSQL, whatever the columns'
// collation. The per-user work needs no join: exposures and events are
// one UNION ALL, each row marked with its user's first exposure by a
// window function, then grouped per user, so no index on the user's
// tables is needed and the plan cannot turn quadratic. Timestamps
// (DATETIME or TIMESTAMP) are read in UTC: the connector sets
// time_zone = '+00:00'.
var MySQL Dialect = mySQL{}

type mySQL struct{}

func (mySQL) Kind() string { return KindMySQL }

func (mySQL) Preview(q string, limit int) (string, []any) {
	return "SELECT * FROM (\n" + q + "\n) AS wp_preview LIMIT ?", []any{limit}
}

func (mySQL) CheckQuery(q string) error {
	return forbid(q, []string{"mysql", "information_schema", "performance_schema", "sys"},
		[]string{"load_file"}, "MySQL")
}

func (mySQL) DailyExposures(q, experimentKey string, end time.Time) (string, []any) {
	return "WITH wp_exposures AS (\n" + q + "\n" + `),
wp_ranked AS (
  SELECT CAST(variant AS BINARY) AS variant, ` + "`timestamp`" + ` AS ts,
         ROW_NUMBER() OVER (PARTITION BY CAST(user_id AS BINARY) ORDER BY ` + "`timestamp`" + `, CAST(variant AS BINARY)) AS rn
  FROM wp_exposures
  WHERE CAST(experiment_key AS BINARY) = CAST(? AS BINARY) AND ` + "`timestamp`" + ` < ?
    AND user_id IS NOT NULL AND variant IS NOT NULL
)
SELECT variant, DATEDIFF(ts, '1970-01-01') AS day, COUNT(*) AS users
FROM wp_ranked WHERE rn = 1
GROUP BY variant, DATEDIFF(ts, '1970-01-01')`, []any{experimentKey, end.UTC()}
}

// myAggregate is the per-user value of type t over the rows of kind
// (0 metric events, 2 denominator events) satisfying cond.
func myAggregate(t stats.MetricType, kind int, cond string) string {
	c := fmt.Sprintf("wp_exposure = %d AND %s", kind, cond)
	switch t {
	case stats.Binomial:
		return "CASE WHEN SUM(CASE WHEN " + c + " THEN 1 ELSE 0 END) > 0 THEN 1e0 ELSE 0e0 END"
	case stats.Count:
		return "CAST(SUM(CASE WHEN " + c + " THEN 1 ELSE 0 END) AS DOUBLE)"
	}
	return "COALESCE(SUM(CASE WHEN " + c + " THEN wp_value END), 0e0)"
}

// Metric: exposures, metric events (and denominator events) as one UNION
// ALL, each row marked with its user's first exposure (a window
// function), grouped per user; then the cap, and the per-variant (per
// dimension value and variant) sums. Bind arguments are added in the
// order their placeholders appear.
func (mySQL) Metric(exposures, metric string, spec Spec, capArg *float64) (string, []any) {
	shape := ShapeOf(spec)
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "?"
	}
	end := spec.AnalysisEnd.UTC()
	var b strings.Builder
	b.WriteString("WITH wp_exposures AS (\n" + exposures + "\n),\nwp_metric AS (\n" + metric + "\n),")
	if d := spec.Denominator; d != nil {
		b.WriteString("\nwp_denominator AS (\n" + d.SQL + "\n),")
	}
	dim, noDim := "", ""
	if shape.Dimension {
		dim = ", CAST(CAST(`" + spec.Dimension + "` AS CHAR) AS BINARY) AS wp_dim" // validated: letters, digits, _
		noDim = ", NULL"
	}
	exposed := "\nwp_rows AS (\n  SELECT CAST(user_id AS BINARY) AS wp_user, `timestamp` AS wp_ts, CAST(variant AS BINARY) AS wp_variant,\n" +
		"         1 AS wp_exposure, 0e0 AS wp_value" + dim + "\n  FROM wp_exposures\n" +
		"  WHERE CAST(experiment_key AS BINARY) = CAST(" + arg(spec.ExperimentKey) + " AS BINARY) AND `timestamp` <= " + arg(end)
	startCond := ""
	if !spec.AnalysisStart.IsZero() {
		startCond = " AND `timestamp` >= " + arg(spec.AnalysisStart.UTC())
	}
	b.WriteString(exposed + startCond + "\n    AND user_id IS NOT NULL AND variant IS NOT NULL")
	events := func(cte string, kind int, t stats.MetricType) {
		value := "0e0"
		if valued(t) {
			value = "CAST(value AS DOUBLE)"
		}
		fmt.Fprintf(&b, "\n  UNION ALL\n  SELECT CAST(user_id AS BINARY), `timestamp`, NULL, %d, %s%s\n  FROM %s\n  WHERE `timestamp` <= %s AND user_id IS NOT NULL",
			kind, value, noDim, cte, arg(end))
	}
	events("wp_metric", 0, spec.MetricType)
	if d := spec.Denominator; d != nil {
		events("wp_denominator", 2, d.Type)
	}
	b.WriteString(`
),
wp_marked AS (
  SELECT wp_user, wp_ts, wp_variant, wp_exposure, wp_value` + map[bool]string{true: ", wp_dim", false: ""}[shape.Dimension] + `,
         MIN(CASE WHEN wp_exposure = 1 THEN wp_ts END) OVER (PARTITION BY wp_user) AS first_exposure
  FROM wp_rows
),
wp_per_user AS (
  SELECT MIN(wp_variant) <> MAX(wp_variant) AS multiple,
         CASE WHEN MIN(wp_variant) <> MAX(wp_variant) THEN NULL ELSE MIN(wp_variant) END AS variant,
         `)
	// The numerator's (and denominator's) window: from the first exposure
	// to the conversion window's end (the analysis end is applied before).
	window := func() string {
		c := "wp_ts >= first_exposure"
		if w := spec.ConversionWindowHours; w != nil {
			c += " AND wp_ts <= TIMESTAMPADD(MICROSECOND, " + arg(int64(math.Round(*w*3600e6))) + ", first_exposure)"
		}
		return c
	}
	b.WriteString(myAggregate(spec.MetricType, 0, window()) + " AS value")
	if shape.CUPED {
		b.WriteString(",\n         " + myAggregate(spec.MetricType, 0, "wp_ts < first_exposure AND wp_ts >= TIMESTAMPADD(MICROSECOND, "+
			arg(-int64(math.Round(spec.CUPEDWindowDays*86400e6)))+", first_exposure)") + " AS pre")
	}
	if d := spec.Denominator; d != nil {
		b.WriteString(",\n         " + myAggregate(d.Type, 2, window()) + " AS den")
	}
	if shape.Dimension {
		b.WriteString(",\n         COALESCE(MIN(wp_dim), CAST('" + NoDimension + "' AS BINARY)) AS dimension")
	}
	b.WriteString("\n  FROM wp_marked\n  WHERE first_exposure IS NOT NULL\n  GROUP BY wp_user\n)")

	capFrom, capOf := "", func(x string) string { return x }
	if capArg != nil {
		if spec.Cap.Value != nil {
			capOf = func(x string) string { return "LEAST(" + x + ", " + arg(*capArg) + ")" }
		} else {
			// percentile_cont(q): linear interpolation between the sorted
			// values at 0-based rank h = q (n - 1), as PostgreSQL computes it.
			b.WriteString(`,
wp_ranked AS (
  SELECT value, ROW_NUMBER() OVER (ORDER BY value) AS rn, COUNT(*) OVER () AS n
  FROM wp_per_user WHERE NOT multiple
),
wp_h AS (SELECT value, rn, n, ` + arg(*capArg) + ` * (n - 1) AS h FROM wp_ranked),
wp_cap AS (
  SELECT MIN(CASE WHEN rn = FLOOR(h) + 1 THEN value END)
         + (h - FLOOR(h)) * (MIN(CASE WHEN rn = LEAST(FLOOR(h) + 2, n) THEN value END) - MIN(CASE WHEN rn = FLOOR(h) + 1 THEN value END)) AS cap
  FROM wp_h GROUP BY h, n
)`)
			capFrom = " LEFT JOIN wp_cap ON TRUE"
			capOf = func(x string) string { return "COALESCE(LEAST(" + x + ", wp_cap.cap), " + x + ")" }
		}
	}
	dimSel, dimGroup, dimOrder, dimFrom := "", "", "", ""
	if shape.Dimension {
		b.WriteString(`,
wp_dims AS (
  SELECT dimension, ROW_NUMBER() OVER (ORDER BY COUNT(*) DESC, dimension) AS rk
  FROM wp_per_user WHERE NOT multiple
  GROUP BY dimension
)`)
		dimSel = fmt.Sprintf("CASE WHEN wp_dims.rk <= %d THEN wp_per_user.dimension ELSE CAST('%s' AS BINARY) END AS dimension, ",
			spec.MaxDimensions(), OtherDimension)
		dimFrom = " LEFT JOIN wp_dims ON wp_dims.dimension = wp_per_user.dimension"
		dimGroup = "dimension, "
		dimOrder = "dimension, "
	}
	inner := "variant, " + capOf("value") + " AS v"
	zero := func(agg string) string {
		return "CASE WHEN variant IS NULL THEN 0e0 ELSE COALESCE(" + agg + ", 0e0) END"
	}
	extra := ""
	if shape.CUPED {
		inner += ", " + capOf("pre") + " AS y"
		extra += ",\n       " + zero("SUM(y)") + " AS pre_sum, " + zero("SUM(y * y)") + " AS pre_sum_squares, " + zero("SUM(v * y)") + " AS pre_sum_products"
	}
	if shape.Ratio {
		inner += ", den AS d"
		extra += ",\n       " + zero("SUM(d)") + " AS den_sum, " + zero("SUM(d * d)") + " AS den_sum_squares, " + zero("SUM(v * d)") + " AS den_sum_products"
	}
	cols := statSelect(func(agg string, integer bool) string {
		if integer {
			return agg
		}
		return zero(agg)
	}) + extra
	head := "SELECT "
	if shape.Dimension {
		head = "SELECT dimension, (SELECT COUNT(*) FROM wp_dims) AS dimension_values, "
	}
	fmt.Fprintf(&b, `
%svariant%s
FROM (SELECT %s%s FROM wp_per_user%s%s) AS capped
GROUP BY %svariant
ORDER BY %svariant IS NULL, variant`, head, cols, dimSel, inner, capFrom, dimFrom, dimGroup, dimOrder)
	return b.String(), args
}
