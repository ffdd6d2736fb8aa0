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
// subqueries, no non-equi JOIN, no window functions, JOINs with explicit
// strictness (ALL); the per-user work is one GROUP BY of the exposures
// and one of the events joined to it (see Metric).
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
// columns wp_k1, wp_k2 (chUserKey), wp_ts (seconds), wp_variant,
// strictly before end when before, else up to end inclusive.
func chExposures(q, experimentKey string, start, end time.Time, before bool) string {
	endCond := "wp_ts <= " + chSeconds(end, false)
	if before {
		endCond = "wp_ts < " + chSeconds(end, true)
	}
	startCond := ""
	if !start.IsZero() {
		startCond = "\n    AND wp_ts >= " + chSeconds(start, true)
	}
	return `SELECT ` + chUserKey("user_id", "wp_k2") + `,
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
  SELECT min(wp_ts) AS first_ts, argMin(ts_variant, wp_ts) AS first_variant
  FROM (
    SELECT wp_k1, wp_k2, wp_ts, min(wp_variant) AS ts_variant
    FROM (
    ` + chExposures(q, experimentKey, time.Time{}, end, true) + `
    )
    GROUP BY wp_k1, wp_k2, wp_ts
  )
  GROUP BY wp_k1, wp_k2
)
GROUP BY variant, day`, nil
}

// chUserKey is the key of a user id: wp_k1 and k2, two independent
// 64-bit hashes of its bytes. The per-user GROUP BYs and the JOIN use
// wp_k1 alone (a UInt64 key: ClickHouse 18.16 groups it several times
// faster than the 128-bit pair or the string) and check k2: an event
// counts for a user only if both hashes match, and the rare users whose
// wp_k1 collides (~n²/2⁶⁵ for n exposed users) are told apart by their
// k2 differing within the group and excluded, as users in two variants
// are (counted as one excluded user).
func chUserKey(userID, k2 string) string {
	u := "assumeNotNull(toString(" + userID + "))"
	return "cityHash64(" + u + ") AS wp_k1, murmurHash3_64(" + u + ") AS " + k2
}

// chWindow is the lambda condition of an event at t (seconds) for a user
// first exposed at f: from f to the conversion window's end (the analysis
// end is applied before), or, pre, the CUPED window before f.
func chWindow(spec Spec, pre bool) string {
	if pre {
		return "t < f AND f - t <= " + chFloat(spec.CUPEDWindowDays*86400)
	}
	c := "t >= f"
	if w := spec.ConversionWindowHours; w != nil {
		c += " AND t - f <= " + chFloat(*w*3600)
	}
	return c
}

// chAggregate is the per-user value of type t over the event arrays
// <prefix>_ts / <prefix>_x in window cond; fs is the first exposure
// repeated to the arrays' length, since ClickHouse 18.16 lambdas cannot
// capture columns.
func chAggregate(t stats.MetricType, prefix, cond string) string {
	fs := "arrayResize(emptyArrayUInt32(), length(" + prefix + "_ts), f)"
	switch t {
	case stats.Binomial:
		return "toFloat64(arrayExists((t, f) -> " + cond + ", " + prefix + "_ts, " + fs + "))"
	case stats.Count:
		return "toFloat64(arrayCount((t, f) -> " + cond + ", " + prefix + "_ts, " + fs + "))"
	}
	return "arraySum(arrayMap((t, x, f) -> if(" + cond + ", x, 0), " + prefix + "_ts, " + prefix + "_x, " + fs + "))"
}

func valued(t stats.MetricType) bool { return t == stats.Duration || t == stats.Revenue }

// Metric is one statement in four steps, each a subquery: (1) the
// exposures and events of every user as one UNION ALL grouped per user
// (first exposure, variant, event times and values as arrays) on a
// UInt64 key (chUserKey); (2) the per-user values over those arrays,
// with the variant names joined back (the per-user step carries a
// variant as its 64-bit hash: Strings in the aggregation states took
// most of the memory); (3) the cap (a percentile cap from the per-user
// values collected per variant, sorted once in one row and ARRAY JOINed
// back, so the per-user step runs once); (4) the per-variant sums, and
// with a dimension the top values kept from the per-(value, variant)
// sums.
//
// One GROUP BY over the UNION ALL measured faster on ClickHouse 18.16
// than grouping the exposures per user and hash-JOINing the events to
// them (at 10,000,000 users: 17.5 s against 29 s for the per-user step,
// the JOIN's output re-grouped per user).
func (clickHouse) Metric(exposures, metric string, spec Spec, capArg *float64) (string, []any) {
	shape := ShapeOf(spec)
	dimNull := ""
	if shape.Dimension {
		dimNull = ", CAST(NULL AS Nullable(String)) AS wp_dim"
	}
	// Events from the analysis start (from the CUPED window before it):
	// earlier events count for no user.
	eventsFrom := ""
	if !spec.AnalysisStart.IsZero() {
		from := spec.AnalysisStart
		if shape.CUPED {
			from = from.Add(-time.Duration(spec.CUPEDWindowDays * 86400 * float64(time.Second)))
		}
		eventsFrom = "\n        AND wp_ts >= " + chSeconds(from, false)
	}
	events := func(q string, kind int, valueCol bool) string {
		value := "toFloat64(0)"
		if valueCol {
			value = "ifNull(toFloat64(value), 0)"
		}
		return `
      UNION ALL
      SELECT ` + chUserKey("user_id", "wp_k2") + `, toUInt32(toDateTime("timestamp")) AS wp_ts, toUInt64(0) AS wp_vh,
             toUInt8(` + strconv.Itoa(kind) + `) AS wp_kind, ` + value + ` AS wp_value` + dimNull + `
      FROM (
` + q + `
      )
      WHERE wp_ts <= ` + chSeconds(spec.AnalysisEnd, false) + eventsFrom + ` AND isNotNull(user_id)`
	}
	expDim := ""
	if shape.Dimension {
		expDim = `, toNullable(toString("` + spec.Dimension + `")) AS wp_dim` // validated: letters, digits, _
	}
	startCond := ""
	if !spec.AnalysisStart.IsZero() {
		startCond = "\n        AND wp_ts >= " + chSeconds(spec.AnalysisStart, true)
	}
	union := `      SELECT ` + chUserKey("user_id", "wp_k2") + `, toUInt32(toDateTime("timestamp")) AS wp_ts,
             cityHash64(assumeNotNull(toString(variant))) AS wp_vh, toUInt8(1) AS wp_kind, toFloat64(0) AS wp_value` + expDim + `
      FROM (
` + exposures + `
      )
      WHERE experiment_key = ` + chString(spec.ExperimentKey) + `
        AND wp_ts <= ` + chSeconds(spec.AnalysisEnd, false) + startCond + `
        AND isNotNull(user_id) AND isNotNull(variant)` + events(metric, 0, valued(spec.MetricType))
	arrays := "groupArrayIf(wp_ts, wp_kind = 0) AS m_ts"
	if valued(spec.MetricType) {
		arrays += ", groupArrayIf(wp_value, wp_kind = 0) AS m_x"
	}
	values := chAggregate(spec.MetricType, "m", chWindow(spec, false)) + " AS value"
	if shape.CUPED {
		values += ",\n         " + chAggregate(spec.MetricType, "m", chWindow(spec, true)) + " AS pre"
	}
	if d := spec.Denominator; d != nil {
		union += events(d.SQL, 2, valued(d.Type))
		arrays += ", groupArrayIf(wp_ts, wp_kind = 2) AS d_ts"
		if valued(d.Type) {
			arrays += ", groupArrayIf(wp_value, wp_kind = 2) AS d_x"
		}
		values += ",\n         " + chAggregate(d.Type, "d", chWindow(spec, false)) + " AS den"
	}
	groupCols := []string{"multiple", "wp_var"} // few distinct values
	valueCols := []string{"value"}              // one per user
	if shape.CUPED {
		valueCols = append(valueCols, "pre")
	}
	if shape.Ratio {
		valueCols = append(valueCols, "den")
	}
	if shape.Dimension {
		arrays += ",\n           ifNull(minIf(wp_dim, wp_kind = 1), " + chString(NoDimension) + ") AS dimension"
		values += ", dimension"
		groupCols = append(groupCols, "dimension")
	}
	startCond = strings.Replace(startCond, "\n        AND", "\n          AND", 1)
	// The variant names of the hashes (~2^-64 for two names of one
	// experiment to share a hash, then counted as one variant).
	names := `  SELECT cityHash64(wp_variant) AS wp_uvh, wp_variant AS wp_var
  FROM (
    SELECT assumeNotNull(toString(variant)) AS wp_variant, toUInt32(toDateTime("timestamp")) AS wp_ts
    FROM (
` + exposures + `
    )
    WHERE experiment_key = ` + chString(spec.ExperimentKey) + `
      AND wp_ts <= ` + chSeconds(spec.AnalysisEnd, false) + startCond + `
      AND isNotNull(user_id) AND isNotNull(variant)
  )
  GROUP BY wp_variant`
	// A user is excluded when exposed to two variants, or when a
	// second hash of the ids in the group differs (a wp_k1 collision,
	// see chUserKey).
	perUser := `SELECT ` + strings.Join(append(append([]string{}, groupCols...), valueCols...), ", ") + `
  FROM (
    SELECT multiple, wp_uvh, ` + values + `
    FROM (
      SELECT minIf(wp_ts, wp_kind = 1) AS f,
             minIf(wp_vh, wp_kind = 1) AS wp_uvh,
             wp_uvh != maxIf(wp_vh, wp_kind = 1) OR min(wp_k2) != max(wp_k2) AS multiple,
             ` + arrays + `
      FROM (
` + union + `
      )
      GROUP BY wp_k1
      HAVING max(wp_kind = 1) = 1
    )
  )
  ALL LEFT JOIN (
` + names + `
  ) USING (wp_uvh)`

	// (2) the cap: v, y (pre) capped, d (denominator); excluded users 0.
	capOf := func(x string) string { return x }
	from := perUser
	switch {
	case capArg != nil && spec.Cap.Percentile != nil:
		// percentile_cont(q): linear interpolation between the sorted
		// values of the users in one variant at 0-based rank
		// h = q (n - 1), as PostgreSQL computes it. The per-user values
		// are collected per (multiple, variant[, dimension]): numbers
		// only, the labels once per group.
		var perGroup, collect, joinGroups, joinValues []string
		for _, c := range groupCols {
			collect = append(collect, "groupArray("+c+") AS g_"+c)
			joinGroups = append(joinGroups, "g_"+c+" AS "+c)
		}
		for _, c := range valueCols {
			perGroup = append(perGroup, "groupArray("+c+") AS a_"+c)
			collect = append(collect, "groupArray(a_"+c+") AS g_"+c)
			joinGroups = append(joinGroups, "g_"+c+" AS a_"+c)
			joinValues = append(joinValues, "a_"+c+" AS "+c)
		}
		from = `SELECT ` + strings.Join(append(append([]string{}, groupCols...), valueCols...), ", ") + `, cap
  FROM (
    SELECT ` + strings.Join(groupCols, ", ") + `, a_` + strings.Join(valueCols, ", a_") + `, cap
    FROM (
      SELECT ` + strings.Join(collect, ", ") + `,
             arraySort(groupArrayArray(if(multiple, emptyArrayFloat64(), a_value))) AS sorted, length(sorted) AS n,
             ` + chFloat(*capArg) + ` * (n - 1) AS h,
             sorted[toUInt64(floor(h)) + 1] + (h - floor(h)) * (sorted[toUInt64(least(floor(h) + 2, toFloat64(n)))] - sorted[toUInt64(floor(h)) + 1]) AS cap
      FROM (
        SELECT ` + strings.Join(groupCols, ", ") + `, ` + strings.Join(perGroup, ", ") + `
        FROM (` + perUser + `)
        GROUP BY ` + strings.Join(groupCols, ", ") + `
      )
    )
    ARRAY JOIN ` + strings.Join(joinGroups, ", ") + `
  )
  ARRAY JOIN ` + strings.Join(joinValues, ", ")
		capOf = func(x string) string { return "least(" + x + ", cap)" }
	case capArg != nil:
		c := chFloat(*capArg)
		capOf = func(x string) string { return "least(" + x + ", " + c + ")" }
	}
	capped := "if(multiple, NULL, wp_var) AS variant, if(multiple, 0, " + capOf("value") + ") AS v"
	extra := ""
	if shape.CUPED {
		capped += ", if(multiple, 0, " + capOf("pre") + ") AS y"
		extra += ",\n       toFloat64(sum(y)) AS pre_sum, toFloat64(sum(y * y)) AS pre_sum_squares, toFloat64(sum(v * y)) AS pre_sum_products"
	}
	if shape.Ratio {
		capped += ", if(multiple, 0, den) AS d"
		extra += ",\n       toFloat64(sum(d)) AS den_sum, toFloat64(sum(d * d)) AS den_sum_squares, toFloat64(sum(v * d)) AS den_sum_products"
	}
	cols := statSelect(func(agg string, integer bool) string {
		if integer {
			return "toInt64(" + agg + ")"
		}
		return "toFloat64(" + agg + ")"
	}) + extra
	if !shape.Dimension {
		return fmt.Sprintf(`SELECT variant%s
FROM (
  SELECT %s
  FROM (%s)
)
GROUP BY variant
ORDER BY variant NULLS LAST`, cols, capped, from), nil
	}
	return chDimensions(spec, cols, "dimension, "+capped, from), nil
}

// chDimensions is the statement with a dimension: the sums per
// (dimension value, variant), then, per value, its analysed users and a
// sort key (users descending, then the value's bytes); the values whose
// key is among the MaxDimensions smallest of the values with analysed
// users keep their name, the others become OtherDimension; their sums are
// added per (label, variant). ClickHouse 18.16 has no window functions:
// the ranking is done on arrays in one row. Columns are those of the
// PostgreSQL statement: dimension, dimension_values, variant, then the
// sums.
func chDimensions(spec Spec, cols, capped, from string) string {
	names := []string{"variant"}
	for _, c := range strings.Split(cols, ",") {
		if f := strings.Fields(c); len(f) > 0 {
			names = append(names, f[len(f)-1])
		}
	}
	names = names[:len(names):len(names)]
	var tuple, elems, sums []string
	for i, n := range names {
		tuple = append(tuple, "g_"+n)
		elems = append(elems, fmt.Sprintf("tupleElement(t, %d) AS g_%s", i+1, n))
		switch {
		case n == "variant":
		case n == "users":
			sums = append(sums, "toInt64(sum(g_users)) AS users")
		default:
			sums = append(sums, "toFloat64(sum(g_"+n+")) AS "+n)
		}
	}
	// Rename the per-(value, variant) sums g_<name> so the later steps
	// can aggregate them under their contract names.
	inner := strings.Replace(cols, " AS ", " AS g_", -1)
	return fmt.Sprintf(`SELECT dimension, any(n_values) AS dimension_values, g_variant AS variant,
       %s
FROM (
  SELECT dimension, n_values, %s
  FROM (
    SELECT if(du > 0 AND k <= threshold, dim, %s) AS dimension, n_values, g
    FROM (
      SELECT groupArray(dimension) AS a_dim, groupArray(du) AS a_du, groupArray(k) AS a_k, groupArray(g) AS a_g,
             arraySort(arrayFilter((key, users) -> users > 0, a_k, a_du)) AS top,
             top[toUInt64(least(length(top), %d))] AS threshold,
             toInt64(length(top)) AS n_values
      FROM (
        SELECT dimension, sumIf(g_users, isNotNull(g_variant)) AS du,
               concat(toString(toUInt64(20000000000000 - du)), dimension) AS k,
               groupArray((%s)) AS g
        FROM (
          SELECT dimension, variant AS g_variant%s
          FROM (
            SELECT %s
            FROM (%s)
          )
          GROUP BY dimension, variant
        )
        GROUP BY dimension
      )
    )
    ARRAY JOIN a_dim AS dim, a_du AS du, a_k AS k, a_g AS g
  )
  ARRAY JOIN g AS t
)
GROUP BY dimension, variant
ORDER BY dimension, variant NULLS LAST`, strings.Join(sums, ",\n       "), strings.Join(elems, ", "), chString(OtherDimension),
		spec.MaxDimensions(), strings.Join(tuple, ", "), inner, capped, from)
}

// chForbiddenTables are table functions reaching outside the events
// tables (files, URLs, other servers, the cluster's system tables).
var chForbiddenTables = []string{"file", "url", "urlcluster", "remote", "remotesecure", "cluster", "clusterallreplicas",
	"mysql", "postgresql", "jdbc", "odbc", "hdfs", "hdfscluster", "s3", "s3cluster", "input", "executable",
	"azureblobstorage", "gcs", "mongodb", "redis", "sqlite", "merge", "dictionary", "view", "viewifpermitted", "loop"}

func (clickHouse) CheckQuery(q string) error {
	return forbid(q, []string{"system", "information_schema"}, chForbiddenTables, "ClickHouse")
}
