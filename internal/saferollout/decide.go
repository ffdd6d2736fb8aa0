// Package saferollout decides what a safe rollout does after a check: hold,
// advance to the next stage, complete, pause or roll back. It is pure: the
// worker runs the metric pipeline (package analysis, with the sequential
// test) on the rollout's current stage and hands the results here; the
// store applies the decision in one transaction.
//
// The rule (docs/safe-rollouts.md):
//
//  1. A sample ratio mismatch pauses the rollout (its data cannot be trusted).
//  2. A guardrail whose always-valid interval of the relative effect lies
//     entirely beyond its threshold on the harmful side is a regression:
//     the rollout rolls back (or pauses, if so configured). For a
//     lower-is-better metric that is low > threshold, for a
//     higher-is-better one high < −threshold. When the control mean is 0
//     and the threshold is 0 the absolute interval is used.
//  3. Otherwise, once the stage lasted its minimum duration and the new
//     variant has its minimum sample, the rollout advances; advancing into
//     the last stage (100%) completes it.
//
// Each guardrail of each stage below 100% is tested at level
// α/(guardrails × tested stages) (Bonferroni), and each test uses one side
// of a two-sided interval, so the chance that a rollout without any effect
// is rolled back is at most α/2 however often it is checked (the
// confidence sequences are valid at every look).
package saferollout

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/stats"
)

// Rollout is what a decision needs to know about the rollout.
type Rollout struct {
	Key            string
	ControlVariant string
	NewVariant     string
	Stages         []model.Stage
	Guardrails     []model.Guardrail
	// MetricDirections are the metrics' own directions, by key (for
	// guardrails without one).
	MetricDirections map[string]string
	OnRegression     string
	Confidence       float64
	Stage            int
	// StageElapsed is how long the current stage has run.
	StageElapsed time.Duration
}

// TestedStages is the number of stages below 100% (where guardrails are
// tested).
func (r Rollout) TestedStages() int {
	n := 0
	for _, s := range r.Stages {
		if s.BP() < model.TotalWeight {
			n++
		}
	}
	return max(n, 1)
}

// TestConfidence is the confidence of each guardrail test: 1 − α/(G·S).
func (r Rollout) TestConfidence() float64 {
	conf := r.Confidence
	if conf == 0 {
		conf = model.DefaultConfidence
	}
	return 1 - (1-conf)/float64(max(len(r.Guardrails), 1)*r.TestedStages())
}

// SequentialTuning is N* for the current stage: the total users (both
// arms) at which the stage has its minimum sample of the new variant, so
// the interval is tightest when the advance decision is due.
func (r Rollout) SequentialTuning() float64 {
	st := r.Stages[r.Stage]
	share := float64(st.BP()) / model.TotalWeight
	n := 1000.0
	if st.MinSample > 0 && share > 0 {
		n = float64(st.MinSample) / share
	}
	return math.Min(math.Max(n, 100), 1e12)
}

// Settings are the analysis settings of a check: sequential testing at the
// per-test confidence, nothing else.
func (r Rollout) Settings() analysis.Settings {
	return analysis.Settings{Sequential: true, SequentialTuning: r.SequentialTuning(), Confidence: r.TestConfidence(),
		Correction: "holm-bonferroni"}
}

// GuardrailNumbers are one guardrail's figures at a check.
type GuardrailNumbers struct {
	Metric         string   `json:"metric"`
	Direction      string   `json:"direction"`
	Threshold      float64  `json:"threshold"`
	Status         string   `json:"status"`
	Message        string   `json:"message,omitempty"`
	UsersControl   int64    `json:"users_control"`
	UsersNew       int64    `json:"users_new"`
	MeanControl    *float64 `json:"mean_control,omitempty"`
	MeanNew        *float64 `json:"mean_new,omitempty"`
	Effect         *float64 `json:"relative_effect,omitempty"`
	Low            *float64 `json:"ci_low,omitempty"`
	High           *float64 `json:"ci_high,omitempty"`
	AbsoluteEffect *float64 `json:"absolute_effect,omitempty"`
	AbsoluteLow    *float64 `json:"absolute_ci_low,omitempty"`
	AbsoluteHigh   *float64 `json:"absolute_ci_high,omitempty"`
	Regression     bool     `json:"regression"`
}

// Numbers are what a check decided on (stored with the decision).
type Numbers struct {
	Stage              int                `json:"stage"`
	Percent            float64            `json:"percent"`
	ElapsedSeconds     int64              `json:"elapsed_seconds"`
	MinDurationSeconds int64              `json:"min_duration_seconds"`
	UsersControl       int64              `json:"users_control"`
	UsersNew           int64              `json:"users_new"`
	MinSample          int64              `json:"min_sample"`
	TestConfidence     float64            `json:"test_confidence"`
	SRMPValue          *float64           `json:"srm_p_value,omitempty"`
	SRMMismatch        bool               `json:"srm_mismatch"`
	Guardrails         []GuardrailNumbers `json:"guardrails"`
	Error              string             `json:"error,omitempty"`
}

// Decision is the outcome of a check.
type Decision struct {
	Action  string
	ToState string
	ToStage int
	// Regression is set when a guardrail regressed (the notification says so).
	Regression bool
	Reason     string
	Numbers    Numbers
}

// Decide turns a check's results into a decision. res nil with failure set
// is a check whose refresh failed: the rollout holds.
func Decide(r Rollout, res *analysis.Results, failure string) Decision {
	st := r.Stages[r.Stage]
	n := Numbers{Stage: r.Stage, Percent: st.Percent, ElapsedSeconds: int64(r.StageElapsed / time.Second),
		MinDurationSeconds: st.MinDurationSeconds, MinSample: st.MinSample, TestConfidence: r.TestConfidence(),
		Guardrails: []GuardrailNumbers{}}
	hold := Decision{Action: model.ActionHold, ToState: model.RolloutRunning, ToStage: r.Stage, Numbers: n}
	if res == nil {
		hold.Numbers.Error = failure
		hold.Reason = "the guardrails could not be refreshed, holding the current stage: " + failure
		return hold
	}
	n.UsersControl, n.UsersNew = res.Users[r.ControlVariant], res.Users[r.NewVariant]
	if res.SRM != nil {
		n.SRMPValue, n.SRMMismatch = res.SRM.PValue, res.SRM.Mismatch
	}
	var regressed []string
	for _, g := range r.Guardrails {
		gn := guardrail(r, g, res)
		if gn.Regression {
			regressed = append(regressed, describe(gn))
		}
		n.Guardrails = append(n.Guardrails, gn)
	}
	hold.Numbers = n
	switch {
	case n.SRMMismatch:
		p := 0.0
		if n.SRMPValue != nil {
			p = *n.SRMPValue
		}
		return Decision{Action: model.ActionPause, ToState: model.RolloutPaused, ToStage: r.Stage, Numbers: n,
			Reason: fmt.Sprintf("sample ratio mismatch at %v%%: %d control and %d %s users do not match the intended split (p = %.2g < %v); the data cannot be trusted, so the rollout is paused",
				st.Percent, n.UsersControl, n.UsersNew, r.NewVariant, p, stats.SRMThreshold)}
	case len(regressed) > 0:
		d := Decision{Action: model.ActionRollback, ToState: model.RolloutRolledBack, ToStage: r.Stage, Regression: true, Numbers: n}
		verb := fmt.Sprintf("rolled back: everyone gets %q", r.ControlVariant)
		if r.OnRegression == "pause" {
			d.Action, d.ToState = model.ActionPause, model.RolloutPaused
			verb = fmt.Sprintf("paused at %v%%", st.Percent)
		}
		d.Reason = fmt.Sprintf("regression at %v%%: %s; %s", st.Percent, strings.Join(regressed, "; "), verb)
		return d
	}
	need := time.Duration(st.MinDurationSeconds) * time.Second
	if r.StageElapsed < need || n.UsersNew < st.MinSample {
		hold.Reason = fmt.Sprintf("no regression; waiting at %v%%: %s of %s elapsed, %d of %d %s users",
			st.Percent, r.StageElapsed.Truncate(time.Second), need, n.UsersNew, st.MinSample, r.NewVariant)
		return hold
	}
	next := r.Stage + 1
	if next >= len(r.Stages) || r.Stages[next].BP() >= model.TotalWeight {
		return Decision{Action: model.ActionComplete, ToState: model.RolloutCompleted, ToStage: len(r.Stages) - 1, Numbers: n,
			Reason: fmt.Sprintf("no regression at %v%% after %s with %d %s users: %q ships to everyone",
				st.Percent, r.StageElapsed.Truncate(time.Second), n.UsersNew, r.NewVariant, r.NewVariant)}
	}
	return Decision{Action: model.ActionAdvance, ToState: model.RolloutRunning, ToStage: next, Numbers: n,
		Reason: fmt.Sprintf("no regression at %v%% after %s with %d %s users: advancing to %v%%",
			st.Percent, r.StageElapsed.Truncate(time.Second), n.UsersNew, r.NewVariant, r.Stages[next].Percent)}
}

func describe(g GuardrailNumbers) string {
	if g.Effect != nil && g.Low != nil && g.High != nil {
		return fmt.Sprintf("%s %+.2f%% (interval %+.2f%% to %+.2f%%) is worse than the %.2f%% allowed (%s is better)",
			g.Metric, 100**g.Effect, 100**g.Low, 100**g.High, 100*g.Threshold, g.Direction)
	}
	return fmt.Sprintf("%s changed by %+.4g (interval %+.4g to %+.4g), worse (%s is better)",
		g.Metric, deref(g.AbsoluteEffect), deref(g.AbsoluteLow), deref(g.AbsoluteHigh), g.Direction)
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// guardrail evaluates one guardrail.
func guardrail(r Rollout, g model.Guardrail, res *analysis.Results) GuardrailNumbers {
	dir := g.Direction
	if dir == "" {
		dir = r.MetricDirections[g.Metric]
	}
	if dir == "" {
		dir = string(stats.HigherIsBetter)
	}
	out := GuardrailNumbers{Metric: g.Metric, Direction: dir, Threshold: g.Threshold, Status: "missing",
		Message: "the metric is not in the results"}
	for _, m := range res.Metrics {
		if m.Key != g.Metric {
			continue
		}
		for _, v := range m.Result.Variants {
			switch v.Variant {
			case r.ControlVariant:
				out.UsersControl, out.MeanControl = v.Users, v.Mean
			case r.NewVariant:
				out.UsersNew, out.MeanNew = v.Users, v.Mean
			}
		}
		out.Status, out.Message = string(m.Result.Status), m.Result.Message
		if m.Error != "" {
			out.Status, out.Message = "error", m.Error
		}
		for _, c := range m.Result.Comparisons {
			if c.Variant != r.NewVariant {
				continue
			}
			out.Status, out.Message = string(c.Status), c.Message
			out.Effect, out.AbsoluteEffect = c.RelativeEffect, c.AbsoluteEffect
			if c.RelativeCI != nil {
				out.Low, out.High = &c.RelativeCI.Low, &c.RelativeCI.High
			}
			if c.AbsoluteCI != nil {
				out.AbsoluteLow, out.AbsoluteHigh = &c.AbsoluteCI.Low, &c.AbsoluteCI.High
			}
			out.Regression = harmful(dir, g.Threshold, out)
		}
	}
	return out
}

// harmful: the interval lies entirely beyond the threshold on the harmful side.
func harmful(dir string, threshold float64, g GuardrailNumbers) bool {
	lo, hi := g.Low, g.High
	if lo == nil || hi == nil {
		if threshold != 0 || g.AbsoluteLow == nil || g.AbsoluteHigh == nil {
			return false
		}
		lo, hi = g.AbsoluteLow, g.AbsoluteHigh
	}
	if dir == string(stats.LowerIsBetter) {
		return *lo > threshold
	}
	return *hi < -threshold
}
