package worker_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/scipyref"
	"github.com/waypost/waypost/internal/stats"
	"github.com/waypost/waypost/internal/warehousetest"
	"github.com/waypost/waypost/worker"
)

// The datasets and expected numbers come from
// testdata/experiments/generate.py (plain-Python per-user aggregation and
// scipy), independent of Waypost's SQL and Go code. This test runs the
// whole product path: an events database registered through the API,
// metrics and an experiment created through the API, "Refresh results"
// enqueuing the River job, the worker running the metric statements
// concurrently on the events database, and the stored results read back
// through the API.

func TestPipelineThroughAPIAgainstScipy(t *testing.T) {
	t.Parallel()
	exp, err := scipyref.Read()
	require.NoError(t, err)

	// The same datasets on every engine: PostgreSQL, ClickHouse, MariaDB
	// (CUPED, ratio metrics, percentile caps and a dimension included).
	for _, kind := range metricsql.Kinds() {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			h.startWorker(worker.ExperimentOptions{})
			for _, ds := range exp.Datasets {
				t.Run(ds.Name, func(t *testing.T) {
					ctx := context.Background()
					metrics := ds.Metrics
					if kind == metricsql.KindMySQL {
						// MySQL and MariaDB have no NaN: the metric whose events hold
						// one cannot be loaded there (scipyref.TablesFor).
						metrics = nil
						for _, m := range ds.Metrics {
							if !m.HasNaN() {
								metrics = append(metrics, m)
							}
						}
					}

					ck := "events-" + strings.ReplaceAll(ds.Name, "_", "-")
					// three_variants is also broken down by the user id's last
					// digit, a dimension column of its exposures query.
					exposuresSQL, dimension := scipyref.ExposuresSQLFor(kind), ""
					if ds.Name == "three_variants" {
						exposuresSQL = map[string]string{
							metricsql.KindPostgres:   `SELECT experiment_key, user_id, variant, ts AS "timestamp", right(user_id, 1) AS last_digit FROM exposures`,
							metricsql.KindClickHouse: `SELECT experiment_key, user_id, variant, ts AS "timestamp", substring(user_id, length(user_id), 1) AS last_digit FROM exposures`,
							metricsql.KindMySQL:      "SELECT experiment_key, user_id, variant, ts AS `timestamp`, RIGHT(user_id, 1) AS last_digit FROM exposures",
						}[kind]
						dimension = "last_digit"
					}
					h.must(201, "POST", "/connections", eventsConnection(t, kind, ck, exposuresSQL, ds))

					flag := "flag-" + ds.ExperimentKey
					var variants []map[string]any
					for _, v := range ds.Variants {
						variants = append(variants, map[string]any{"key": v, "value": v})
					}
					h.must(201, "POST", "/flags", map[string]any{"key": flag, "kind": "string", "variants": variants})
					h.must(200, "PATCH", "/flags/"+flag+"/environments/production", map[string]any{"enabled": true})

					var keys []string
					for _, m := range metrics {
						key := ds.ExperimentKey + "-" + strings.ReplaceAll(m.Name, "_", "-")
						body := map[string]any{"key": key, "type": m.Type, "sql": m.SQLFor(kind), "connection": ck,
							"direction": m.Direction, "conversion_window_hours": m.WindowHours}
						if m.Cap != nil && m.Cap.Value != nil {
							body["cap"] = map[string]any{"kind": "value", "value": *m.Cap.Value}
						} else if m.Cap != nil {
							body["cap"] = map[string]any{"kind": "percentile", "value": *m.Cap.Percentile}
						}
						if m.Denominator != nil {
							body["denominator"] = map[string]any{"type": m.Denominator.Type, "sql": m.DenominatorSQLFor(kind)}
						}
						h.must(201, "POST", "/metrics", body)
						keys = append(keys, key)
					}
					var weights []map[string]any
					for i, v := range ds.Variants {
						weights = append(weights, map[string]any{"variant": v, "weight": ds.WeightsBP[i]})
					}
					h.must(201, "POST", "/experiments", map[string]any{"key": ds.ExperimentKey, "flag": flag, "environment": "production",
						"weights": weights, "primary_metrics": keys[:1], "secondary_metrics": keys[1:], "minimum_detectable_effect": 0.05})
					// New experiments default to sequential testing; the scipy
					// numbers are fixed-horizon (gbstats' TwoSidedTTest), so choose
					// it through the API, with CUPED where the dataset has covariates.
					settings := h.must(200, "GET", "/experiments/"+ds.ExperimentKey+"/analysis-settings", nil).body
					require.Equal(t, true, settings["sequential"], "sequential testing is on for a new experiment")
					cuped := false
					for _, m := range metrics {
						cuped = cuped || m.CUPEDWindowDays > 0
					}
					h.must(200, "PUT", "/experiments/"+ds.ExperimentKey+"/analysis-settings",
						map[string]any{"sequential": false, "cuped": cuped, "cuped_window_days": 14, "dimension": dimension})
					h.must(200, "POST", "/experiments/"+ds.ExperimentKey+"/start", nil)
					h.must(200, "POST", "/experiments/"+ds.ExperimentKey+"/stop", nil)
					// Pin the analysis window to the dataset's (as a psql user could).
					end, err := time.Parse(time.RFC3339, ds.AnalysisEnd)
					require.NoError(t, err)
					_, err = h.pool.Exec(ctx, `WITH x AS (UPDATE experiments SET started_at = $2::timestamptz - interval '30 days', stopped_at = $2 WHERE key = $1 RETURNING id, started_at, stopped_at)
					  UPDATE experiment_phases p SET started_at = x.started_at, ended_at = x.stopped_at FROM x WHERE p.experiment_id = x.id`, ds.ExperimentKey, end)
					require.NoError(t, err)

					entry, page := h.refresh(ds.ExperimentKey)
					require.Equal(t, "succeeded", entry["status"], "refresh: %v", entry["error"])
					latest := page["latest"].(map[string]any)
					b, _ := json.Marshal(latest["results"])
					var res analysis.Results
					require.NoError(t, json.Unmarshal(b, &res))
					require.Len(t, res.Metrics, len(metrics))
					require.Len(t, entry["statements"], len(metrics), "the SQL of every metric is stored")
					for i, m := range metrics {
						t.Run(m.Name, func(t *testing.T) { checkMetric(t, m, res.Metrics[i]) })
					}
					if dimension != "" {
						// Per-value results: ten digits, users adding up to the overall counts.
						for _, mr := range res.Metrics {
							require.Len(t, mr.Dimensions, 10, mr.Key)
							total := map[string]int64{}
							for _, d := range mr.Dimensions {
								require.Len(t, d.Result.Comparisons, len(ds.Variants)-1)
								for _, v := range d.Result.Variants {
									total[v.Variant] += v.Users
								}
							}
							for _, v := range mr.Result.Variants {
								require.Equal(t, v.Users, total[v.Variant], "%s %s users over the dimension values", mr.Key, v.Variant)
							}
						}
						require.Contains(t, strings.Join(res.Warnings, "\n"), "breakdown by last_digit: 10 values")
					}
					// Results over time: one point per metric and treatment for the
					// refresh's day, carrying the headline numbers of the results.
					overTime := func() []any {
						return h.must(200, "GET", "/experiments/"+ds.ExperimentKey+"/results/over-time", nil).body["items"].([]any)
					}
					points := overTime()
					n := 0
					for _, mr := range res.Metrics {
						for _, c := range mr.Result.Comparisons {
							n++
							found := false
							for _, p := range points {
								pt := p.(map[string]any)
								if pt["metric"] == mr.Key && pt["variant"] == c.Variant {
									found = true
									require.Equal(t, ds.AnalysisEnd[:10], pt["day"])
									if c.RelativeEffect != nil {
										require.InDelta(t, *c.RelativeEffect, pt["relative_effect"], 1e-12)
									} else {
										require.Nil(t, pt["relative_effect"])
									}
									if c.RelativeCI != nil {
										require.InDelta(t, c.RelativeCI.Low, pt["relative_ci_low"], 1e-12)
									} else {
										require.Nil(t, pt["relative_ci_low"])
									}
								}
							}
							require.True(t, found, "no point for %s/%s", mr.Key, c.Variant)
						}
					}
					require.Len(t, points, n)
					if ds.Name == "tiny" {
						// A second refresh of the same day replaces that day's point.
						h.refresh(ds.ExperimentKey)
						require.Len(t, overTime(), n)
					}
					if ds.SRM != nil {
						require.NotNil(t, res.SRM)
						require.Equal(t, ds.SRM.Mismatch, res.SRM.Mismatch)
						approxPtr(t, "srm p", res.SRM.PValue, &ds.SRM.PValue)
						approxPtr(t, "srm chi2", res.SRM.ChiSquared, &ds.SRM.ChiSquared)
					}
					// Holm across metrics: adjusted p-values are never below the raw ones.
					for _, mr := range res.Metrics {
						for _, c := range mr.Result.Comparisons {
							if c.PValue != nil {
								require.GreaterOrEqual(t, mr.AdjustedPValues[c.Variant], *c.PValue-1e-15)
							}
						}
					}
				})
			}
		})
	}
}

func checkMetric(t *testing.T, m scipyref.Metric, got analysis.MetricResult) {
	want := m.Expected
	r := got.Result
	require.Equal(t, want.ExcludedUsers, got.ExcludedUsers, "excluded users")
	require.Equal(t, want.Status, string(r.Status), "status (%s)", r.Message)
	if want.Status == "invalid_data" || want.Status == "zero_denominator" {
		require.NotEmpty(t, got.Error, "a per-metric error in the results")
	}
	if m.CUPEDWindowDays > 0 || m.Denominator != nil || want.Status == "invalid_data" {
		checkGbstatsMetric(t, m, got)
		return
	}
	require.Len(t, r.Variants, len(want.Variants))
	for i, w := range want.Variants {
		g := r.Variants[i]
		require.Equal(t, w.Variant, g.Variant)
		require.Equal(t, w.Users, g.Users, "%s users", w.Variant)
		approxPtr(t, w.Variant+" mean", g.Mean, w.Mean)
		approxPtr(t, w.Variant+" variance", g.Variance, w.Variance)
	}
	require.Len(t, r.Comparisons, len(want.Comparisons))
	for i, w := range want.Comparisons {
		g := r.Comparisons[i]
		require.Equal(t, w.Variant, g.Variant)
		require.Equal(t, w.Status, string(g.Status))
		require.Equal(t, w.Verdict, string(g.Verdict))
		approxPtr(t, "absolute_effect", g.AbsoluteEffect, w.AbsoluteEffect)
		approxPtr(t, "relative_effect", g.RelativeEffect, w.RelativeEffect)
		approxPtr(t, "statistic", g.Statistic, w.Statistic)
		approxPtr(t, "p_value", g.PValue, w.PValue)
		approxPtr(t, "df", g.DF, w.DF)
		approxInterval(t, "absolute_ci", g.AbsoluteCI, w.AbsoluteCI)
		approxInterval(t, "relative_ci", g.RelativeCI, w.RelativeCI)
	}
}

// approx compares at 1e-6 relative, or 1e-12 absolute near zero.
// eventsConnection loads ds into a fresh database of the engine kind and
// returns the API body of an events connection to it.
func eventsConnection(t *testing.T, kind, ck, exposuresSQL string, ds scipyref.Dataset) map[string]any {
	t.Helper()
	if kind == metricsql.KindPostgres {
		ctx := context.Background()
		eventsDSN := dbtest.NewDatabase(t)
		conn, err := pgx.Connect(ctx, eventsDSN)
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, ds.Load(ctx, conn))
		return connectionBody(t, ck, eventsDSN, exposuresSQL)
	}
	var s warehousetest.Server
	if kind == metricsql.KindClickHouse {
		s = warehousetest.ClickHouse(t)
	} else {
		s = warehousetest.MySQL(t)
	}
	tables, err := ds.TablesFor(kind)
	require.NoError(t, err)
	for _, tb := range tables {
		s.Exec(t, tb.CreateSQL(kind))
		s.Insert(t, tb.Name, tb.Columns, tb.Rows)
	}
	return map[string]any{"key": ck, "kind": kind, "host": s.Host, "port": s.Port, "database": s.Database,
		"user": s.User, "ssl_mode": "disable", "exposures_query": exposuresSQL, "statement_timeout_ms": 30000}
}

func approx(t *testing.T, name string, got, want float64) {
	t.Helper()
	d := math.Abs(got - want)
	if d > 1e-12 && d > 1e-6*math.Abs(want) {
		t.Errorf("%s = %.15g, want %.15g", name, got, want)
	}
}

func approxPtr(t *testing.T, name string, got, want *float64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s = %v, want %v", name, got, want)
	default:
		approx(t, name, *got, *want)
	}
}

func approxInterval(t *testing.T, name string, got *stats.Interval, want []float64) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || len(want) != 2:
		t.Errorf("%s = %v, want %v", name, got, want)
	default:
		approx(t, name+" low", got.Low, want[0])
		approx(t, name+" high", got.High, want[1])
	}
}

// checkGbstatsMetric checks a CUPED or ratio metric against the
// gbstats-convention numbers of expected.json.
func checkGbstatsMetric(t *testing.T, m scipyref.Metric, got analysis.MetricResult) {
	want := m.Expected
	r := got.Result
	require.Len(t, r.Comparisons, len(want.Comparisons))
	for i, w := range want.Comparisons {
		for _, problem := range scipyref.Mismatches(r.Comparisons[i], w) {
			t.Error(problem)
		}
	}
}
