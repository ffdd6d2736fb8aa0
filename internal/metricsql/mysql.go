package metricsql

import (
	"fmt"
	"math"
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

func (mySQL) Metric(exposures, metric string, spec Spec, capArg *float64) (string, []any) {
	end := spec.AnalysisEnd.UTC()
	args := []any{spec.ExperimentKey, end}
	startCond := ""
	if !spec.AnalysisStart.IsZero() {
		startCond = " AND `timestamp` >= ?"
		args = append(args, spec.AnalysisStart.UTC())
	}
	args = append(args, end)
	eventValue := "0e0"
	if spec.MetricType == stats.Duration || spec.MetricType == stats.Revenue {
		eventValue = "CAST(value AS DOUBLE)"
	}
	inWindow := "wp_exposure = 0 AND wp_ts >= first_exposure"
	if w := spec.ConversionWindowHours; w != nil {
		inWindow += " AND wp_ts <= TIMESTAMPADD(MICROSECOND, ?, first_exposure)"
		args = append(args, int64(math.Round(*w*3600e6)))
	}
	var value string
	switch spec.MetricType {
	case stats.Binomial:
		value = "CASE WHEN SUM(CASE WHEN " + inWindow + " THEN 1 ELSE 0 END) > 0 THEN 1e0 ELSE 0e0 END"
	case stats.Count:
		value = "CAST(SUM(CASE WHEN " + inWindow + " THEN 1 ELSE 0 END) AS DOUBLE)"
	default:
		value = "COALESCE(SUM(CASE WHEN " + inWindow + " THEN wp_value END), 0e0)"
	}
	capCTE, capFrom, capped := "", "", "value"
	if capArg != nil {
		args = append(args, *capArg)
		if spec.Cap.Value != nil {
			capped = "LEAST(value, ?)"
		} else {
			// percentile_cont(q): linear interpolation between the sorted
			// values at 0-based rank h = q (n - 1), as PostgreSQL computes it.
			capCTE = `,
wp_ranked AS (
  SELECT value, ROW_NUMBER() OVER (ORDER BY value) AS rn, COUNT(*) OVER () AS n
  FROM wp_per_user WHERE NOT multiple
),
wp_h AS (SELECT value, rn, n, ? * (n - 1) AS h FROM wp_ranked),
wp_cap AS (
  SELECT MIN(CASE WHEN rn = FLOOR(h) + 1 THEN value END)
         + (h - FLOOR(h)) * (MIN(CASE WHEN rn = LEAST(FLOOR(h) + 2, n) THEN value END) - MIN(CASE WHEN rn = FLOOR(h) + 1 THEN value END)) AS cap
  FROM wp_h GROUP BY h, n
)`
			capFrom = " LEFT JOIN wp_cap ON TRUE"
			capped = "COALESCE(LEAST(value, wp_cap.cap), value)"
		}
	}
	cols := statSelect(func(agg string, integer bool) string {
		if integer {
			return agg
		}
		return "CASE WHEN variant IS NULL THEN 0e0 ELSE COALESCE(" + agg + ", 0e0) END"
	})
	return fmt.Sprintf("WITH wp_exposures AS (\n%s\n),\nwp_metric AS (\n%s\n),"+`
wp_rows AS (
  SELECT CAST(user_id AS BINARY) AS wp_user, `+"`timestamp`"+` AS wp_ts, CAST(variant AS BINARY) AS wp_variant,
         1 AS wp_exposure, 0e0 AS wp_value
  FROM wp_exposures
  WHERE CAST(experiment_key AS BINARY) = CAST(? AS BINARY) AND `+"`timestamp`"+` <= ?%s
    AND user_id IS NOT NULL AND variant IS NOT NULL
  UNION ALL
  SELECT CAST(user_id AS BINARY), `+"`timestamp`"+`, NULL, 0, %s
  FROM wp_metric
  WHERE `+"`timestamp`"+` <= ? AND user_id IS NOT NULL
),
wp_marked AS (
  SELECT wp_user, wp_ts, wp_variant, wp_exposure, wp_value,
         MIN(CASE WHEN wp_exposure = 1 THEN wp_ts END) OVER (PARTITION BY wp_user) AS first_exposure
  FROM wp_rows
),
wp_per_user AS (
  SELECT MIN(wp_variant) <> MAX(wp_variant) AS multiple,
         CASE WHEN MIN(wp_variant) <> MAX(wp_variant) THEN NULL ELSE MIN(wp_variant) END AS variant,
         %s AS value
  FROM wp_marked
  WHERE first_exposure IS NOT NULL
  GROUP BY wp_user
)%s
SELECT variant%s
FROM (SELECT variant, %s AS v FROM wp_per_user%s) AS capped
GROUP BY variant
ORDER BY variant IS NULL, variant`, exposures, metric, startCond, eventValue, value, capCTE, cols, capped, capFrom), args
}
