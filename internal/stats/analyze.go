package stats

import (
	"fmt"
	"math"
)

// DefaultConfidence is used when Options.Confidence is 0.
const DefaultConfidence = 0.95

// Analyze compares every variant with the control. It never panics and
// never returns NaN or ±Inf: problems are reported through Status/Message
// on the Result and on each Comparison.
func Analyze(variants []VariantData, opts Options) Result {
	res := Result{
		MetricType:  opts.MetricType,
		Direction:   opts.Direction,
		Confidence:  opts.Confidence,
		Control:     opts.Control,
		Status:      StatusOK,
		Variants:    []VariantSummary{},
		Comparisons: []Comparison{},
	}
	if res.Direction == "" {
		res.Direction = HigherIsBetter
	}
	if res.Confidence == 0 {
		res.Confidence = DefaultConfidence
	}
	if msg := validateOptions(res, variants); msg != "" {
		res.Status, res.Message = StatusInvalidData, msg
		return res
	}

	control := 0
	if opts.Control != "" {
		for i, v := range variants {
			if v.Variant == opts.Control {
				control = i
			}
		}
	} else if len(variants) > 0 {
		res.Control = variants[0].Variant
	}

	mom := make([]moments, len(variants))
	withUsers := 0
	for i, v := range variants {
		mom[i] = computeMoments(v, opts.MetricType)
		res.Variants = append(res.Variants, mom[i].summary(v))
		if v.Users > 0 {
			withUsers++
		}
	}
	if opts.WeightsBP != nil {
		observed := make([]int64, len(variants))
		for i, v := range variants {
			observed[i] = v.Users
		}
		srm := SampleRatioMismatch(observed, opts.WeightsBP)
		res.SRM = &srm
	}

	oneArm := withUsers < 2
	if oneArm {
		res.Status = StatusOneArm
		if len(variants) == 0 {
			res.Message = "no variant has any users yet"
		} else {
			res.Message = "fewer than two variants have users, so there is nothing to compare"
		}
	}
	for i, v := range variants {
		if i == control {
			continue
		}
		var c Comparison
		if oneArm {
			c = Comparison{
				Variant: v.Variant, Control: res.Control, Test: testFor(opts.MetricType),
				Status: StatusOneArm, Message: res.Message, Verdict: Inconclusive,
			}
			c.Summary = c.Message
		} else {
			c = compare(variants[control], mom[control], v, mom[i], opts.MetricType, res.Direction, res.Confidence)
		}
		if res.Status == StatusOK && c.Status != StatusOK {
			res.Status, res.Message = c.Status, fmt.Sprintf("%s vs %s: %s", v.Variant, res.Control, c.Message)
		}
		res.Comparisons = append(res.Comparisons, c)
	}
	return res
}

func validateOptions(res Result, variants []VariantData) string {
	if !res.MetricType.Valid() {
		return fmt.Sprintf("unknown metric type %q", res.MetricType)
	}
	if res.Direction != HigherIsBetter && res.Direction != LowerIsBetter {
		return fmt.Sprintf("unknown direction %q (want higher or lower)", res.Direction)
	}
	if !(res.Confidence > 0 && res.Confidence < 1) {
		return fmt.Sprintf("confidence must be between 0 and 1, got %v", res.Confidence)
	}
	seen := make(map[string]bool, len(variants))
	for _, v := range variants {
		if seen[v.Variant] {
			return fmt.Sprintf("variant %q appears twice", v.Variant)
		}
		seen[v.Variant] = true
		if msg := validateVariant(v, res.MetricType); msg != "" {
			return fmt.Sprintf("variant %q: %s", v.Variant, msg)
		}
	}
	if res.Control != "" && !seen[res.Control] {
		return fmt.Sprintf("control variant %q is not among the variants", res.Control)
	}
	return ""
}

func validateVariant(v VariantData, t MetricType) string {
	switch {
	case v.Users < 0:
		return "negative number of users"
	case !finite(v.Sum) || !finite(v.SumSquares):
		return "sum or sum of squares is not a finite number"
	case v.SumSquares < 0:
		return "negative sum of squares"
	case v.Users == 0 && (v.Sum != 0 || v.SumSquares != 0):
		return "non-zero sums with zero users"
	}
	if t == Binomial && (v.Sum < 0 || v.Sum > float64(v.Users)) {
		return fmt.Sprintf("%v conversions for %d users", v.Sum, v.Users)
	}
	return ""
}

// moments are the per-variant quantities the tests need.
type moments struct {
	n        float64
	mean     float64
	variance float64 // sample variance (continuous) or p(1-p) (binomial)
	hasMean  bool
	hasVar   bool
}

// computeMoments derives mean and variance from the sufficient statistics.
// Continuous: s² = (Σx² − n·x̄²)/(n−1), the unbiased sample variance
// (Bessel's correction), written as (Σx² − Σx·x̄)/(n−1) and clamped at 0
// because cancellation can make it slightly negative (or leave rounding
// noise where all values are equal). Binomial: p(1−p),
// divisor n (the Bernoulli MLE, as used by the Wald interval and GrowthBook).
func computeMoments(v VariantData, t MetricType) moments {
	m := moments{n: float64(v.Users)}
	if v.Users == 0 {
		return m
	}
	m.mean, m.hasMean = v.Sum/m.n, true
	switch {
	case t == Binomial:
		m.variance, m.hasVar = m.mean*(1-m.mean), true
	case v.Users >= 2:
		m.variance, m.hasVar = (v.SumSquares-v.Sum*m.mean)/(m.n-1), true
	}
	// Cancellation in Σx² − Σx·x̄ leaves noise of the order of machine
	// epsilon times Σx² (more after summing many values in the database);
	// below 1e-11·Σx² the variance is indistinguishable from 0.
	if m.variance < 0 || !finite(m.variance) || m.variance*(m.n-1) <= 1e-11*v.SumSquares {
		m.variance = 0
	}
	return m
}

func (m moments) summary(v VariantData) VariantSummary {
	s := VariantSummary{Variant: v.Variant, Users: v.Users}
	if m.hasMean {
		s.Mean = finitePtr(m.mean)
	}
	if m.hasVar {
		s.Variance = finitePtr(m.variance)
		s.StdError = finitePtr(math.Sqrt(m.variance / m.n))
	}
	return s
}

func testFor(t MetricType) Test {
	if t == Binomial {
		return PearsonChi2
	}
	return WelchT
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// finitePtr returns &x, or nil when x is NaN or ±Inf.
func finitePtr(x float64) *float64 {
	if !finite(x) {
		return nil
	}
	return &x
}

func finiteInterval(lo, hi float64) *Interval {
	if !finite(lo) || !finite(hi) {
		return nil
	}
	return &Interval{Low: lo, High: hi}
}
