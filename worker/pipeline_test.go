package worker_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/stats"
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

const experimentsDir = "../testdata/experiments"

type expectedFile struct {
	Confidence float64 `json:"confidence"`
	Datasets   []struct {
		Name          string   `json:"name"`
		ExperimentKey string   `json:"experiment_key"`
		AnalysisEnd   string   `json:"analysis_end"`
		Variants      []string `json:"variants"`
		WeightsBP     []int    `json:"weights_bp"`
		SRM           *struct {
			ChiSquared float64 `json:"chi_squared"`
			PValue     float64 `json:"p_value"`
			Mismatch   bool    `json:"mismatch"`
		} `json:"srm"`
		Metrics []expectedMetric `json:"metrics"`
	} `json:"datasets"`
}

type expectedMetric struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	EventsFile  string   `json:"events_file"`
	Direction   string   `json:"direction"`
	WindowHours *float64 `json:"window_hours"`
	Cap         *struct {
		Value      *float64 `json:"value"`
		Percentile *float64 `json:"percentile"`
	} `json:"cap"`
	Expected struct {
		Status        string `json:"status"`
		ExcludedUsers int64  `json:"excluded_users"`
		Variants      []struct {
			Variant  string   `json:"variant"`
			Users    int64    `json:"users"`
			Mean     *float64 `json:"mean"`
			Variance *float64 `json:"variance"`
		} `json:"variants"`
		Comparisons []struct {
			Variant        string    `json:"variant"`
			Status         string    `json:"status"`
			Verdict        string    `json:"verdict"`
			AbsoluteEffect *float64  `json:"absolute_effect"`
			RelativeEffect *float64  `json:"relative_effect"`
			Statistic      *float64  `json:"statistic"`
			PValue         *float64  `json:"p_value"`
			DF             *float64  `json:"df"`
			AbsoluteCI     []float64 `json:"absolute_ci"`
			RelativeCI     []float64 `json:"relative_ci"`
		} `json:"comparisons"`
	} `json:"expected"`
}

// loadCSV creates table name with the CSV's columns ("timestamp" becomes
// ts) and copies the file in.
func loadCSV(t *testing.T, ctx context.Context, conn *pgx.Conn, path, table string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	cols := strings.Split(strings.SplitN(string(b), "\n", 2)[0], ",")
	var defs []string
	for _, c := range cols {
		typ := "text"
		switch c {
		case "timestamp":
			typ, c = "timestamptz", "ts"
		case "value":
			typ = "double precision"
		}
		defs = append(defs, pgx.Identifier{c}.Sanitize()+" "+typ)
	}
	_, err = conn.Exec(ctx, "CREATE TABLE "+pgx.Identifier{table}.Sanitize()+" ("+strings.Join(defs, ", ")+")")
	require.NoError(t, err)
	_, err = conn.PgConn().CopyFrom(ctx, strings.NewReader(string(b)), "COPY "+pgx.Identifier{table}.Sanitize()+" FROM STDIN WITH (FORMAT csv, HEADER true)")
	require.NoError(t, err)
}

func TestPipelineThroughAPIAgainstScipy(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(experimentsDir, "expected.json"))
	require.NoError(t, err)
	var exp expectedFile
	require.NoError(t, json.Unmarshal(raw, &exp))
	require.NotEmpty(t, exp.Datasets)

	h := newHarness(t)
	h.startWorker(worker.ExperimentOptions{})
	for _, ds := range exp.Datasets {
		t.Run(ds.Name, func(t *testing.T) {
			ctx := context.Background()
			eventsDSN := dbtest.NewDatabase(t)
			conn, err := pgx.Connect(ctx, eventsDSN)
			require.NoError(t, err)
			defer conn.Close(ctx)
			dir := filepath.Join(experimentsDir, ds.Name)
			loadCSV(t, ctx, conn, filepath.Join(dir, "exposures.csv"), "exposures")
			loaded := map[string]bool{}
			for _, m := range ds.Metrics {
				if !loaded[m.EventsFile] {
					loadCSV(t, ctx, conn, filepath.Join(dir, m.EventsFile), strings.TrimSuffix(m.EventsFile, ".csv"))
					loaded[m.EventsFile] = true
				}
			}

			ck := "events-" + strings.ReplaceAll(ds.Name, "_", "-")
			h.must(201, "POST", "/connections", connectionBody(t, ck, eventsDSN,
				`SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`))

			flag := "flag-" + ds.ExperimentKey
			var variants []map[string]any
			for _, v := range ds.Variants {
				variants = append(variants, map[string]any{"key": v, "value": v})
			}
			h.must(201, "POST", "/flags", map[string]any{"key": flag, "kind": "string", "variants": variants})
			h.must(200, "PATCH", "/flags/"+flag+"/environments/production", map[string]any{"enabled": true})

			var keys []string
			for _, m := range ds.Metrics {
				table := strings.TrimSuffix(m.EventsFile, ".csv")
				sql := `SELECT user_id, ts AS "timestamp" FROM ` + table
				if m.Type == "duration" || m.Type == "revenue" {
					sql = `SELECT user_id, ts AS "timestamp", value FROM ` + table
				}
				key := ds.ExperimentKey + "-" + strings.ReplaceAll(m.Name, "_", "-")
				body := map[string]any{"key": key, "type": m.Type, "sql": sql, "connection": ck,
					"direction": m.Direction, "conversion_window_hours": m.WindowHours}
				if m.Cap != nil && m.Cap.Value != nil {
					body["cap"] = map[string]any{"kind": "value", "value": *m.Cap.Value}
				} else if m.Cap != nil {
					body["cap"] = map[string]any{"kind": "percentile", "value": *m.Cap.Percentile}
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
			h.must(200, "POST", "/experiments/"+ds.ExperimentKey+"/start", nil)
			h.must(200, "POST", "/experiments/"+ds.ExperimentKey+"/stop", nil)
			// Pin the analysis window to the dataset's (as a psql user could).
			end, err := time.Parse(time.RFC3339, ds.AnalysisEnd)
			require.NoError(t, err)
			_, err = h.pool.Exec(ctx, "UPDATE experiments SET started_at = $2::timestamptz - interval '30 days', stopped_at = $2 WHERE key = $1", ds.ExperimentKey, end)
			require.NoError(t, err)

			entry, page := h.refresh(ds.ExperimentKey)
			require.Equal(t, "succeeded", entry["status"], "refresh: %v", entry["error"])
			latest := page["latest"].(map[string]any)
			b, _ := json.Marshal(latest["results"])
			var res analysis.Results
			require.NoError(t, json.Unmarshal(b, &res))
			require.Len(t, res.Metrics, len(ds.Metrics))
			require.Len(t, entry["statements"], len(ds.Metrics), "the SQL of every metric is stored")
			for i, m := range ds.Metrics {
				t.Run(m.Name, func(t *testing.T) { checkMetric(t, m, res.Metrics[i]) })
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
}

func checkMetric(t *testing.T, m expectedMetric, got analysis.MetricResult) {
	want := m.Expected
	r := got.Result
	require.Equal(t, want.ExcludedUsers, got.ExcludedUsers, "excluded users")
	require.Equal(t, want.Status, string(r.Status), "status (%s)", r.Message)
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
