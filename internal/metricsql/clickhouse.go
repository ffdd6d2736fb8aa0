package metricsql

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/stats"
)

// ClickHouse is the ClickHouse dialect. Its statements use only syntax
// that ClickHouse 18.16 and current releases both accept: no WITH
// subqueries, no non-equi JOIN; the per-user work is one GROUP BY over
// the exposures and the metric's events (UNION ALL), with the events of
// a user kept as arrays and filtered by the window with array functions.
// Timestamps are compared at one-second resolution (toDateTime), so a
// DateTime64 column is truncated to whole seconds. Values are inlined as
// literals (the experiment key quoted), never taken from user text:
// clickhouse-go binds parameters client-side, without regard to quotes
// in the user's SQL.
var ClickHouse Dialect = clickHouse{}

type clickHouse struct{}

func (clickHouse) Kind() string { return KindClickHouse }

// chString quotes s as a ClickHouse string literal.
func chString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func chFloat(f float64) string { return "toFloat64(" + strconv.FormatFloat(f, 'g', -1, 64) + ")" }

// chSeconds is t as whole seconds since the epoch, rounded down (up when
// ceil): the bound a one-second timestamp must meet.
func chSeconds(t time.Time, ceil bool) string {
	s := t.Unix()
	if ceil && t.Nanosecond() > 0 {
		s++
	}
	if s < 0 {
		s = 0
	}
	return strconv.FormatInt(s, 10)
}

func (clickHouse) Preview(q string, limit int) (string, []any) {
	return "SELECT * FROM (\n" + q + "\n) LIMIT " + strconv.Itoa(limit), nil
}

// chExposures selects the experiment's exposures in the normalised
// columns wp_user, wp_ts (seconds), wp_variant, strictly before end when
// before, else up to end inclusive.
func chExposures(q, experimentKey string, start, end time.Time, before bool) string {
	endCond := "wp_ts <= " + chSeconds(end, false)
	if before {
		endCond = "wp_ts < " + chSeconds(end, true)
	}
	startCond := ""
	if !start.IsZero() {
		startCond = "\n    AND wp_ts >= " + chSeconds(start, true)
	}
	return `SELECT assumeNotNull(toString(user_id)) AS wp_user,
           toUInt32(toDateTime("timestamp")) AS wp_ts,
           assumeNotNull(toString(variant)) AS wp_variant
    FROM (
` + q + `
    )
    WHERE experiment_key = ` + chString(experimentKey) + `
      AND ` + endCond + startCond + `
      AND isNotNull(user_id) AND isNotNull(variant)`
}

func (clickHouse) DailyExposures(q, experimentKey string, end time.Time) (string, []any) {
	return `SELECT first_variant AS variant, toInt64(intDiv(first_ts, 86400)) AS day, toInt64(count()) AS users
FROM (
  SELECT wp_user, min(wp_ts) AS first_ts, argMin(ts_variant, wp_ts) AS first_variant
  FROM (
    SELECT wp_user, wp_ts, min(wp_variant) AS ts_variant
    FROM (
    ` + chExposures(q, experimentKey, time.Time{}, end, true) + `
    )
    GROUP BY wp_user, wp_ts
  )
  GROUP BY wp_user
)
GROUP BY variant, day`, nil
}

func (clickHouse) Metric(exposures, metric string, spec Spec, capArg *float64) (string, []any) {
	valued := spec.MetricType == stats.Duration || spec.MetricType == stats.Revenue
	eventValue := "toFloat64(0)"
	if valued {
		eventValue = "ifNull(toFloat64(value), 0)"
	}
	// The user's window: from the first exposure to the window's length
	// (events after the analysis end are filtered out before).
	// ClickHouse 18.16 lambdas cannot capture columns, so the first
	// exposure comes in as an array of the events' length (arrayResize).
	inWindow := "t >= f"
	if w := spec.ConversionWindowHours; w != nil {
		inWindow += " AND t - f <= " + chFloat(*w*3600)
	}
	firsts := "arrayResize(emptyArrayUInt32(), length(event_ts), first_exposure)"
	var value string
	switch spec.MetricType {
	case stats.Binomial:
		value = "toFloat64(arrayExists((t, f) -> " + inWindow + ", event_ts, " + firsts + "))"
	case stats.Count:
		value = "toFloat64(arrayCount((t, f) -> " + inWindow + ", event_ts, " + firsts + "))"
	default:
		value = "arraySum(arrayMap((t, x, f) -> if(" + inWindow + ", x, 0), event_ts, event_values, " + firsts + "))"
	}
	startCond := ""
	if !spec.AnalysisStart.IsZero() {
		startCond = "\n      AND wp_ts >= " + chSeconds(spec.AnalysisStart, true)
	}
	eventValues := ""
	if valued {
		eventValues = ",\n           groupArrayIf(wp_value, wp_exposure = 0) AS event_values"
	}
	perUser := `SELECT multiple, exposed_variant, ` + value + ` AS value
  FROM (
    SELECT wp_user,
           minIf(wp_ts, wp_exposure = 1) AS first_exposure,
           minIf(wp_variant, wp_exposure = 1) AS exposed_variant,
           minIf(wp_variant, wp_exposure = 1) != maxIf(wp_variant, wp_exposure = 1) AS multiple,
           groupArrayIf(wp_ts, wp_exposure = 0) AS event_ts` + eventValues + `
    FROM (
      SELECT wp_user, wp_ts, wp_variant, toUInt8(1) AS wp_exposure, toFloat64(0) AS wp_value
      FROM (
    ` + chExposures(exposures, spec.ExperimentKey, spec.AnalysisStart, spec.AnalysisEnd, false) + `
      )
      UNION ALL
      SELECT assumeNotNull(toString(user_id)) AS wp_user,
             toUInt32(toDateTime("timestamp")) AS wp_ts,
             '' AS wp_variant, toUInt8(0) AS wp_exposure, ` + eventValue + ` AS wp_value
      FROM (
` + metric + `
      )
      WHERE wp_ts <= ` + chSeconds(spec.AnalysisEnd, false) + startCond + `
        AND isNotNull(user_id)
    )
    GROUP BY wp_user
    HAVING max(wp_exposure) = 1
  )`
	capped := "value"
	if capArg != nil {
		c := chFloat(*capArg)
		if spec.Cap.Percentile != nil {
			// percentile_cont(q): linear interpolation between the sorted
			// values at 0-based rank h = q (n - 1), as PostgreSQL computes it.
			c = `(
  SELECT a[toUInt64(floor(h)) + 1] + (h - floor(h)) * (a[toUInt64(least(floor(h) + 2, toFloat64(n)))] - a[toUInt64(floor(h)) + 1])
  FROM (
    SELECT arraySort(groupArray(value)) AS a, length(a) AS n, ` + chFloat(*capArg) + ` * (n - 1) AS h
    FROM (` + perUser + `)
    WHERE NOT multiple
  )
)`
		}
		capped = "least(value, " + c + ")"
	}
	cols := statSelect(func(agg string, integer bool) string {
		if integer {
			return "toInt64(" + agg + ")"
		}
		return "toFloat64(" + agg + ")"
	})
	return fmt.Sprintf(`SELECT variant%s
FROM (
  SELECT if(multiple, NULL, exposed_variant) AS variant, if(multiple, 0, %s) AS v
  FROM (%s)
)
GROUP BY variant
ORDER BY variant NULLS LAST`, cols, capped, perUser), nil
}

// chForbiddenTables are table functions reaching outside the events
// tables (files, URLs, other servers, the cluster's system tables).
var chForbiddenTables = []string{"file", "url", "urlcluster", "remote", "remotesecure", "cluster", "clusterallreplicas",
	"mysql", "postgresql", "jdbc", "odbc", "hdfs", "hdfscluster", "s3", "s3cluster", "input", "executable",
	"azureblobstorage", "gcs", "mongodb", "redis", "sqlite", "merge", "dictionary", "view", "viewifpermitted", "loop"}

func (clickHouse) CheckQuery(q string) error {
	return forbid(q, []string{"system", "information_schema"}, chForbiddenTables, "ClickHouse")
}
