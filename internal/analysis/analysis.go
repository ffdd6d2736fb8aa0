// Package analysis computes an experiment's results: one metricsql
// statement per metric pushed down to the events database (run
// concurrently, each on its own connection), then package stats in Go:
// per-metric analysis with the sample-ratio-mismatch check against the
// intended weights, Holm–Bonferroni across every metric and comparison,
// and a power estimate with an expected end date. It also computes the
// daily exposure counts. It knows nothing of Waypost's own tables: the
// store builds a Plan, the worker stores the Outcome.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/waypost/waypost/internal/eventsdb"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/stats"
)

// Metric is one metric of a plan.
type Metric struct {
	Key                   string           `json:"key"`
	Name                  string           `json:"name"`
	Type                  stats.MetricType `json:"type"`
	SQL                   string           `json:"sql"`
	ConversionWindowHours *float64         `json:"conversion_window_hours,omitempty"`
	Direction             stats.Direction  `json:"direction"`
	Cap                   *metricsql.Cap   `json:"cap,omitempty"`
	// Denominator makes it a ratio metric.
	Denominator *metricsql.Denominator `json:"denominator,omitempty"`
	Guardrail   bool                   `json:"guardrail"`
	Primary     bool                   `json:"primary"`
}

// Settings choose the analyses of a plan (experiment_analysis_settings).
type Settings struct {
	Sequential       bool        `json:"sequential"`
	SequentialTuning float64     `json:"sequential_tuning"`
	CUPED            bool        `json:"cuped"`
	CUPEDWindowDays  float64     `json:"cuped_window_days"`
	Bayesian         bool        `json:"bayesian"`
	Prior            stats.Prior `json:"prior"`
	// Correction is "holm-bonferroni" (the default) or
	// "benjamini-hochberg": which adjusted p-value is the headline one
	// (both are computed).
	Correction string `json:"correction"`
	// Dimension, optional, is an exposures-query column to break every
	// metric down by.
	Dimension string `json:"dimension,omitempty"`
	// Confidence of every interval and test; 0 means 0.95 (safe rollouts
	// test each guardrail at a Bonferroni-corrected level).
	Confidence float64 `json:"confidence,omitempty"`
}

// DimensionResult is one dimension value's analysis of a metric.
type DimensionResult struct {
	Value         string       `json:"value"`
	ExcludedUsers int64        `json:"excluded_users"`
	Result        stats.Result `json:"result"`
}

// options are stats.Analyze's options for metric m. They carry no weights:
// the sample-ratio check is the refresh's, from the exposures statement
// (Analyze), so no metric result has an SRM of its own to disagree with it.
func (s Settings) options(m Metric, control string) stats.Options {
	o := stats.Options{MetricType: m.Type, Direction: m.Direction, Control: control,
		CUPED: s.CUPED && m.Denominator == nil, Ratio: m.Denominator != nil, Confidence: s.Confidence}
	if s.Sequential {
		o.Sequential = &stats.SequentialOptions{TuningParameter: s.SequentialTuning}
	}
	if s.Bayesian {
		p := s.Prior
		o.Bayesian = &p
	}
	return o
}

// Plan is everything a refresh needs; it is stored with the refresh as its
// inputs.
type Plan struct {
	ExperimentID  int64  `json:"experiment_id"`
	ExperimentKey string `json:"experiment_key"`
	// Phase is the experiment phase analysed (0: none yet); StartedAt and
	// StoppedAt are that phase's start and end.
	Phase int `json:"phase,omitempty"`
	// Window says what was analysed: "phase" (the current or a chosen
	// phase) or "explicit" (a start and end given for the refresh).
	Window string `json:"window,omitempty"`
	// Preview is set for a draft: historic data analysed before the
	// experiment ever ran (nobody was assigned by it).
	Preview   bool       `json:"preview,omitempty"`
	StartedAt *time.Time `json:"started_at"`
	StoppedAt *time.Time `json:"stopped_at"`
	// Variants in flag order with their intended weights (basis points);
	// the first variant with a positive weight is the control.
	Variants          []string  `json:"variants"`
	WeightsBP         []int     `json:"weights_bp"`
	MDE               *float64  `json:"minimum_detectable_effect,omitempty"`
	PlannedSampleSize *int64    `json:"planned_sample_size,omitempty"`
	Connection        string    `json:"connection"`
	ExposuresSQL      string    `json:"exposures_sql"`
	StatementTimeout  string    `json:"statement_timeout"`
	AnalysisEnd       time.Time `json:"analysis_end"`
	Metrics           []Metric  `json:"metrics"`
	Settings          Settings  `json:"settings"`
	timeout           time.Duration
	progress          func(done, total int)
}

// SetProgress makes Run call fn after each metric statement finishes,
// with the number of metrics done and their total (from any goroutine,
// one call at a time).
func (p *Plan) SetProgress(fn func(done, total int)) { p.progress = fn }

// SetTimeout sets the statement timeout of every query of the plan.
func (p *Plan) SetTimeout(d time.Duration) {
	p.timeout = d
	p.StatementTimeout = d.String()
}

// Control is the control variant.
func (p Plan) Control() string {
	for i, w := range p.WeightsBP {
		if w > 0 {
			return p.Variants[i]
		}
	}
	if len(p.Variants) > 0 {
		return p.Variants[0]
	}
	return ""
}

// Statement is one metric's SQL as run, for the history.
type Statement struct {
	Metric     string  `json:"metric"`
	SQL        string  `json:"sql"`
	Args       []any   `json:"args"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
}

// MetricResult is one metric's analysis.
type MetricResult struct {
	Key           string       `json:"key"`
	Name          string       `json:"name"`
	Primary       bool         `json:"primary"`
	Guardrail     bool         `json:"guardrail"`
	ExcludedUsers int64        `json:"excluded_users"`
	Result        stats.Result `json:"result"`
	// AdjustedPValues are adjusted with the plan's correction (Holm–
	// Bonferroni by default) across every comparison of every metric of
	// the refresh, by treatment variant.
	AdjustedPValues map[string]float64 `json:"adjusted_p_values"`
	// Adjusted holds both corrections with their adjusted relative
	// intervals (GrowthBook's adjustedCI), by treatment variant.
	Adjusted map[string]Adjusted `json:"adjusted"`
	// Dimensions is the breakdown by Settings.Dimension (most common
	// values first, "(other)" and "(none)" included).
	Dimensions []DimensionResult `json:"dimensions,omitempty"`
	// Error is set when the metric could not be analysed (NaN or Inf in
	// the events, a ratio without denominator, ...): the other metrics
	// are still reported.
	Error string `json:"error,omitempty"`
}

// Adjusted are one comparison's multiple-testing adjusted figures. A nil
// interval is unbounded (adjusted p-value 1).
type Adjusted struct {
	HolmPValue float64         `json:"holm_p_value"`
	HolmCI     *stats.Interval `json:"holm_ci"`
	BHPValue   float64         `json:"bh_p_value"`
	BHCI       *stats.Interval `json:"bh_ci"`
}

// Power is the power estimate of the first primary metric.
type Power struct {
	Metric string   `json:"metric"`
	MDE    *float64 `json:"minimum_detectable_effect,omitempty"`
	// SampleSize is from the planned MDE and the observed variance, or
	// the planned sample size when no MDE is set.
	SampleSize stats.SampleSize `json:"sample_size"`
	// UsersPerDay is the rate of new users per variant (smallest variant).
	UsersPerDay *float64   `json:"users_per_day,omitempty"`
	ExpectedEnd *time.Time `json:"expected_end,omitempty"`
	Message     string     `json:"message,omitempty"`
}

// Results is the stored results document.
type Results struct {
	AnalysisEnd   time.Time        `json:"analysis_end"`
	Control       string           `json:"control"`
	Users         map[string]int64 `json:"users"`
	ExcludedUsers int64            `json:"excluded_users"`
	SRM           *stats.SRMResult `json:"srm,omitempty"`
	// VerdictsWithheld, set while the sample-ratio check fails, says why
	// every comparison's verdict is "not_trustworthy" (the verdict it
	// would have had is kept as withheld_verdict).
	VerdictsWithheld string            `json:"verdicts_withheld,omitempty"`
	Metrics          []MetricResult    `json:"metrics"`
	Power            *Power            `json:"power,omitempty"`
	Correction       string            `json:"multiple_comparisons"`
	Warnings         []string          `json:"warnings"`
	ComputedIn       map[string]string `json:"computed_in"`
}

// Error codes of a failed refresh.
const (
	CodeTimeout     = "timeout"
	CodeUnreachable = "unreachable"
	CodeQuery       = "query_error"
	CodeConfig      = "configuration"
	CodeInternal    = "internal"
)

// Failure is a refresh that could not complete.
type Failure struct {
	Code    string
	Message string
	Err     error
}

func (f *Failure) Error() string { return f.Message }
func (f *Failure) Unwrap() error { return f.Err }

// classify turns an events-database error into a Failure with a clear
// message.
func classify(metric string, err error, timeout time.Duration) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	switch {
	case errors.Is(err, metricsql.ErrStatementTimeout):
		return &Failure{Code: CodeTimeout, Err: err, Message: fmt.Sprintf("metric %s: the query ran longer than the connection's %s statement timeout; the previous results are kept", metric, timeout)}
	case eventsdb.Unreachable(err):
		return &Failure{Code: CodeUnreachable, Err: err, Message: fmt.Sprintf("cannot reach the events database: %v", err)}
	}
	if msg, ok := metricsql.DatabaseMessage(err); ok {
		return &Failure{Code: CodeQuery, Err: err, Message: fmt.Sprintf("metric %s: the events database refused the query: %s", metric, msg)}
	}
	if errors.Is(err, metricsql.ErrInvalidQuery) {
		return &Failure{Code: CodeConfig, Err: err, Message: fmt.Sprintf("metric %s: %v", metric, err)}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Failure{Code: CodeTimeout, Err: err, Message: fmt.Sprintf("metric %s: cancelled: %v", metric, err)}
	}
	return &Failure{Code: CodeInternal, Err: err, Message: fmt.Sprintf("metric %s: %v", metric, err)}
}

// Run computes the results of plan on db (a pool: each metric statement
// runs concurrently on its own connection, and so does the one exposures
// statement that gives the users per variant and the sample-ratio check).
// Statements are returned even on failure, the exposures statement first.
// usersPerDay is the observed rate of new users per variant (0 = unknown)
// for the expected end date.
func Run(ctx context.Context, db metricsql.DB, plan Plan, usersPerDay float64, now time.Time) (*Results, []Statement, error) {
	if len(plan.Metrics) == 0 {
		return nil, nil, &Failure{Code: CodeConfig, Message: "the experiment has no metrics"}
	}
	specs := make([]metricsql.Spec, len(plan.Metrics))
	stmts := make([]Statement, len(plan.Metrics)+1)
	exposedSpec := metricsql.Spec{ExposuresSQL: plan.ExposuresSQL, ExperimentKey: plan.ExperimentKey, AnalysisEnd: plan.AnalysisEnd}
	if plan.StartedAt != nil {
		exposedSpec.AnalysisStart = *plan.StartedAt
	}
	sql, args, err := metricsql.BuildExposed(db.Dialect(), exposedSpec)
	if err != nil {
		return nil, nil, &Failure{Code: CodeConfig, Err: err, Message: fmt.Sprintf("exposures: %v", err)}
	}
	stmts[0] = Statement{Metric: ExposuresStatement, SQL: sql, Args: args}
	for i, m := range plan.Metrics {
		specs[i] = metricsql.Spec{ExposuresSQL: plan.ExposuresSQL, MetricSQL: m.SQL, MetricType: m.Type,
			ExperimentKey: plan.ExperimentKey, AnalysisEnd: plan.AnalysisEnd, ConversionWindowHours: m.ConversionWindowHours, Cap: m.Cap,
			Denominator: m.Denominator}
		specs[i].Dimension = plan.Settings.Dimension
		if plan.Settings.CUPED && m.Denominator == nil {
			specs[i].CUPEDWindowDays = plan.Settings.CUPEDWindowDays
		}
		specs[i].AnalysisStart = exposedSpec.AnalysisStart
		sql, args, err := metricsql.BuildOn(db.Dialect(), specs[i])
		if err != nil {
			return nil, nil, &Failure{Code: CodeConfig, Err: err, Message: fmt.Sprintf("metric %s: %v", m.Key, err)}
		}
		stmts[i+1] = Statement{Metric: m.Key, SQL: sql, Args: args}
	}

	counts := make([]metricsql.Counts, len(specs))
	errsOut := make([]error, len(specs))
	var exposed metricsql.Exposed
	var exposedErr error
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.Now()
		exposed, _, _, exposedErr = metricsql.RunExposed(ctx, db, exposedSpec, plan.timeout)
		stmts[0].DurationMS = float64(time.Since(t).Microseconds()) / 1000
		if exposedErr != nil {
			stmts[0].Error = exposedErr.Error()
		}
	}()
	for i := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			counts[i], errsOut[i] = metricsql.Run(ctx, db, specs[i], plan.timeout)
			stmts[i+1].DurationMS = float64(time.Since(t).Microseconds()) / 1000
			if errsOut[i] != nil {
				stmts[i+1].Error = errsOut[i].Error()
			}
			if plan.progress != nil {
				mu.Lock()
				done++
				plan.progress(done, len(specs))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if exposedErr != nil {
		return nil, stmts, classify("exposures", exposedErr, plan.timeout)
	}
	for i, err := range errsOut {
		if err != nil {
			return nil, stmts, classify(plan.Metrics[i].Key, err, plan.timeout)
		}
	}
	return Analyze(plan, exposed, counts, usersPerDay, now), stmts, nil
}

// ExposuresStatement is the Statement.Metric of the exposures statement.
const ExposuresStatement = "(exposures)"

// Analyze turns the exposures and per-metric counts into the results
// document. The users per variant, the excluded users and the
// sample-ratio check come from exposed only (one statement for the whole
// refresh), whatever each metric's statement saw. While the check fails,
// every verdict is withheld as not trustworthy.
func Analyze(plan Plan, exposed metricsql.Exposed, counts []metricsql.Counts, usersPerDay float64, now time.Time) *Results {
	control := plan.Control()
	correction := plan.Settings.Correction
	if correction == "" {
		correction = "holm-bonferroni"
	}
	res := &Results{AnalysisEnd: plan.AnalysisEnd, Control: control, Users: map[string]int64{},
		Correction: correction + " across all metrics and comparisons", Warnings: []string{}, ComputedIn: map[string]string{}}
	type ref struct{ metric, comparison int }
	var pvals []float64
	var refs []ref
	for i, m := range plan.Metrics {
		r := stats.Analyze(counts[i].Ordered(plan.Variants), plan.Settings.options(m, control))
		mr := MetricResult{Key: m.Key, Name: m.Name, Primary: m.Primary, Guardrail: m.Guardrail,
			ExcludedUsers: counts[i].ExcludedUsers, Result: r, AdjustedPValues: map[string]float64{}, Adjusted: map[string]Adjusted{}}
		for _, d := range counts[i].Dimensions {
			dv := metricsql.Counts{Variants: d.Variants}.Ordered(plan.Variants)
			mr.Dimensions = append(mr.Dimensions, DimensionResult{Value: d.Value, ExcludedUsers: d.ExcludedUsers,
				Result: stats.Analyze(dv, plan.Settings.options(m, control))})
		}
		if i == 0 && plan.Settings.Dimension != "" {
			n := counts[i].DimensionValues
			res.Warnings = append(res.Warnings, fmt.Sprintf("breakdown by %s: %d values; per-value results are exploratory and not corrected for the many comparisons, so some will look significant by chance", plan.Settings.Dimension, n))
			if n > int64(metricsql.DefaultMaxDimensionValues) {
				res.Warnings = append(res.Warnings, fmt.Sprintf("breakdown by %s: only the %d most common of %d values are shown; the others are grouped as %s", plan.Settings.Dimension, metricsql.DefaultMaxDimensionValues, n, metricsql.OtherDimension))
			}
		}
		if r.Status == stats.StatusInvalidData || r.Status == stats.StatusZeroDenominator {
			mr.Error = r.Message
			res.Warnings = append(res.Warnings, fmt.Sprintf("metric %s: %s", m.Key, r.Message))
		}
		for j, c := range r.Comparisons {
			if c.PValue != nil {
				pvals = append(pvals, *c.PValue)
				refs = append(refs, ref{i, j})
			}
		}
		res.Metrics = append(res.Metrics, mr)
	}
	res.ExcludedUsers = exposed.ExcludedUsers
	observed := make([]int64, 0, len(plan.Variants))
	known := map[string]bool{}
	for _, v := range plan.Variants {
		known[v] = true
		res.Users[v] = exposed.Users[v]
		observed = append(observed, exposed.Users[v])
	}
	unknown := false
	for v, n := range exposed.Users {
		if !known[v] {
			res.Users[v] = n
			unknown = true
		}
	}
	if unknown {
		res.Warnings = append(res.Warnings, "exposures name variants the flag does not have; the sample-ratio check is skipped")
	} else if len(plan.WeightsBP) == len(observed) {
		srm := stats.SampleRatioMismatch(observed, plan.WeightsBP)
		res.SRM = &srm
		if srm.Mismatch {
			res.Warnings = append(res.Warnings, "sample ratio mismatch: the users per variant do not match the intended weights (p < 0.001); the results may be biased")
			res.VerdictsWithheld = "sample ratio mismatch: the users per variant do not match the intended weights, so no verdict can be trusted until the cause is fixed"
			for i := range res.Metrics {
				withhold(&res.Metrics[i].Result)
				for j := range res.Metrics[i].Dimensions {
					withhold(&res.Metrics[i].Dimensions[j].Result)
				}
			}
		}
	}
	if exposed.ExcludedUsers > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d users were exposed to more than one variant and are excluded", exposed.ExcludedUsers))
	}
	holm, bh := stats.HolmBonferroni(pvals), stats.BenjaminiHochberg(pvals)
	alpha := 1 - stats.DefaultConfidence
	for k, rf := range refs {
		c := res.Metrics[rf.metric].Result.Comparisons[rf.comparison]
		a := Adjusted{HolmPValue: holm[k], BHPValue: bh[k]}
		if c.RelativeCI != nil && c.RelativeEffect != nil {
			a.HolmCI = stats.AdjustedCI(holm[k], *c.RelativeEffect, alpha, *c.RelativeCI)
			a.BHCI = stats.AdjustedCI(bh[k], *c.RelativeEffect, alpha, *c.RelativeCI)
		}
		res.Metrics[rf.metric].Adjusted[c.Variant] = a
		res.Metrics[rf.metric].AdjustedPValues[c.Variant] = holm[k]
		if correction == "benjamini-hochberg" {
			res.Metrics[rf.metric].AdjustedPValues[c.Variant] = bh[k]
		}
	}
	res.Power = power(plan, res, usersPerDay, now)
	return res
}

// withhold replaces every verdict of r by not trustworthy, keeping the
// verdict it would have had.
func withhold(r *stats.Result) {
	for i := range r.Comparisons {
		c := &r.Comparisons[i]
		if c.Verdict == stats.NotTrustworthy {
			continue
		}
		c.WithheldVerdict = c.Verdict
		c.Verdict = stats.NotTrustworthy
		c.Summary = "Not trustworthy (sample ratio mismatch): " + c.Summary
	}
}

func power(plan Plan, res *Results, usersPerDay float64, now time.Time) *Power {
	var primary *MetricResult
	for i := range res.Metrics {
		if res.Metrics[i].Primary {
			primary = &res.Metrics[i]
			break
		}
	}
	if primary == nil {
		return nil
	}
	p := &Power{Metric: primary.Key, MDE: plan.MDE}
	current := int64(-1)
	for i, v := range primary.Result.Variants {
		if i < len(plan.WeightsBP) && plan.WeightsBP[i] == 0 {
			continue
		}
		if current < 0 || v.Users < current {
			current = v.Users
		}
	}
	switch {
	case plan.MDE != nil:
		p.SampleSize = stats.SampleSizeFromResult(primary.Result, *plan.MDE, 0, 0)
	case plan.PlannedSampleSize != nil:
		need := *plan.PlannedSampleSize
		rem := max(0, need-max(0, current))
		p.SampleSize = stats.SampleSize{Status: stats.StatusOK, UsersPerVariant: &need, RemainingUsersPerVariant: &rem}
	default:
		p.SampleSize = stats.SampleSize{Status: stats.StatusInsufficientData, Message: "set a minimum detectable effect or a planned sample size to get a power estimate"}
		return p
	}
	if p.SampleSize.UsersPerVariant == nil {
		return p
	}
	if usersPerDay <= 0 && plan.StartedAt != nil && current > 0 {
		// No complete day counted yet (the nightly pipeline counts whole
		// UTC days): estimate from the users so far and the time elapsed.
		if days := now.Sub(*plan.StartedAt).Hours() / 24; days > 0 {
			usersPerDay = float64(current) / days
		}
	}
	if usersPerDay > 0 && !math.IsInf(usersPerDay, 0) {
		r := usersPerDay
		p.UsersPerDay = &r
	}
	if plan.StoppedAt != nil {
		p.Message = "the experiment has stopped"
		return p
	}
	if end, ok := stats.ExpectedEndDate(max(current, 0), *p.SampleSize.UsersPerVariant, usersPerDay, now); ok {
		end = end.UTC().Truncate(time.Second)
		p.ExpectedEnd = &end
	} else {
		p.Message = "no exposure rate yet to estimate an end date"
	}
	return p
}

// UsersPerDay estimates new users per day for the smallest variant from
// the daily counts (the total so far divided by the days elapsed).
func UsersPerDay(days []Day, started time.Time, now time.Time) float64 {
	if started.IsZero() {
		return 0
	}
	total := map[string]int64{}
	for _, d := range days {
		total[d.Variant] += d.NewUsers
	}
	elapsed := now.Sub(started).Hours() / 24
	if elapsed <= 0 || len(total) == 0 {
		return 0
	}
	keys := make([]string, 0, len(total))
	for k := range total {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	minUsers := int64(-1)
	for _, k := range keys {
		if minUsers < 0 || total[k] < minUsers {
			minUsers = total[k]
		}
	}
	return float64(minUsers) / elapsed
}
