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
)

// VariantData is the input for one variant: sufficient statistics over the
// per-user values of the users analysed in it.
type VariantData struct {
	Variant    string  `json:"variant"`
	Users      int64   `json:"users"`
	Sum        float64 `json:"sum"`
	SumSquares float64 `json:"sum_squares"`
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
}

// Test names the hypothesis test used for a comparison.
type Test string

// Tests.
const (
	WelchT      Test = "welch_t"
	PearsonChi2 Test = "pearson_chi2"
)

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
}

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
