package stats

import "fmt"

// MetricType is the kind of per-user value a metric produces.
type MetricType string

// Metric types. Binomial values are 0/1 (converted or not); the others are
// continuous (non-negative in practice, but nothing here assumes it).
const (
	Binomial MetricType = "binomial"
	Count    MetricType = "count"
	Duration MetricType = "duration"
	Revenue  MetricType = "revenue"
)

// Valid reports whether t is one of the known metric types.
func (t MetricType) Valid() bool {
	switch t {
	case Binomial, Count, Duration, Revenue:
		return true
	}
	return false
}

// ParseMetricType converts a stored name to a MetricType.
func ParseMetricType(s string) (MetricType, error) {
	t := MetricType(s)
	if !t.Valid() {
		return "", fmt.Errorf("stats: unknown metric type %q (want binomial, count, duration or revenue)", s)
	}
	return t, nil
}

// Direction says whether a higher or a lower metric value is better.
type Direction string

// Directions. The zero value is treated as HigherIsBetter.
const (
	HigherIsBetter Direction = "higher"
	LowerIsBetter  Direction = "lower"
)

// Status says whether a result could be computed and, if not, why.
type Status string

// Statuses. Anything but StatusOK comes with a Message in plain words.
const (
	StatusOK Status = "ok"
	// StatusInsufficientData: an arm has fewer than 2 users.
	StatusInsufficientData Status = "insufficient_data"
	// StatusOneArm: fewer than two variants have any users.
	StatusOneArm Status = "one_arm"
	// StatusZeroVariance: both arms have zero variance, so no test is possible.
	StatusZeroVariance Status = "zero_variance"
	// StatusZeroControlMean: the control mean is 0, so the relative effect is
	// undefined; the absolute effect and the test are still reported.
	StatusZeroControlMean Status = "zero_control_mean"
	// StatusZeroDenominator: a ratio metric's denominator sums to 0 in
	// a variant, so the ratio is undefined.
	StatusZeroDenominator Status = "zero_denominator"
	// StatusInvalidData: inputs are impossible (negative users, NaN sums,
	// more conversions than users, unknown control, ...).
	StatusInvalidData Status = "invalid_data"
)

// Verdict is the conclusion for one treatment against control.
type Verdict string

// Verdicts. Inconclusive also covers results that could not be computed.
const (
	Better       Verdict = "better"
	Worse        Verdict = "worse"
	Inconclusive Verdict = "inconclusive"
	// NotTrustworthy replaces every verdict while the experiment's
	// sample-ratio check fails (set by the refresh, package analysis):
	// WithheldVerdict keeps what the test said.
	NotTrustworthy Verdict = "not_trustworthy"
)

// VariantData is the input for one variant: sufficient statistics over the
// per-user values of the users analysed in it.
type VariantData struct {
	Variant    string  `json:"variant"`
	Users      int64   `json:"users"`
	Sum        float64 `json:"sum"`
	SumSquares float64 `json:"sum_squares"`
	// Pre, for CUPED, holds the sums of the same metric over each user's
	// pre-exposure window (y) and the cross-product Σxy with the analysed
	// value x. Used when Options.CUPED is set.
	Pre *PairedSums `json:"pre,omitempty"`
	// Denominator, for a ratio metric, holds the sums of the per-user
	// denominator d and the cross-product Σxd with the numerator x (Sum,
	// SumSquares). Required when Options.Ratio is set.
	Denominator *PairedSums `json:"denominator,omitempty"`
}

// PairedSums are the sufficient statistics of a second per-user value y
// measured on the same users as the analysed value x: Σy, Σy², Σxy.
type PairedSums struct {
	Sum         float64 `json:"sum"`
	SumSquares  float64 `json:"sum_squares"`
	SumProducts float64 `json:"sum_products"`
}

// Interval is a two-sided confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Options configures Analyze. The zero value is usable for a
// higher-is-better continuous metric at 95% confidence with the first
// variant as control, except that MetricType must be set.
type Options struct {
	MetricType MetricType `json:"metric_type"`
	Direction  Direction  `json:"direction,omitempty"`
	// Confidence level in (0, 1); 0 means 0.95.
	Confidence float64 `json:"confidence,omitempty"`
	// Control names the control variant; "" means the first variant.
	Control string `json:"control,omitempty"`
	// WeightsBP, when non-nil, are the intended traffic weights in basis
	// points, one per variant in the same order; Analyze then includes a
	// sample-ratio-mismatch check.
	WeightsBP []int `json:"weights_bp,omitempty"`
	// Sequential, when non-nil, adds the always-valid sequential analysis
	// and makes it the headline (verdict, p-value, intervals).
	Sequential *SequentialOptions `json:"sequential,omitempty"`
	// Bayesian, when non-nil, adds the Bayesian view with this prior.
	Bayesian *Prior `json:"bayesian,omitempty"`
	// CUPED uses VariantData.Pre as the covariate (Deng et al. 2013).
	CUPED bool `json:"cuped,omitempty"`
	// Ratio analyses Σx/Σd per variant (VariantData.Denominator) by the
	// delta method.
	Ratio bool `json:"ratio,omitempty"`
}

// DefaultSequentialTuning is gbstats' default N* (the sample size at
// which the confidence sequence is tightest).
const DefaultSequentialTuning = 5000

// SequentialOptions tune the confidence sequence.
type SequentialOptions struct {
	// TuningParameter is N*, the total sample size (both arms) at which
	// the interval is narrowest; 0 means DefaultSequentialTuning.
	TuningParameter float64 `json:"tuning_parameter,omitempty"`
}

// Prior is a Gaussian prior on the relative effect. Proper false is the
// flat (improper) prior, gbstats' default; Mean and StdDev are then
// ignored.
type Prior struct {
	Proper bool    `json:"proper"`
	Mean   float64 `json:"mean"`
	StdDev float64 `json:"std_dev"`
}

// VariantSummary describes one variant in a Result. Mean and Variance are
// nil when the variant has no users (Variance also when it has one user
// and the metric is continuous).
type VariantSummary struct {
	Variant  string   `json:"variant"`
	Users    int64    `json:"users"`
	Mean     *float64 `json:"mean,omitempty"`
	Variance *float64 `json:"variance,omitempty"`
	// StdError is the standard error of the mean, √(variance/n).
	StdError *float64 `json:"std_error,omitempty"`
	// For ratio metrics, Mean is Σx/Σd and Variance the delta-method
	// per-user variance of the ratio; DenominatorMean is Σd/n.
	DenominatorMean *float64 `json:"denominator_mean,omitempty"`
	// For CUPED, the pre-exposure mean of the covariate.
	PreMean *float64 `json:"pre_mean,omitempty"`
}

// Test names the hypothesis test used for a comparison.
type Test string

// Tests.
const (
	WelchT      Test = "welch_t"
	PearsonChi2 Test = "pearson_chi2"
)

// Estimate is one effect with its standard error, interval and test.
type Estimate struct {
	Effect   float64   `json:"effect"`
	StdError float64   `json:"std_error"`
	CI       *Interval `json:"ci,omitempty"`
	// Statistic is (effect − 0)/std_error; DF the Welch–Satterthwaite
	// degrees of freedom (fixed-horizon only).
	Statistic *float64 `json:"statistic,omitempty"`
	DF        *float64 `json:"df,omitempty"`
	PValue    *float64 `json:"p_value,omitempty"`
}

// SequentialResult is the always-valid analysis.
type SequentialResult struct {
	TuningParameter float64   `json:"tuning_parameter"`
	Relative        *Estimate `json:"relative,omitempty"`
	Absolute        *Estimate `json:"absolute,omitempty"`
}

// BayesianResult is the Bayesian view of the relative effect.
type BayesianResult struct {
	Prior Prior `json:"prior"`
	// Expected and StdDev of the posterior of the relative effect.
	Expected float64 `json:"expected"`
	StdDev   float64 `json:"std_dev"`
	// ChanceToWin is P(treatment is better than control) given the
	// metric's direction.
	ChanceToWin float64  `json:"chance_to_win"`
	CI          Interval `json:"ci"`
	// RiskControl and RiskTreatment are the expected relative loss of
	// shipping control (resp. the treatment) if the other is better.
	RiskControl   float64 `json:"risk_control"`
	RiskTreatment float64 `json:"risk_treatment"`
}

// ChiSquaredResult is the secondary test for binomial metrics.
type ChiSquaredResult struct {
	Statistic float64 `json:"statistic"`
	PValue    float64 `json:"p_value"`
	// MinExpected is the smallest expected cell count of the 2×2 table;
	// below 5 FisherPValue is given and SmallSample is set.
	MinExpected  float64  `json:"min_expected"`
	FisherPValue *float64 `json:"fisher_p_value,omitempty"`
	SmallSample  bool     `json:"small_sample"`
}

// CUPEDResult describes the variance reduction.
type CUPEDResult struct {
	// Theta is pooled across the two arms compared (gbstats compute_theta).
	Theta float64 `json:"theta"`
	// VarianceReduction is 1 − Var(adjusted effect)/Var(unadjusted effect)
	// for the relative effect.
	VarianceReduction float64 `json:"variance_reduction"`
	Applied           bool    `json:"applied"`
	Message           string  `json:"message,omitempty"`
}

// Comparison is one treatment against control. Fields that do not apply
// to the Status are nil (omitted from JSON); Verdict and Summary are
// always set.
type Comparison struct {
	Variant string  `json:"variant"`
	Control string  `json:"control"`
	Status  Status  `json:"status"`
	Message string  `json:"message,omitempty"`
	Test    Test    `json:"test"`
	Verdict Verdict `json:"verdict"`
	// WithheldVerdict is the test's verdict when Verdict is NotTrustworthy.
	WithheldVerdict Verdict `json:"withheld_verdict,omitempty"`
	// Summary is a plain-words sentence describing the result.
	Summary string `json:"summary"`

	// AbsoluteEffect is mean_t − mean_c.
	AbsoluteEffect *float64  `json:"absolute_effect,omitempty"`
	AbsoluteCI     *Interval `json:"absolute_ci,omitempty"`
	// RelativeEffect is mean_t/mean_c − 1 (lift); nil when mean_c is 0.
	RelativeEffect *float64  `json:"relative_effect,omitempty"`
	RelativeCI     *Interval `json:"relative_ci,omitempty"`
	// Statistic is Welch's t or Pearson's χ².
	Statistic *float64 `json:"statistic,omitempty"`
	// DF is the Welch–Satterthwaite degrees of freedom (t-test) or 1 (χ²).
	DF *float64 `json:"df,omitempty"`
	// PValue is two-sided.
	PValue *float64 `json:"p_value,omitempty"`
	// Significant is PValue < 1 − confidence.
	Significant bool `json:"significant"`

	// Method is "fixed" or "sequential": which analysis the headline
	// fields above (effects, intervals, p-value, verdict) come from.
	Method Method `json:"method"`
	// Relative (the headline) and Absolute fixed-horizon analyses, each
	// with its own p-value and interval (gbstats conventions).
	Relative *Estimate `json:"relative,omitempty"`
	Absolute *Estimate `json:"absolute,omitempty"`
	// AbsolutePValue is the headline method's p-value for the absolute
	// difference.
	AbsolutePValue *float64          `json:"absolute_p_value,omitempty"`
	Sequential     *SequentialResult `json:"sequential,omitempty"`
	Bayesian       *BayesianResult   `json:"bayesian,omitempty"`
	ChiSquared     *ChiSquaredResult `json:"chi_squared,omitempty"`
	CUPED          *CUPEDResult      `json:"cuped,omitempty"`
	// Warnings are plain-words caveats (small sample, CUPED not applied).
	Warnings []string `json:"warnings,omitempty"`
}

// Method names the headline analysis.
type Method string

// Methods.
const (
	Fixed      Method = "fixed"
	Sequential Method = "sequential"
)

// Result is the analysis of one metric across all variants.
type Result struct {
	MetricType MetricType `json:"metric_type"`
	Direction  Direction  `json:"direction"`
	Confidence float64    `json:"confidence"`
	Control    string     `json:"control"`
	// Status is StatusOK when every comparison is OK; otherwise the status
	// of the first comparison that is not (or StatusOneArm/StatusInvalidData
	// for the whole analysis), with its Message.
	Status      Status           `json:"status"`
	Message     string           `json:"message,omitempty"`
	Variants    []VariantSummary `json:"variants"`
	Comparisons []Comparison     `json:"comparisons"`
	// SRM is present when Options.WeightsBP was given.
	SRM *SRMResult `json:"srm,omitempty"`
}

func ptr(v float64) *float64 { return &v }
