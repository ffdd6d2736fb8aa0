package stats

import (
	"math"
	"testing"
)

// Numbers published in gbstats' own tests (growthbook/growthbook,
// packages/stats/tests/frequentist/test_tests.py and
// tests/bayesian/test_tests.py), which round to 5 decimals; they are
// matched to that rounding here (the 1e-6 relative checks are against
// testdata/stats/reference.json).

func round5(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 5.0000001e-6 {
		t.Errorf("%s = %.7f, gbstats says %.5f", name, got, want)
	}
}

func gbRound(t *testing.T, name string, e *Estimate, effect, lo, hi, sd, p float64) {
	t.Helper()
	if e == nil {
		t.Fatalf("%s: missing", name)
	}
	round5(t, name+" expected", e.Effect, effect)
	round5(t, name+" ci low", e.CI.Low, lo)
	round5(t, name+" ci high", e.CI.High, hi)
	if sd >= 0 {
		round5(t, name+" stddev", e.StdError, sd)
	}
	round5(t, name+" p", *e.PValue, p)
}

func TestGbstatsPublishedFrequentist(t *testing.T) {
	t.Parallel()
	mean := []VariantData{
		{Variant: "a", Users: 3407, Sum: 1396.87, SumSquares: 52377.9767},
		{Variant: "b", Users: 3461, Sum: 2422.7, SumSquares: 134698.29},
	}
	c := Analyze(mean, Options{MetricType: Revenue}).Comparisons[0]
	gbRound(t, "test_two_sided_ttest", c.Relative, 0.70732, -0.03526, 1.44989, 0.37879, 0.06191)
	gbRound(t, "test_two_sided_ttest_absolute", c.Absolute, 0.29, 0.04538, 0.53462, 0.12478, 0.02016)

	binom := []VariantData{{Variant: "a", Users: 28, Sum: 14, SumSquares: 14}, {Variant: "b", Users: 30, Sum: 16, SumSquares: 16}}
	c = Analyze(binom, Options{MetricType: Binomial}).Comparisons[0]
	gbRound(t, "test_two_sided_ttest_binom", c.Relative, 0.06667, -0.47767, 0.61101, 0.2717, 0.80707)

	mean[0].Users = 3000
	c = Analyze(mean, Options{MetricType: Revenue, Sequential: &SequentialOptions{TuningParameter: 1000}}).Comparisons[0]
	gbRound(t, "test_sequential_test_runs", c.Sequential.Relative, 0.50336, -0.55844, 1.56516, 0.33341, 1)

	prop := []VariantData{{Variant: "a", Users: 3000, Sum: 1396, SumSquares: 1396}, {Variant: "b", Users: 3461, Sum: 2422, SumSquares: 2422}}
	c = Analyze(prop, Options{MetricType: Binomial, Sequential: &SequentialOptions{}}).Comparisons[0]
	gbRound(t, "test_sequential_test_runs_prop", c.Sequential.Relative, 0.50386, 0.40098, 0.60675, 0.03386, 0)

	ra := []VariantData{
		{Variant: "a", Users: 3000, Sum: 1396.87, SumSquares: 52377.9767, Pre: &PairedSums{Sum: 16.87, SumSquares: 527.9767, SumProducts: 1}},
		{Variant: "b", Users: 3461, Sum: 2422.7, SumSquares: 134698.29, Pre: &PairedSums{Sum: 22.7, SumSquares: 1348.29, SumProducts: 1}},
	}
	c = Analyze(ra, Options{MetricType: Revenue, CUPED: true, Sequential: &SequentialOptions{}}).Comparisons[0]
	if c.CUPED == nil || !c.CUPED.Applied {
		t.Fatalf("CUPED not applied: %+v", c.CUPED)
	}
	gbRound(t, "test_sequential_test_runs_ra", c.Sequential.Relative, 0.50338, -0.50969, 1.51646, 0.33341, 1)
}

func TestGbstatsPublishedBayesian(t *testing.T) {
	t.Parallel()
	check := func(name string, b *BayesianResult, expected, lo, hi, sd, ctw, riskC, riskT float64) {
		t.Helper()
		if b == nil {
			t.Fatalf("%s: missing", name)
		}
		round5(t, name+" expected", b.Expected, expected)
		round5(t, name+" ci low", b.CI.Low, lo)
		round5(t, name+" ci high", b.CI.High, hi)
		round5(t, name+" stddev", b.StdDev, sd)
		round5(t, name+" chance to win", b.ChanceToWin, ctw)
		round5(t, name+" risk control", b.RiskControl, riskC)
		round5(t, name+" risk treatment", b.RiskTreatment, riskT)
	}
	flat := &Prior{}
	c := Analyze([]VariantData{{Variant: "a", Users: 100, Sum: 49, SumSquares: 49}, {Variant: "b", Users: 100, Sum: 51, SumSquares: 51}},
		Options{MetricType: Binomial, Bayesian: flat}).Comparisons[0]
	check("test_bayesian_binomial_ab_test", c.Bayesian, 0.04082, -0.24779, 0.32943, 0.14725, 0.60918, 0.0814, 0.04058)

	norm := []VariantData{{Variant: "a", Users: 10, Sum: 100, SumSquares: 1002.25}, {Variant: "b", Users: 10, Sum: 105, SumSquares: 1111.5}}
	c = Analyze(norm, Options{MetricType: Revenue, Bayesian: flat}).Comparisons[0]
	check("test_bayesian_gaussian_ab_test", c.Bayesian, 0.05, -0.02, 0.12, 0.03572, 0.91923, 0.05131, 0.00131)
	c = Analyze(norm, Options{MetricType: Revenue, Bayesian: &Prior{Proper: true, Mean: 0.1, StdDev: math.Sqrt(0.1)}}).Comparisons[0]
	check("test_bayesian_gaussian_ab_test_informative", c.Bayesian, 0.05063, -0.01893, 0.12019, 0.03549, 0.92315, 0.05186, 0.00123)
}
