package metricsql_test

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

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

// The datasets and expected numbers come from
// testdata/experiments/generate.py, which aggregates per user in plain
// Python and tests with scipy, independently of this package's SQL.

const experimentsDir = "../../testdata/experiments"

type expectedFile struct {
	Confidence float64           `json:"confidence"`
	Datasets   []expectedDataset `json:"datasets"`
}

type expectedDataset struct {
	Name          string   `json:"name"`
	ExperimentKey string   `json:"experiment_key"`
	AnalysisEnd   string   `json:"analysis_end"`
	Variants      []string `json:"variants"`
	WeightsBP     []int    `json:"weights_bp"`
	SRM           *struct {
		Observed   []int64 `json:"observed"`
		ChiSquared float64 `json:"chi_squared"`
		PValue     float64 `json:"p_value"`
		Mismatch   bool    `json:"mismatch"`
	} `json:"srm"`
	Metrics []expectedMetric `json:"metrics"`
}

type expectedMetric struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	EventsFile  string         `json:"events_file"`
	Direction   string         `json:"direction"`
	WindowHours *float64       `json:"window_hours"`
	Cap         *metricsql.Cap `json:"cap"`
	Expected    struct {
		Status        string `json:"status"`
		ExcludedUsers int64  `json:"excluded_users"`
		Variants      []struct {
			Variant    string   `json:"variant"`
			Users      int64    `json:"users"`
			Sum        float64  `json:"sum"`
			SumSquares float64  `json:"sum_squares"`
			Mean       *float64 `json:"mean"`
			Variance   *float64 `json:"variance"`
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

func loadExpected(t *testing.T) expectedFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(experimentsDir, "expected.json"))
	if err != nil {
		t.Fatalf("read expected.json: %v", err)
	}
	var f expectedFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse expected.json: %v", err)
	}
	if len(f.Datasets) == 0 {
		t.Fatal("expected.json has no datasets")
	}
	return f
}

// loadCSV creates table name with the CSV's columns and copies the file in.
func loadCSV(t *testing.T, ctx context.Context, conn *pgx.Conn, path, table string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	header := make([]byte, 256)
	n, _ := f.Read(header)
	cols := strings.Split(strings.SplitN(string(header[:n]), "\n", 2)[0], ",")
	var defs []string
	for _, c := range cols {
		typ := "text"
		switch c {
		case "timestamp":
			typ, c = "timestamptz", "ts" // a user would rarely name it "timestamp"
		case "value":
			typ = "double precision"
		}
		defs = append(defs, pgx.Identifier{c}.Sanitize()+" "+typ)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE "+pgx.Identifier{table}.Sanitize()+" ("+strings.Join(defs, ", ")+")"); err != nil {
		t.Fatalf("create %s: %v", table, err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PgConn().CopyFrom(ctx, f, "COPY "+pgx.Identifier{table}.Sanitize()+" FROM STDIN WITH (FORMAT csv, HEADER true)"); err != nil {
		t.Fatalf("copy %s: %v", path, err)
	}
}

func TestPipelineAgainstScipy(t *testing.T) {
	t.Parallel()
	exp := loadExpected(t)
	for _, ds := range exp.Datasets {
		t.Run(ds.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			connString := dbtest.NewDatabase(t)
			conn, err := pgx.Connect(ctx, connString)
			if err != nil {
				t.Fatal(err)
			}
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
			end, err := time.Parse(time.RFC3339, ds.AnalysisEnd)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ds.Metrics {
				t.Run(m.Name, func(t *testing.T) {
					checkMetric(t, ctx, conn, exp.Confidence, ds, m, end)
				})
			}
		})
	}
}

func checkMetric(t *testing.T, ctx context.Context, conn *pgx.Conn, confidence float64, ds expectedDataset, m expectedMetric, end time.Time) {
	mt, err := stats.ParseMetricType(m.Type)
	if err != nil {
		t.Fatal(err)
	}
	table := pgx.Identifier{strings.TrimSuffix(m.EventsFile, ".csv")}.Sanitize()
	metricSQL := `SELECT user_id, ts AS "timestamp" FROM ` + table
	if mt == stats.Duration || mt == stats.Revenue {
		metricSQL = `SELECT user_id, ts AS "timestamp", value FROM ` + table
	}
	spec := metricsql.Spec{
		ExposuresSQL:          `SELECT experiment_key, user_id, variant, ts AS "timestamp" FROM exposures`,
		MetricSQL:             metricSQL,
		MetricType:            mt,
		ExperimentKey:         ds.ExperimentKey,
		AnalysisEnd:           end,
		ConversionWindowHours: m.WindowHours,
		Cap:                   m.Cap,
	}
	counts, err := metricsql.Run(ctx, conn, spec, time.Minute)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := m.Expected
	if counts.ExcludedUsers != want.ExcludedUsers {
		t.Errorf("excluded users %d, want %d", counts.ExcludedUsers, want.ExcludedUsers)
	}
	variants := counts.Ordered(ds.Variants)
	if len(variants) != len(ds.Variants) {
		t.Fatalf("variants %+v, want %v", variants, ds.Variants)
	}
	for i, w := range want.Variants {
		g := variants[i]
		if g.Variant != w.Variant || g.Users != w.Users {
			t.Errorf("variant %d: %s with %d users, want %s with %d", i, g.Variant, g.Users, w.Variant, w.Users)
		}
		approx(t, w.Variant+" sum", g.Sum, w.Sum)
		approx(t, w.Variant+" sum_squares", g.SumSquares, w.SumSquares)
	}

	res := stats.Analyze(variants, stats.Options{
		MetricType: mt, Direction: stats.Direction(m.Direction), Confidence: confidence, WeightsBP: ds.WeightsBP,
	})
	if string(res.Status) != want.Status {
		t.Errorf("status %s (%s), want %s", res.Status, res.Message, want.Status)
	}
	for i, w := range want.Variants {
		g := res.Variants[i]
		approxPtr(t, w.Variant+" mean", g.Mean, w.Mean)
		approxPtr(t, w.Variant+" variance", g.Variance, w.Variance)
	}
	if len(res.Comparisons) != len(want.Comparisons) {
		t.Fatalf("%d comparisons, want %d", len(res.Comparisons), len(want.Comparisons))
	}
	for i, w := range want.Comparisons {
		g := res.Comparisons[i]
		name := w.Variant
		if g.Variant != w.Variant || string(g.Status) != w.Status || string(g.Verdict) != w.Verdict {
			t.Errorf("%s: got %s/%s/%s, want %s/%s", name, g.Variant, g.Status, g.Verdict, w.Status, w.Verdict)
		}
		if g.Message == "" && w.Status != "ok" {
			t.Errorf("%s: status %s without a message", name, g.Status)
		}
		approxPtr(t, name+" absolute_effect", g.AbsoluteEffect, w.AbsoluteEffect)
		approxPtr(t, name+" relative_effect", g.RelativeEffect, w.RelativeEffect)
		approxPtr(t, name+" statistic", g.Statistic, w.Statistic)
		approxPtr(t, name+" p_value", g.PValue, w.PValue)
		approxPtr(t, name+" df", g.DF, w.DF)
		approxInterval(t, name+" absolute_ci", g.AbsoluteCI, w.AbsoluteCI)
		approxInterval(t, name+" relative_ci", g.RelativeCI, w.RelativeCI)
	}
	if ds.SRM != nil {
		if res.SRM == nil {
			t.Fatal("no SRM result")
		}
		if res.SRM.Mismatch != ds.SRM.Mismatch {
			t.Errorf("SRM mismatch %v, want %v", res.SRM.Mismatch, ds.SRM.Mismatch)
		}
		approxPtr(t, "srm p", res.SRM.PValue, &ds.SRM.PValue)
		approxPtr(t, "srm chi2", res.SRM.ChiSquared, &ds.SRM.ChiSquared)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Errorf("marshal result: %v", err)
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
		t.Errorf("%s = %v, want %v", name, fmtPtr(got), fmtPtr(want))
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

func fmtPtr(p *float64) any {
	if p == nil {
		return "nil"
	}
	return *p
}
