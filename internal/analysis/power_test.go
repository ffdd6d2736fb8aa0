package analysis_test

import (
	"testing"
	"time"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

// Before the nightly pipeline has counted a whole day, the expected end
// date comes from the users so far over the time since the start.
func TestExpectedEndBeforeAnyCountedDay(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	started := now.Add(-12 * time.Hour)
	planned := int64(1000)
	plan := analysis.Plan{ExperimentKey: "e", StartedAt: &started, Variants: []string{"off", "on"}, WeightsBP: []int{5000, 5000},
		PlannedSampleSize: &planned, AnalysisEnd: now,
		Metrics: []analysis.Metric{{Key: "buy", Type: stats.Binomial, Primary: true, Direction: stats.HigherIsBetter}}}
	counts := []metricsql.Counts{{Variants: []stats.VariantData{
		{Variant: "off", Users: 100, Sum: 10, SumSquares: 10},
		{Variant: "on", Users: 110, Sum: 15, SumSquares: 15},
	}}}

	exposed := metricsql.Exposed{Users: map[string]int64{"off": 100, "on": 110}}
	res := analysis.Analyze(plan, exposed, counts, 0, now)
	p := res.Power
	if p == nil || p.UsersPerDay == nil || p.ExpectedEnd == nil {
		t.Fatalf("no rate or end date: %+v", p)
	}
	// 100 users (the smaller variant) in half a day: 200 a day; 900 more to go: 4.5 days.
	if *p.UsersPerDay != 200 {
		t.Errorf("users per day %v, want 200", *p.UsersPerDay)
	}
	if want := now.Add(108 * time.Hour); !p.ExpectedEnd.Equal(want) {
		t.Errorf("expected end %v, want %v", *p.ExpectedEnd, want)
	}

	// A counted rate, when there is one, is used as given.
	res = analysis.Analyze(plan, exposed, counts, 300, now)
	if *res.Power.UsersPerDay != 300 {
		t.Errorf("users per day %v, want the counted 300", *res.Power.UsersPerDay)
	}
}
