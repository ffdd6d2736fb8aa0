package analysis_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

func srmPlan(now time.Time) analysis.Plan {
	return analysis.Plan{ExperimentKey: "e", Variants: []string{"off", "on"}, WeightsBP: []int{5000, 5000}, AnalysisEnd: now,
		Metrics: []analysis.Metric{
			{Key: "buy", Type: stats.Binomial, Primary: true, Direction: stats.HigherIsBetter},
			{Key: "signup", Type: stats.Binomial, Direction: stats.HigherIsBetter},
		}}
}

// Two metric statements that saw different users (events arriving during
// the refresh, say) cannot both be the experiment's users: the top-level
// users, excluded users and sample-ratio check come from the one
// exposures statement, never from the first metric's.
func TestUsersAndSRMComeFromTheExposuresStatement(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	counts := []metricsql.Counts{
		// The first metric alone would flag a mismatch (1000 vs 1300).
		{Variants: []stats.VariantData{{Variant: "off", Users: 1000, Sum: 100, SumSquares: 100}, {Variant: "on", Users: 1300, Sum: 200, SumSquares: 200}}, ExcludedUsers: 9},
		{Variants: []stats.VariantData{{Variant: "off", Users: 1150, Sum: 100, SumSquares: 100}, {Variant: "on", Users: 1151, Sum: 200, SumSquares: 200}}},
	}
	exposed := metricsql.Exposed{Users: map[string]int64{"off": 1150, "on": 1151}, ExcludedUsers: 2}
	res := analysis.Analyze(srmPlan(now), exposed, counts, 0, now)
	require.Equal(t, map[string]int64{"off": 1150, "on": 1151}, res.Users)
	require.EqualValues(t, 2, res.ExcludedUsers)
	require.NotNil(t, res.SRM)
	require.Equal(t, []int64{1150, 1151}, res.SRM.Observed)
	require.False(t, res.SRM.Mismatch)
	require.Empty(t, res.VerdictsWithheld)
	require.Equal(t, stats.Better, res.Metrics[1].Result.Comparisons[0].Verdict, "no mismatch: the verdict stands")
	require.NotContains(t, res.Warnings, "sample ratio mismatch: the users per variant do not match the intended weights (p < 0.001); the results may be biased")
	require.Contains(t, res.Warnings, "2 users were exposed to more than one variant and are excluded")
}

// The sample-ratio check is made once per refresh: no metric (nor any of
// its dimension values) carries an SRM of its own beside the top-level one,
// even when its statement saw users that would flag one.
func TestMetricsCarryNoSRMOfTheirOwn(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	skewed := []stats.VariantData{{Variant: "off", Users: 1000, Sum: 100, SumSquares: 100}, {Variant: "on", Users: 1300, Sum: 200, SumSquares: 200}}
	counts := []metricsql.Counts{
		{Variants: skewed, Dimensions: []metricsql.DimensionCounts{{Value: "fr", Variants: skewed}}},
		{Variants: []stats.VariantData{{Variant: "off", Users: 1150, Sum: 100, SumSquares: 100}, {Variant: "on", Users: 1151, Sum: 200, SumSquares: 200}}},
	}
	exposed := metricsql.Exposed{Users: map[string]int64{"off": 1150, "on": 1151}}
	res := analysis.Analyze(srmPlan(now), exposed, counts, 0, now)
	require.NotNil(t, res.SRM)
	require.False(t, res.SRM.Mismatch)
	doc, err := json.Marshal(res)
	require.NoError(t, err)
	type result struct {
		SRM map[string]any `json:"srm"`
	}
	var back struct {
		SRM     map[string]any `json:"srm"`
		Metrics []struct {
			Key        string `json:"key"`
			Result     result `json:"result"`
			Dimensions []struct {
				Result result `json:"result"`
			} `json:"dimensions"`
		} `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal(doc, &back))
	require.NotNil(t, back.SRM, "one SRM, at the top level")
	require.Len(t, back.Metrics, 2)
	require.Len(t, back.Metrics[0].Dimensions, 1)
	for _, m := range back.Metrics {
		require.Nil(t, m.Result.SRM, "metric %s carries an SRM of its own", m.Key)
		for _, d := range m.Dimensions {
			require.Nil(t, d.Result.SRM, "a dimension value of metric %s carries an SRM of its own", m.Key)
		}
	}
}

// While the sample-ratio check fails, every verdict (better, worse and
// inconclusive, dimensions included) is "not_trustworthy", the test's
// verdict kept beside it and the summary saying why.
func TestVerdictsWithheldWhileSRMIsFlagged(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	counts := []metricsql.Counts{
		{Variants: []stats.VariantData{{Variant: "off", Users: 1000, Sum: 100, SumSquares: 100}, {Variant: "on", Users: 1300, Sum: 200, SumSquares: 200}},
			Dimensions: []metricsql.DimensionCounts{{Value: "fr", Variants: []stats.VariantData{{Variant: "off", Users: 1000, Sum: 100, SumSquares: 100}, {Variant: "on", Users: 1300, Sum: 200, SumSquares: 200}}}}},
		{Variants: []stats.VariantData{{Variant: "off", Users: 1000, Sum: 100, SumSquares: 100}, {Variant: "on", Users: 1300, Sum: 131, SumSquares: 131}}},
	}
	exposed := metricsql.Exposed{Users: map[string]int64{"off": 1000, "on": 1300}}
	res := analysis.Analyze(srmPlan(now), exposed, counts, 0, now)
	require.True(t, res.SRM.Mismatch)
	require.Contains(t, res.VerdictsWithheld, "sample ratio mismatch")
	buy := res.Metrics[0].Result.Comparisons[0]
	require.Equal(t, stats.NotTrustworthy, buy.Verdict)
	require.Equal(t, stats.Better, buy.WithheldVerdict)
	require.Regexp(t, `^Not trustworthy \(sample ratio mismatch\): "on" is better`, buy.Summary)
	signup := res.Metrics[1].Result.Comparisons[0]
	require.Equal(t, stats.NotTrustworthy, signup.Verdict)
	require.Equal(t, stats.Inconclusive, signup.WithheldVerdict)
	require.Equal(t, stats.NotTrustworthy, res.Metrics[0].Dimensions[0].Result.Comparisons[0].Verdict)
	// The p-values and intervals are still shown (and adjusted).
	require.NotNil(t, buy.PValue)
	require.Contains(t, res.Metrics[0].AdjustedPValues, "on")
}
