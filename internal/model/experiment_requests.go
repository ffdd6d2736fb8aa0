package model

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/errs"
	"github.com/waypost/waypost/sdk/eval"
)

// Limits of experiment requests.
const (
	MaxQueryLen            = 100000
	MaxMetricsPerExp       = 20
	MinStatementTimeoutMS  = 100
	MaxStatementTimeoutMS  = 3600000
	DefaultStatementTimeMS = 60000
)

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// SaveConnection is the body of POST /connections and PUT
// /connections/{key}. On PUT, a nil Password keeps the stored one and ""
// removes it.
type SaveConnection struct {
	Key  string `json:"key"`
	Name string `json:"name"`
	// Kind is the engine: postgres (default), clickhouse or mysql (MySQL
	// or MariaDB).
	Kind               string  `json:"kind"`
	Host               string  `json:"host"`
	Port               int     `json:"port"`
	Database           string  `json:"database"`
	User               string  `json:"user"`
	Password           *string `json:"password"`
	SSLMode            string  `json:"ssl_mode"`
	ExposuresQuery     string  `json:"exposures_query"`
	StatementTimeoutMS int     `json:"statement_timeout_ms"`
	IsDefault          bool    `json:"is_default"`
}

// Validate checks and normalises the request.
func (r *SaveConnection) Validate() error {
	var p errs.Problems
	if !p.Add(checkKey("key", r.Key)) && r.Key == "builtin" {
		p.Add(errs.Invalid("key", `"builtin" is the built-in events store's key`))
	}
	if r.Name == "" {
		r.Name = r.Key
	}
	if r.Name != "" || !p.Has("key") {
		p.Add(cleanName("name", &r.Name))
	}
	if r.Kind == "" {
		r.Kind = "postgres"
	}
	port, ok := defaultPorts[r.Kind]
	if !ok {
		p.Add(errs.Invalid("kind", "must be one of postgres, clickhouse, mysql"))
	}
	r.Host = strings.TrimSpace(r.Host)
	switch {
	case r.Host == "":
		p.Add(errs.Invalid("host", "is required"))
	case len(r.Host) > 255:
		p.Add(errs.Invalid("host", "at most 255 characters"))
	}
	if r.Port == 0 {
		r.Port = port
	}
	if r.Port < 1 || r.Port > 65535 {
		p.Add(errs.Invalid("port", "must be from 1 to 65535"))
	}
	switch {
	case r.Database == "":
		p.Add(errs.Invalid("database", "is required"))
	case len(r.Database) > 63:
		p.Add(errs.Invalid("database", "at most 63 characters"))
	}
	switch {
	case r.User == "":
		p.Add(errs.Invalid("user", "is required"))
	case len(r.User) > 63:
		p.Add(errs.Invalid("user", "at most 63 characters"))
	}
	if r.Password != nil && len(*r.Password) > 1000 {
		p.Add(errs.Invalid("password", "at most 1000 characters"))
	}
	if r.SSLMode == "" {
		r.SSLMode = "prefer"
	}
	if !contains(sslModes, r.SSLMode) {
		p.Add(errs.Invalid("ssl_mode", "must be one of %s", strings.Join(sslModes, ", ")))
	}
	p.Add(checkQuery("exposures_query", r.ExposuresQuery))
	p.Add(checkTimeout(&r.StatementTimeoutMS))
	return p.Err()
}

// defaultPorts are the ports of each connection kind when none is given
// (ClickHouse: the native protocol's; with TLS it is usually 9440).
var defaultPorts = map[string]int{"postgres": 5432, "clickhouse": 9000, "mysql": 3306}

// UpdateBuiltinConnection is the body of PUT /connections/builtin: only
// the statement timeout and default flag can change.
type UpdateBuiltinConnection struct {
	StatementTimeoutMS int  `json:"statement_timeout_ms"`
	IsDefault          bool `json:"is_default"`
}

func checkTimeout(ms *int) error {
	if *ms == 0 {
		*ms = DefaultStatementTimeMS
	}
	if *ms < MinStatementTimeoutMS || *ms > MaxStatementTimeoutMS {
		return errs.Invalid("statement_timeout_ms", "must be from %d to %d milliseconds", MinStatementTimeoutMS, MaxStatementTimeoutMS)
	}
	return nil
}

func checkQuery(field, q string) error {
	if strings.TrimSpace(q) == "" {
		return errs.Invalid(field, "is required")
	}
	if len(q) > MaxQueryLen {
		return errs.Invalid(field, "at most %d characters", MaxQueryLen)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// MetricTypes are the metric types.
var MetricTypes = []string{"binomial", "count", "duration", "revenue"}

// SaveMetric is the body of POST /metrics and PUT /metrics/{key}.
// Connection "" means the project's default connection.
type SaveMetric struct {
	Key                   string   `json:"key"`
	Name                  string   `json:"name"`
	Description           string   `json:"description"`
	Type                  string   `json:"type"`
	SQL                   string   `json:"sql"`
	Connection            string   `json:"connection"`
	ConversionWindowHours *float64 `json:"conversion_window_hours"`
	Direction             string   `json:"direction"`
	Cap                   *Cap     `json:"cap"`
	// Denominator, optional, makes it a ratio metric.
	Denominator *Denominator `json:"denominator"`
	Guardrail   bool         `json:"guardrail"`
}

// Validate checks and normalises the request.
func (r *SaveMetric) Validate() error {
	if d := r.Denominator; d != nil {
		if r.Type == "binomial" {
			return errs.Invalid("denominator", "a ratio metric's numerator cannot be binomial (use count, duration or revenue)")
		}
		if d.Type != "count" && d.Type != "duration" && d.Type != "revenue" {
			return errs.Invalid("denominator.type", "must be count (events per user), duration or revenue (sum of value per user)")
		}
		if err := checkQuery("denominator.sql", d.SQL); err != nil {
			return err
		}
	}
	if err := checkKey("key", r.Key); err != nil {
		return err
	}
	if r.Name == "" {
		r.Name = r.Key
	}
	if err := cleanName("name", &r.Name); err != nil {
		return err
	}
	if err := checkDescription(r.Description); err != nil {
		return err
	}
	if !contains(MetricTypes, r.Type) {
		return errs.Invalid("type", "must be one of binomial (converted at least once), count (events per user), duration or revenue (sum of value per user)")
	}
	if err := checkQuery("sql", r.SQL); err != nil {
		return err
	}
	if r.Connection != "" {
		if err := checkKey("connection", r.Connection); err != nil {
			return err
		}
	}
	if w := r.ConversionWindowHours; w != nil && (!(*w > 0) || *w > 24*365*10 || math.IsNaN(*w)) {
		return errs.Invalid("conversion_window_hours", "must be a positive number of hours (at most 10 years), or null for until the analysis end")
	}
	if r.Direction == "" {
		r.Direction = "higher"
	}
	if r.Direction != "higher" && r.Direction != "lower" {
		return errs.Invalid("direction", `must be "higher" or "lower" (which is better)`)
	}
	if c := r.Cap; c != nil {
		if r.Type == "binomial" {
			return errs.Invalid("cap", "a cap does not apply to binomial metrics")
		}
		switch c.Kind {
		case "value":
			if !(c.Value > 0) || math.IsInf(c.Value, 0) {
				return errs.Invalid("cap.value", "an absolute cap must be a positive number")
			}
		case "percentile":
			if !(c.Value > 0 && c.Value < 1) {
				return errs.Invalid("cap.value", "a percentile cap must be between 0 and 1 (0.99 = p99)")
			}
		default:
			return errs.Invalid("cap.kind", `must be "value" or "percentile"`)
		}
	}
	return nil
}

// TestMetric is the body of POST /metrics/test: check a metric query
// before saving it.
type TestMetric struct {
	Type       string `json:"type"`
	SQL        string `json:"sql"`
	Connection string `json:"connection"`
	Limit      int    `json:"limit"`
}

// Validate checks and normalises the request.
func (r *TestMetric) Validate() error {
	if !contains(MetricTypes, r.Type) {
		return errs.Invalid("type", "must be one of %s", strings.Join(MetricTypes, ", "))
	}
	if err := checkQuery("sql", r.SQL); err != nil {
		return err
	}
	if r.Connection != "" {
		if err := checkKey("connection", r.Connection); err != nil {
			return err
		}
	}
	if r.Limit == 0 {
		r.Limit = 10
	}
	if r.Limit < 1 || r.Limit > 100 {
		return errs.Invalid("limit", "must be from 1 to 100")
	}
	return nil
}

// SaveExperiment is the body of POST /experiments and PUT
// /experiments/{key} (drafts only; flag and environment are fixed after
// creation). Weights default to an even split over the flag's variants;
// Traffic defaults to 10000 (everyone).
type SaveExperiment struct {
	Key                 string   `json:"key"`
	Name                string   `json:"name"`
	Hypothesis          string   `json:"hypothesis"`
	Flag                string   `json:"flag"`
	Environment         string   `json:"environment"`
	Weights             []Weight `json:"weights"`
	TrafficBP           int      `json:"traffic"`
	PrimaryMetrics      []string `json:"primary_metrics"`
	SecondaryMetrics    []string `json:"secondary_metrics"`
	PlannedDurationDays *int     `json:"planned_duration_days"`
	PlannedSampleSize   *int64   `json:"planned_sample_size"`
	MDE                 *float64 `json:"minimum_detectable_effect"`
	// Audience: clauses (AND) a context must match to enter; [] or
	// absent lets everybody in (docs/evaluation.md).
	Audience []eval.Clause `json:"audience"`
	// Layer, optional, makes the experiment mutually exclusive with the
	// other experiments of the layer in its environment.
	Layer *eval.Layer `json:"layer"`
}

// Validate checks the request (weights against the flag's variants).
func (r *SaveExperiment) Validate(vs []Variant) error {
	var p errs.Problems
	p.Add(r.validateTargeting())
	p.Add(checkKey("key", r.Key))
	if r.Name == "" {
		r.Name = r.Key
	}
	if r.Name != "" || !p.Has("key") {
		p.Add(cleanName("name", &r.Name))
	}
	if len(r.Hypothesis) > MaxDescriptionLen {
		p.Add(errs.Invalid("hypothesis", "at most %d characters", MaxDescriptionLen))
	}
	if r.TrafficBP == 0 {
		r.TrafficBP = TotalWeight
	}
	if r.TrafficBP < 1 || r.TrafficBP > TotalWeight {
		p.Add(errs.Invalid("traffic", "must be from 1 to %d basis points (100%%)", TotalWeight))
	}
	if len(r.PrimaryMetrics) == 0 {
		p.Add(errs.Invalid("primary_metrics", "is required: choose at least one primary metric"))
	}
	seen := map[string]bool{}
	all := append(append([]string{}, r.PrimaryMetrics...), r.SecondaryMetrics...)
	if len(all) > MaxMetricsPerExp {
		p.Add(errs.Invalid("secondary_metrics", "at most %d metrics per experiment", MaxMetricsPerExp))
	}
	for i, m := range all {
		field := fmt.Sprintf("primary_metrics[%d]", i)
		if i >= len(r.PrimaryMetrics) {
			field = fmt.Sprintf("secondary_metrics[%d]", i-len(r.PrimaryMetrics))
		}
		if p.Add(checkKey(field, m)) {
			continue
		}
		if seen[m] {
			p.Add(errs.Invalid(field, "metric %q listed twice", m))
		}
		seen[m] = true
	}
	if d := r.PlannedDurationDays; d != nil && (*d < 1 || *d > 3650) {
		p.Add(errs.Invalid("planned_duration_days", "must be from 1 to 3650"))
	}
	if n := r.PlannedSampleSize; n != nil && *n < 1 {
		p.Add(errs.Invalid("planned_sample_size", "must be a positive number of users per variant"))
	}
	if m := r.MDE; m != nil && (!(*m > 0) || *m > 100) {
		p.Add(errs.Invalid("minimum_detectable_effect", "must be a positive relative effect (0.05 = 5%%)"))
	}
	if len(vs) < 2 {
		p.Add(errs.Invalid("flag", "an experiment needs a flag with at least two variants"))
		return p.Err()
	}
	if len(r.Weights) == 0 {
		r.Weights = make([]Weight, len(vs))
		for i, v := range vs {
			r.Weights[i] = Weight{Variant: v.Key, Weight: TotalWeight / len(vs)}
		}
		r.Weights[0].Weight += TotalWeight - TotalWeight/len(vs)*len(vs)
	}
	ws, err := NormalizeRollout("weights", r.Weights, vs)
	if p.Add(err) {
		return p.Err()
	}
	r.Weights = ws
	arms := 0
	for _, w := range ws {
		if w.Weight > 0 {
			arms++
		}
	}
	if arms < 2 {
		p.Add(errs.Invalid("weights", "at least two variants need a positive weight to compare"))
	}
	return p.Err()
}

// StopExperiment is the optional body of POST .../stop. Ship names a
// variant to serve to 100% of users; without it the rollout from before
// the experiment is restored.
type StopExperiment struct {
	Ship *string `json:"ship"`
}

// PowerRequest is the body of POST /power: plan a sample size.
type PowerRequest struct {
	MetricType string `json:"metric_type"`
	// BaselineMean is the control mean (a conversion rate for binomial).
	BaselineMean float64 `json:"baseline_mean"`
	// BaselineVariance is required for continuous metrics.
	BaselineVariance *float64 `json:"baseline_variance"`
	MDE              float64  `json:"minimum_detectable_effect"`
	Alpha            float64  `json:"alpha"`
	Power            float64  `json:"power"`
	Variants         int      `json:"variants"`
	// UsersPerDay entering the experiment (all variants), for a duration.
	UsersPerDay *float64 `json:"users_per_day"`
}

// Validate checks and normalises the request.
func (r *PowerRequest) Validate() error {
	if !contains(MetricTypes, r.MetricType) {
		return errs.Invalid("metric_type", "must be one of %s", strings.Join(MetricTypes, ", "))
	}
	if r.MetricType == "binomial" {
		if !(r.BaselineMean > 0 && r.BaselineMean < 1) {
			return errs.Invalid("baseline_mean", "a conversion rate between 0 and 1 is required")
		}
	} else if r.BaselineVariance == nil || !(*r.BaselineVariance > 0) {
		return errs.Invalid("baseline_variance", "a positive variance is required for %s metrics", r.MetricType)
	}
	if r.Variants == 0 {
		r.Variants = 2
	}
	if r.Variants < 2 || r.Variants > MaxVariants {
		return errs.Invalid("variants", "must be from 2 to %d", MaxVariants)
	}
	if r.UsersPerDay != nil && !(*r.UsersPerDay > 0) {
		return errs.Invalid("users_per_day", "must be positive")
	}
	return nil
}

// NewPhase is the body of POST .../phases: end the running experiment's
// phase and start the next with a changed plan (weights, traffic and/or
// audience; what is not given stays). The flag's rollout follows the new
// weights; the experiment's audience (and so the served flag set) follows
// the new audience.
type NewPhase struct {
	Weights   *[]Weight `json:"weights"`
	TrafficBP *int      `json:"traffic"`
	// Audience: clauses (AND) a context must match to enter, checked as
	// on an experiment's save; [] lets everybody in.
	Audience *[]eval.Clause `json:"audience"`
}

// Validate checks the new plan against the flag's variants (the
// audience's clauses are compiled by the store, with the environment's
// segments).
func (r *NewPhase) Validate(vs []Variant) error {
	if r.Weights == nil && r.TrafficBP == nil && r.Audience == nil {
		return errs.Invalid("", "nothing to change: give weights, traffic or audience")
	}
	if r.Audience != nil {
		if err := checkAudienceSize(r.Audience); err != nil {
			return err
		}
	}
	if r.Weights != nil {
		ws, err := NormalizeRollout("weights", *r.Weights, vs)
		if err != nil {
			return err
		}
		r.Weights = &ws
	}
	if t := r.TrafficBP; t != nil && (*t < 1 || *t > TotalWeight) {
		return errs.Invalid("traffic", "must be from 1 to %d basis points", TotalWeight)
	}
	return nil
}

// AnalysisWindow is the optional body of POST .../refresh: analyse one
// phase (by number) or an explicit window [start, end) instead of the
// current phase. A draft has no phase: its refresh needs start, and is a
// preview of historic data (labelled so in the refresh's inputs).
type AnalysisWindow struct {
	Phase *int       `json:"phase,omitempty"`
	Start *time.Time `json:"start,omitempty"`
	End   *time.Time `json:"end,omitempty"`
}

// Validate checks the window; now bounds it.
func (w *AnalysisWindow) Validate(now time.Time) error {
	if w.Phase != nil && (w.Start != nil || w.End != nil) {
		return errs.Invalid("phase", "give either a phase or a window (start, end), not both")
	}
	if w.Phase != nil && *w.Phase < 1 {
		return errs.Invalid("phase", "must be a phase number (1 or more)")
	}
	if w.End != nil && w.Start == nil {
		return errs.Invalid("start", "is required with end")
	}
	if w.Start != nil && w.Start.After(now) {
		return errs.Invalid("start", "must not be in the future")
	}
	if w.Start != nil && w.End != nil && !w.End.After(*w.Start) {
		return errs.Invalid("end", "must be after start")
	}
	return nil
}

// IsZero reports whether no window was given (the current phase).
func (w AnalysisWindow) IsZero() bool { return w.Phase == nil && w.Start == nil && w.End == nil }

var dimensionColumn = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Corrections are the multiple-testing corrections.
var Corrections = []string{"holm-bonferroni", "benjamini-hochberg"}

// AnalysisSettings is how an experiment's results are analysed (GET and
// PUT /experiments/{key}/analysis-settings). DefaultAnalysisSettings
// holds the defaults of a new experiment.
type AnalysisSettings struct {
	// Sequential: always-valid confidence sequences (peeking is safe).
	Sequential bool `json:"sequential"`
	// SequentialTuning is N*, total users at which the sequence is
	// narrowest.
	SequentialTuning float64 `json:"sequential_tuning"`
	CUPED            bool    `json:"cuped"`
	CUPEDWindowDays  float64 `json:"cuped_window_days"`
	Bayesian         bool    `json:"bayesian"`
	// Prior on the relative effect; Proper false is flat.
	PriorProper bool    `json:"prior_proper"`
	PriorMean   float64 `json:"prior_mean"`
	PriorStdDev float64 `json:"prior_std_dev"`
	Correction  string  `json:"correction"`
	// Dimension is a column of the exposures query to break results down
	// by (country, browser, plan); "" for none.
	Dimension string `json:"dimension"`
}

// DefaultAnalysisSettings are the settings of an experiment without any
// (the column defaults of experiment_analysis_settings).
func DefaultAnalysisSettings() AnalysisSettings {
	return AnalysisSettings{Sequential: true, SequentialTuning: 5000, CUPEDWindowDays: 14, Bayesian: true,
		PriorStdDev: 0.3, Correction: "holm-bonferroni"}
}

// Validate checks the settings.
func (a *AnalysisSettings) Validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !(a.SequentialTuning >= 1 && a.SequentialTuning <= 1e12):
		return errs.Invalid("sequential_tuning", "must be a number of users between 1 and 1e12 (the total sample size where the interval should be tightest)")
	case !(a.CUPEDWindowDays > 0 && a.CUPEDWindowDays <= 365):
		return errs.Invalid("cuped_window_days", "must be more than 0 and at most 365 days")
	case !finite(a.PriorMean) || a.PriorMean < -100 || a.PriorMean > 100:
		return errs.Invalid("prior_mean", "must be a relative effect between -100 and 100 (0.1 = +10%%)")
	case !(a.PriorStdDev > 0 && a.PriorStdDev <= 100):
		return errs.Invalid("prior_std_dev", "must be more than 0 and at most 100")
	case !contains(Corrections, a.Correction):
		return errs.Invalid("correction", `must be "holm-bonferroni" or "benjamini-hochberg"`)
	case a.Dimension != "" && !dimensionColumn.MatchString(a.Dimension):
		return errs.Invalid("dimension", "must be a column name of the exposures query (letters, digits and _, at most 63), or empty for none")
	}
	return nil
}

// validateTargeting checks the audience's size and the layer's key and
// range; the clauses themselves are compiled by the store with the
// environment's segments.
func (r *SaveExperiment) validateTargeting() error {
	if err := checkAudienceSize(&r.Audience); err != nil {
		return err
	}
	if l := r.Layer; l != nil {
		if err := checkKey("layer.key", l.Key); err != nil {
			return err
		}
		if l.Start < 0 || l.Start >= eval.Buckets {
			return errs.Invalid("layer.start", "must be from 0 to %d", eval.Buckets-1)
		}
		if l.End <= l.Start || l.End > eval.Buckets {
			return errs.Invalid("layer.end", "must be greater than start and at most %d (the layer has %d buckets)", eval.Buckets, eval.Buckets)
		}
	}
	return nil
}

// checkAudienceSize normalises a nil audience to [] (everybody) and checks
// its size; the clauses themselves are compiled by the store.
func checkAudienceSize(a *[]eval.Clause) error {
	if *a == nil {
		*a = []eval.Clause{}
	}
	if len(*a) > eval.MaxClauses {
		return errs.Invalid("audience", "at most %d clauses", eval.MaxClauses)
	}
	return nil
}
