package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// Reference values below were computed once with scipy 1.10
// (ttest_ind_from_stats(equal_var=False), chi2_contingency(correction=False),
// chisquare, t.ppf, norm.ppf). The end-to-end comparison against scipy on
// per-user data lives in internal/metricsql (testdata/experiments).

func near(t *testing.T, name string, got *float64, want float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: nil, want %v", name, want)
		return
	}
	if !closeEnough(*got, want) {
		t.Errorf("%s = %.17g, want %.17g", name, *got, want)
	}
}

func closeEnough(got, want float64) bool {
	diff := math.Abs(got - want)
	return diff <= 1e-12 || diff <= 1e-9*math.Abs(want)
}

func TestWelchAgainstScipy(t *testing.T) {
	t.Parallel()
	res := Analyze([]VariantData{
		{Variant: "control", Users: 1000, Sum: 5230.5, SumSquares: 40210.25},
		{Variant: "treatment", Users: 1100, Sum: 6010.75, SumSquares: 47520.5},
	}, Options{MetricType: Revenue})
	if res.Status != StatusOK || len(res.Comparisons) != 1 {
		t.Fatalf("status %s (%s), %d comparisons", res.Status, res.Message, len(res.Comparisons))
	}
	c := res.Comparisons[0]
	// The absolute analysis is Welch's t-test (scipy ttest_ind_from_stats).
	near(t, "t", c.Absolute.Statistic, 1.4786534260003663)
	near(t, "p", c.Absolute.PValue, 0.1393839657290245)
	near(t, "df", c.DF, 2085.7133425507027)
	near(t, "ci low", &c.AbsoluteCI.Low, -0.07628917779645161)
	near(t, "ci high", &c.AbsoluteCI.High, 0.5439255414328141)
	near(t, "lift", c.RelativeEffect, 0.04470283564060429)
	if c.Verdict != Inconclusive || c.Significant || c.Test != WelchT {
		t.Errorf("verdict %s significant %v test %s", c.Verdict, c.Significant, c.Test)
	}
	if !strings.Contains(c.Summary, "No significant difference") {
		t.Errorf("summary %q", c.Summary)
	}
}

func TestBinomialAgainstScipy(t *testing.T) {
	t.Parallel()
	for _, dir := range []Direction{HigherIsBetter, LowerIsBetter} {
		res := Analyze([]VariantData{
			{Variant: "a", Users: 1000, Sum: 120, SumSquares: 120},
			{Variant: "b", Users: 1000, Sum: 160, SumSquares: 160},
		}, Options{MetricType: Binomial, Direction: dir})
		c := res.Comparisons[0]
		// Secondary figure: scipy chi2_contingency(correction=False).
		res2 := Analyze([]VariantData{
			{Variant: "a", Users: 1000, Sum: 120, SumSquares: 120},
			{Variant: "b", Users: 1000, Sum: 150, SumSquares: 150},
		}, Options{MetricType: Binomial, Direction: dir})
		cs := res2.Comparisons[0].ChiSquared
		near(t, "chi2", &cs.Statistic, 3.8535645472061657)
		near(t, "p", &cs.PValue, 0.049640386865368834)
		if cs.FisherPValue != nil || cs.SmallSample {
			t.Errorf("large sample flagged small: %+v", cs)
		}
		want := Better
		if dir == LowerIsBetter {
			want = Worse
		}
		if c.Verdict != want || !c.Significant {
			t.Errorf("%s: verdict %s, want %s", dir, c.Verdict, want)
		}
		if !strings.Contains(c.Summary, string(want)) {
			t.Errorf("summary %q", c.Summary)
		}
	}
}

func TestConfidenceLevelAndControl(t *testing.T) {
	t.Parallel()
	vs := []VariantData{
		{Variant: "b", Users: 1000, Sum: 150, SumSquares: 150},
		{Variant: "a", Users: 1000, Sum: 120, SumSquares: 120},
	}
	res := Analyze(vs, Options{MetricType: Binomial, Control: "a", Confidence: 0.99})
	if res.Control != "a" || res.Comparisons[0].Variant != "b" {
		t.Fatalf("control %s, compared %s", res.Control, res.Comparisons[0].Variant)
	}
	c := res.Comparisons[0]
	if c.Significant || c.Verdict != Inconclusive {
		t.Errorf("p=%v should not be significant at 99%%", *c.PValue)
	}
	// 99% interval is wider than the 95% one.
	if !(c.AbsoluteCI.Low < 7.602882129778554e-05) {
		t.Errorf("99%% CI low %v not below the 95%% one", c.AbsoluteCI.Low)
	}
}

func TestDegenerate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mt     MetricType
		vs     []VariantData
		status Status
	}{
		{"no variants", Count, nil, StatusOneArm},
		{"one variant", Count, []VariantData{{Variant: "a", Users: 10, Sum: 5, SumSquares: 7}}, StatusOneArm},
		{"empty treatment", Count, []VariantData{{Variant: "a", Users: 10, Sum: 5, SumSquares: 7}, {Variant: "b"}}, StatusOneArm},
		{"one user", Revenue, []VariantData{{Variant: "a", Users: 10, Sum: 5, SumSquares: 7}, {Variant: "b", Users: 1, Sum: 3, SumSquares: 9}}, StatusInsufficientData},
		{"zero variance", Count, []VariantData{{Variant: "a", Users: 10, Sum: 10, SumSquares: 10}, {Variant: "b", Users: 5, Sum: 10, SumSquares: 20}}, StatusZeroVariance},
		{"nobody converted", Binomial, []VariantData{{Variant: "a", Users: 10}, {Variant: "b", Users: 12}}, StatusZeroVariance},
		{"everybody converted", Binomial, []VariantData{{Variant: "a", Users: 10, Sum: 10, SumSquares: 10}, {Variant: "b", Users: 12, Sum: 12, SumSquares: 12}}, StatusZeroVariance},
		{"zero control mean", Count, []VariantData{{Variant: "a", Users: 10}, {Variant: "b", Users: 12, Sum: 3, SumSquares: 5}}, StatusZeroControlMean},
		{"zero control rate", Binomial, []VariantData{{Variant: "a", Users: 10}, {Variant: "b", Users: 12, Sum: 3, SumSquares: 3}}, StatusZeroControlMean},
		{"nan", Revenue, []VariantData{{Variant: "a", Users: 10, Sum: math.NaN()}, {Variant: "b", Users: 12}}, StatusInvalidData},
		{"too many conversions", Binomial, []VariantData{{Variant: "a", Users: 10, Sum: 11, SumSquares: 11}, {Variant: "b", Users: 12}}, StatusInvalidData},
		{"duplicate", Count, []VariantData{{Variant: "a", Users: 10}, {Variant: "a", Users: 12}}, StatusInvalidData},
		{"rounding gives negative variance", Revenue, []VariantData{
			{Variant: "a", Users: 3, Sum: 0.1 + 0.1 + 0.1, SumSquares: 0.1*0.1 + 0.1*0.1 + 0.1*0.1},
			{Variant: "b", Users: 7, Sum: 0.7, SumSquares: 0.07}}, StatusZeroVariance},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := Analyze(tc.vs, Options{MetricType: tc.mt, WeightsBP: weightsFor(tc.vs)})
			if res.Status != tc.status {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, tc.status)
			}
			if res.Message == "" {
				t.Errorf("no message")
			}
			for _, c := range res.Comparisons {
				if c.Verdict != Inconclusive && c.Status != StatusZeroControlMean {
					t.Errorf("verdict %s", c.Verdict)
				}
				if c.Summary == "" {
					t.Errorf("no summary")
				}
			}
			if tc.status == StatusZeroControlMean {
				c := res.Comparisons[0]
				if c.RelativeEffect != nil || c.RelativeCI != nil || c.PValue == nil || c.AbsoluteCI == nil {
					t.Errorf("zero control mean: want absolute results only, got %+v", c)
				}
			}
			// Must serialise: encoding/json refuses NaN and Inf.
			if _, err := json.Marshal(res); err != nil {
				t.Fatalf("marshal: %v", err)
			}
		})
	}
}

func weightsFor(vs []VariantData) []int {
	w := make([]int, len(vs))
	for i := range w {
		w[i] = 100
	}
	return w
}

func TestJSONShape(t *testing.T) {
	t.Parallel()
	res := Analyze([]VariantData{
		{Variant: "a", Users: 10, Sum: 5, SumSquares: 7},
		{Variant: "b", Users: 1, Sum: 3, SumSquares: 9},
	}, Options{MetricType: Count})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"metric_type":"count"`, `"status":"insufficient_data"`, `"sum_squares"`[:0], `"std_error"`, `"absolute_effect"`} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s: %s", want, s)
		}
	}
	if strings.Contains(s, `"p_value"`) {
		t.Errorf("p_value should be omitted when not computed: %s", s)
	}
}

func TestSRM(t *testing.T) {
	t.Parallel()
	r := SampleRatioMismatch([]int64{5200, 4800}, []int{5000, 5000})
	near(t, "chi2", r.ChiSquared, 16)
	near(t, "p", r.PValue, 6.334248366623988e-05)
	if !r.Mismatch || r.Status != StatusOK {
		t.Errorf("want mismatch, got %+v", r)
	}
	r = SampleRatioMismatch([]int64{3400, 3300, 3300}, []int{3300, 3300, 3400})
	near(t, "chi2", r.ChiSquared, 5.971479500891266)
	near(t, "p", r.PValue, 0.05050213075383744)
	if r.Mismatch || r.DF != 2 {
		t.Errorf("want no mismatch with df 2, got %+v", r)
	}
	if r := SampleRatioMismatch([]int64{0, 0}, []int{1, 1}); r.Status != StatusInsufficientData || r.Mismatch {
		t.Errorf("empty: %+v", r)
	}
	if r := SampleRatioMismatch([]int64{10, 3}, []int{1, 0}); !r.Mismatch {
		t.Errorf("users in a zero-weight variant: %+v", r)
	}
	if r := SampleRatioMismatch([]int64{10, 3, 0}, []int{1, 1, 0}); r.Status != StatusOK || r.DF != 1 {
		t.Errorf("zero weight, zero users should be ignored: %+v", r)
	}
	if r := SampleRatioMismatch([]int64{10}, []int{1, 1}); r.Status != StatusInvalidData {
		t.Errorf("length mismatch: %+v", r)
	}
}

func TestRequiredSampleSize(t *testing.T) {
	t.Parallel()
	// Conversion 10%, 5% relative MDE: (1.959964+0.841621)² · 2·0.09 / 0.005²
	// = 56,511.93 → 56,512 (norm.ppf values from scipy).
	s := RequiredSampleSize(SampleSizeInput{ControlMean: 0.1, ControlVariance: 0.09, TreatmentVariance: 0.09, MDE: 0.05})
	if s.UsersPerVariant == nil || *s.UsersPerVariant != 56512 {
		t.Fatalf("got %v", s)
	}
	res := Analyze([]VariantData{
		{Variant: "a", Users: 10000, Sum: 1000, SumSquares: 1000},
		{Variant: "b", Users: 10000, Sum: 1000, SumSquares: 1000},
	}, Options{MetricType: Binomial})
	s = SampleSizeFromResult(res, 0.05, 0, 0)
	if s.UsersPerVariant == nil || *s.UsersPerVariant != 56512 || *s.RemainingUsersPerVariant != 46512 {
		t.Fatalf("from result: got %+v", s)
	}
	if s := SampleSizeFromResult(Analyze(nil, Options{MetricType: Count}), 0.05, 0, 0); s.Status != StatusInsufficientData {
		t.Errorf("empty result: %v", s)
	}
	for _, in := range []SampleSizeInput{
		{ControlMean: 0, ControlVariance: 1, TreatmentVariance: 1, MDE: 0.05},
		{ControlMean: 1, MDE: 0.05},
		{ControlMean: 1, ControlVariance: 1, TreatmentVariance: 1},
		{ControlMean: 1, ControlVariance: math.Inf(1), MDE: 0.1},
		{ControlMean: 1e-300, ControlVariance: 1e300, TreatmentVariance: 1e300, MDE: 1e-10},
	} {
		if s := RequiredSampleSize(in); s.Status == StatusOK || s.Message == "" {
			t.Errorf("%+v: want a non-ok status, got %v", in, s)
		}
	}
}

func TestExpectedEndDate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	end, ok := ExpectedEndDate(1000, 4000, 500, now)
	if !ok || !end.Equal(now.Add(6*24*time.Hour)) {
		t.Errorf("got %v %v", end, ok)
	}
	if end, ok := ExpectedEndDate(5000, 4000, 500, now); !ok || !end.Equal(now) {
		t.Errorf("already done: %v %v", end, ok)
	}
	if _, ok := ExpectedEndDate(0, 4000, 0, now); ok {
		t.Error("zero rate should not give a date")
	}
	if _, ok := ExpectedEndDate(0, math.MaxInt64, 1e-9, now); ok {
		t.Error("absurd horizon should not give a date")
	}
}

func TestHolmBonferroni(t *testing.T) {
	t.Parallel()
	// statsmodels multipletests([0.01, 0.04, 0.03, 0.005], method="holm")
	// -> [0.03, 0.06, 0.06, 0.02].
	got := HolmBonferroni([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if !closeEnough(got[i], want[i]) {
			t.Errorf("adjusted[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	got = HolmBonferroni([]float64{0.5, math.NaN(), 0.9})
	if got[1] != 1 || got[0] != 1 || got[2] != 1 {
		t.Errorf("got %v", got)
	}
	if len(HolmBonferroni(nil)) != 0 {
		t.Error("nil input")
	}
}

func TestParseMetricType(t *testing.T) {
	t.Parallel()
	if _, err := ParseMetricType("ratio"); err == nil {
		t.Error("want error")
	}
	if mt, err := ParseMetricType("revenue"); err != nil || mt != Revenue {
		t.Errorf("got %v %v", mt, err)
	}
}
