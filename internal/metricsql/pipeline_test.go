package metricsql_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waypost/waypost/internal/dbtest"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/scipyref"
	"github.com/waypost/waypost/internal/stats"
)

// The datasets and expected numbers come from
// testdata/experiments/generate.py, which aggregates per user in plain
// Python and tests with scipy, independently of this package's SQL
// (package scipyref reads and loads them).

func TestPipelineAgainstScipy(t *testing.T) {
	t.Parallel()
	exp, err := scipyref.Read()
	if err != nil {
		t.Fatal(err)
	}
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
			if err := ds.Load(ctx, conn); err != nil {
				t.Fatal(err)
			}
			reader, err := pgx.Connect(ctx, dbtest.ReaderURL(t, connString))
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close(ctx)
			end, err := time.Parse(time.RFC3339, ds.AnalysisEnd)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ds.Metrics {
				t.Run(m.Name, func(t *testing.T) {
					checkMetric(t, ctx, reader, exp.Confidence, ds, m, end)
				})
			}
		})
	}
}

func checkMetric(t *testing.T, ctx context.Context, conn *pgx.Conn, confidence float64, ds scipyref.Dataset, m scipyref.Metric, end time.Time) {
	mt, err := stats.ParseMetricType(m.Type)
	if err != nil {
		t.Fatal(err)
	}
	spec := metricsql.Spec{
		ExposuresSQL:          scipyref.ExposuresSQL,
		MetricSQL:             m.SQL(),
		MetricType:            mt,
		ExperimentKey:         ds.ExperimentKey,
		AnalysisEnd:           end,
		ConversionWindowHours: m.WindowHours,
		Cap:                   m.Cap,
		CUPEDWindowDays:       m.CUPEDWindowDays,
	}
	if m.Denominator != nil {
		spec.Denominator = &metricsql.Denominator{SQL: m.DenominatorSQL(), Type: stats.MetricType(m.Denominator.Type)}
	}
	counts, err := metricsql.Run(ctx, metricsql.PostgresDB(conn), spec, time.Minute)
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
	if m.CUPEDWindowDays > 0 || m.Denominator != nil || want.Status == "invalid_data" {
		checkGbstatsMetric(t, confidence, ds, m, variants)
		return
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

// checkGbstatsMetric checks a CUPED or ratio metric (or one with NaN
// values) against the gbstats-convention numbers of expected.json.
func checkGbstatsMetric(t *testing.T, confidence float64, ds scipyref.Dataset, m scipyref.Metric, variants []stats.VariantData) {
	want := m.Expected
	for i, w := range want.Variants {
		g := variants[i]
		if g.Users != w.Users {
			t.Errorf("%s: %d users, want %d", w.Variant, g.Users, w.Users)
		}
		if w.Pre == nil && w.Denominator == nil && want.Status == "invalid_data" {
			continue
		}
		approx(t, w.Variant+" sum", g.Sum, w.Sum)
		approx(t, w.Variant+" sum_squares", g.SumSquares, w.SumSquares)
		for _, p := range []struct {
			name      string
			got, want *stats.PairedSums
		}{{"pre", g.Pre, w.Pre}, {"denominator", g.Denominator, w.Denominator}} {
			if (p.got == nil) != (p.want == nil) {
				t.Fatalf("%s %s: got %v, want %v", w.Variant, p.name, p.got, p.want)
			}
			if p.got != nil {
				approx(t, w.Variant+" "+p.name+" sum", p.got.Sum, p.want.Sum)
				approx(t, w.Variant+" "+p.name+" sum_squares", p.got.SumSquares, p.want.SumSquares)
				approx(t, w.Variant+" "+p.name+" sum_products", p.got.SumProducts, p.want.SumProducts)
			}
		}
	}
	mt, _ := stats.ParseMetricType(m.Type)
	res := stats.Analyze(variants, stats.Options{MetricType: mt, Direction: stats.Direction(m.Direction), Confidence: confidence,
		WeightsBP: ds.WeightsBP, CUPED: m.CUPEDWindowDays > 0, Ratio: m.Denominator != nil})
	if string(res.Status) != want.Status {
		t.Fatalf("status %s (%s), want %s", res.Status, res.Message, want.Status)
	}
	if res.Status != stats.StatusOK && res.Message == "" {
		t.Errorf("status %s without a message", res.Status)
	}
	for i, w := range want.Comparisons {
		g := res.Comparisons[i]
		for _, problem := range scipyref.Mismatches(g, w) {
			t.Error(problem)
		}
		if m.CUPEDWindowDays > 0 && !w.CUPEDApplied && len(g.Warnings) == 0 {
			t.Errorf("%s: CUPED not applied without a warning", w.Variant)
		}
	}
}
