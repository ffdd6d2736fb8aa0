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
	if msg := validateOptions(res, variants, opts); msg != "" {
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
		mom[i] = computeMoments(v, opts)
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
			c = compare(variants[control], mom[control], v, mom[i], opts, res.Direction, res.Confidence)
		}
		if res.Status == StatusOK && c.Status != StatusOK {
			res.Status, res.Message = c.Status, fmt.Sprintf("%s vs %s: %s", v.Variant, res.Control, c.Message)
		}
		res.Comparisons = append(res.Comparisons, c)
	}
	return res
}

func validateOptions(res Result, variants []VariantData, opts Options) string {
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
		if msg := validateVariant(v, res.MetricType, opts); msg != "" {
			return fmt.Sprintf("variant %q: %s", v.Variant, msg)
		}
	}
	if s := opts.Sequential; s != nil && (!(s.TuningParameter >= 0) || math.IsInf(s.TuningParameter, 0)) {
		return fmt.Sprintf("sequential tuning parameter must be a positive number of users, got %v", s.TuningParameter)
	}
	if p := opts.Bayesian; p != nil && p.Proper && (!(p.StdDev > 0) || !finite(p.StdDev) || !finite(p.Mean)) {
		return "a proper prior needs a finite mean and a positive standard deviation"
	}
	if res.Control != "" && !seen[res.Control] {
		return fmt.Sprintf("control variant %q is not among the variants", res.Control)
	}
	return ""
}

func validateVariant(v VariantData, t MetricType, opts Options) string {
	for _, p := range []*PairedSums{v.Pre, v.Denominator} {
		if p != nil && (!finite(p.Sum) || !finite(p.SumSquares) || !finite(p.SumProducts)) {
			return "a covariate or denominator sum is not a finite number (NaN or Inf in the events?)"
		}
		if p != nil && p.SumSquares < 0 {
			return "negative sum of squares"
		}
	}
	if opts.Ratio && v.Denominator == nil {
		return "a ratio metric needs denominator sums"
	}
	switch {
	case v.Users < 0:
		return "negative number of users"
	case !finite(v.Sum) || !finite(v.SumSquares):
		return "sum or sum of squares is not a finite number (NaN or Inf in the events?)"
	case v.SumSquares < 0:
		return "negative sum of squares"
	case v.Users == 0 && (v.Sum != 0 || v.SumSquares != 0):
		return "non-zero sums with zero users"
	}
	if t == Binomial && !opts.Ratio && (v.Sum < 0 || v.Sum > float64(v.Users)) {
		return fmt.Sprintf("%v conversions for %d users", v.Sum, v.Users)
	}
	return ""
}

// moments are the per-variant quantities the tests need (gbstats
// models/statistics.py: SampleMeanStatistic, ProportionStatistic,
// RatioStatistic, RegressionAdjustedStatistic).
type moments struct {
	n        float64
	mean     float64 // unadjusted mean (ratio: Σx/Σd)
	variance float64 // per-user variance (ratio: delta method)
	hasMean  bool
	hasVar   bool

	// The raw sums, for pooling θ across arms.
	sum, sumSquares float64
	// CUPED covariate.
	pre                   bool
	preSum, preSumSquares float64
	sumProducts           float64
	preMean, preVar, cov  float64
	// Ratio denominator mean Σd/n.
	denMean float64
}

// sampleVariance is gbstats' per-user variance from sufficient
// statistics: p(1−p) for a proportion (divisor n, the Bernoulli MLE), else
// the unbiased sample variance s² = (Σx² − (Σx)²/n)/(n−1) (Bessel's
// correction), 0 for n ≤ 1. Cancellation in Σx² − (Σx)²/n leaves noise
// of the order of machine epsilon times Σx² (more after summing many
// values in the database); below 1e-11·Σx² the variance is
// indistinguishable from 0 and is clamped there, as are negatives.
func sampleVariance(n, sum, sumSquares float64, proportion bool) float64 {
	var v float64
	switch {
	case n == 0:
		return 0
	case proportion:
		p := sum / n
		v = p * (1 - p)
	case n <= 1:
		return 0
	default:
		v = (sumSquares - sum*sum/n) / (n - 1)
		if v*(n-1) <= 1e-11*sumSquares {
			v = 0
		}
	}
	if v < 0 || !finite(v) {
		return 0
	}
	return v
}

// covariance is gbstats compute_covariance: Σxy/n − ΣxΣy/n² for two
// proportions, else the unbiased (Σxy − ΣxΣy/n)/(n−1); 0 for n ≤ 1.
func covariance(n, sx, sy, sxy float64, proportion bool) float64 {
	if n <= 1 {
		return 0
	}
	if proportion {
		return sxy/n - sx*sy/(n*n)
	}
	return (sxy - sx*sy/n) / (n - 1)
}

// computeMoments derives mean and variance from the sufficient statistics.
func computeMoments(v VariantData, opts Options) moments {
	prop := opts.MetricType == Binomial
	m := moments{n: float64(v.Users), sum: v.Sum, sumSquares: v.SumSquares}
	if v.Users == 0 {
		return m
	}
	m.mean, m.hasMean = v.Sum/m.n, true
	m.variance = sampleVariance(m.n, v.Sum, v.SumSquares, prop)
	m.hasVar = prop || v.Users >= 2
	if opts.Ratio && v.Denominator != nil {
		d := v.Denominator
		m.denMean = d.Sum / m.n
		if d.Sum == 0 {
			m.mean, m.variance, m.hasMean, m.hasVar = 0, 0, false, false
			return m
		}
		// gbstats RatioStatistic: mean Σx/Σd, per-user variance by the
		// delta method with Cov(x, d) (numerator and denominator are
		// not both proportions, so the unbiased covariance is used).
		vx := m.variance
		vd := sampleVariance(m.n, d.Sum, d.SumSquares, false)
		cxd := covariance(m.n, v.Sum, d.Sum, d.SumProducts, false)
		mx := m.mean
		m.mean = v.Sum / d.Sum
		m.variance = 0
		if m.n > 1 {
			m.variance = varianceOfRatios(mx, vx, m.denMean, vd, cxd)
			if m.variance < 0 || !finite(m.variance) {
				m.variance = 0
			}
		}
		return m
	}
	if opts.CUPED && v.Pre != nil {
		p := v.Pre
		m.pre = true
		m.preSum, m.preSumSquares, m.sumProducts = p.Sum, p.SumSquares, p.SumProducts
		m.preMean = p.Sum / m.n
		m.preVar = sampleVariance(m.n, p.Sum, p.SumSquares, prop)
		m.cov = covariance(m.n, v.Sum, p.Sum, p.SumProducts, prop)
	}
	return m
}

// adjusted is gbstats RegressionAdjustedStatistic with θ set: mean
// x̄ − θȳ and variance s_x² + θ²s_y² − 2θ·Cov(x, y) (Deng et al. 2013,
// eq. 4).
func (m moments) adjusted(theta float64) moments {
	a := m
	a.mean = m.mean - theta*m.preMean
	a.variance = 0
	if m.n > 1 {
		a.variance = m.variance + theta*theta*m.preVar - 2*theta*m.cov
		if a.variance < 0 || !finite(a.variance) {
			a.variance = 0
		}
	}
	return a
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
	if v.Denominator != nil && v.Users > 0 {
		s.DenominatorMean = finitePtr(m.denMean)
	}
	if m.pre {
		s.PreMean = finitePtr(m.preMean)
	}
	return s
}

func testFor(MetricType) Test { return WelchT }

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
