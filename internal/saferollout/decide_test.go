package saferollout

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/waypost/waypost/internal/analysis"
	"github.com/waypost/waypost/internal/metricsql"
	"github.com/waypost/waypost/internal/model"
	"github.com/waypost/waypost/internal/stats"
)

// simulation runs one rollout of a binomial "errors" guardrail (lower is
// better) whose rate is base for the control and base·(1+lift) for the new
// variant. Each check adds usersPerCheck users to the stage, split by the
// stage's weights; the checks analyse the stage's cumulative sufficient
// statistics with the real pipeline (analysis.Analyze, sequential test at
// the rollout's per-test confidence) and Decide. The SQL that computes
// the sufficient statistics is not run here (the worker test does that
// against an events database); this is what makes 200 rollouts fast.
type simulation struct {
	rollout       Rollout
	base, lift    float64
	usersPerCheck int
	checkEvery    time.Duration
	maxChecks     int
}

type outcome struct {
	final  Decision
	checks int
}

func (s simulation) run(rng *rand.Rand) outcome {
	r := s.rollout
	var ctl, nw stats.VariantData
	ctl.Variant, nw.Variant = r.ControlVariant, r.NewVariant
	var elapsed time.Duration
	for check := 1; check <= s.maxChecks; check++ {
		st := r.Stages[r.Stage]
		share := float64(st.BP()) / model.TotalWeight
		for range s.usersPerCheck {
			if rng.Float64() < share {
				nw.Users++
				if rng.Float64() < s.base*(1+s.lift) {
					nw.Sum++
					nw.SumSquares++
				}
			} else {
				ctl.Users++
				if rng.Float64() < s.base {
					ctl.Sum++
					ctl.SumSquares++
				}
			}
		}
		elapsed += s.checkEvery
		r.StageElapsed = elapsed
		d := Decide(r, analyse(r, ctl, nw), "")
		switch d.Action {
		case model.ActionHold:
			continue
		case model.ActionAdvance:
			r.Stage = d.ToStage
			ctl, nw = stats.VariantData{Variant: r.ControlVariant}, stats.VariantData{Variant: r.NewVariant}
			elapsed = 0
			continue
		}
		return outcome{final: d, checks: check}
	}
	return outcome{final: Decision{Action: model.ActionHold}, checks: s.maxChecks}
}

func analyse(r Rollout, ctl, nw stats.VariantData) *analysis.Results {
	st := r.Stages[r.Stage]
	plan := analysis.Plan{ExperimentKey: r.Key, Variants: []string{r.ControlVariant, r.NewVariant},
		WeightsBP: []int{model.TotalWeight - st.BP(), st.BP()}, Settings: r.Settings(),
		Metrics: []analysis.Metric{{Key: "errors", Type: stats.Binomial, Direction: stats.LowerIsBetter, Guardrail: true}}}
	counts := []metricsql.Counts{{Variants: []stats.VariantData{ctl, nw}}}
	return analysis.Analyze(plan, exposedOf(counts[0]), counts, 0, time.Now())
}

func testRollout() Rollout {
	return Rollout{Key: "checkout-v2", ControlVariant: "off", NewVariant: "on",
		Stages: []model.Stage{
			{Percent: 10, MinDurationSeconds: 3600, MinSample: 500},
			{Percent: 25, MinDurationSeconds: 3600, MinSample: 1000},
			{Percent: 50, MinDurationSeconds: 3600, MinSample: 2000},
			{Percent: 100},
		},
		Guardrails:       []model.Guardrail{{Metric: "errors", Threshold: 0}},
		MetricDirections: map[string]string{"errors": "lower"},
		OnRegression:     "rollback", Confidence: 0.95}
}

// TestAARolloutsRarelyRollBack: 200 rollouts whose new variant changes
// nothing, checked every 15 minutes from the first user to completion.
// Automatic rollbacks stay at or below α × rollouts (α = 0.05: 10).
func TestAARolloutsRarelyRollBack(t *testing.T) {
	t.Parallel()
	const rollouts, alpha = 200, 0.05
	sim := simulation{rollout: testRollout(), base: 0.05, usersPerCheck: 1000, checkEvery: 15 * time.Minute, maxChecks: 200}
	rolledBack, completed, paused := 0, 0, 0
	for seed := range rollouts {
		o := sim.run(rand.New(rand.NewPCG(uint64(seed), 14)))
		switch o.final.Action {
		case model.ActionRollback:
			rolledBack++
		case model.ActionComplete:
			completed++
		case model.ActionPause:
			paused++
		}
	}
	t.Logf("A/A: %d rollouts, %d rolled back, %d paused (SRM), %d completed", rollouts, rolledBack, paused, completed)
	if float64(rolledBack) > alpha*rollouts {
		t.Errorf("%d automatic rollbacks of %d rollouts without any effect, want <= %v", rolledBack, rollouts, alpha*rollouts)
	}
	if completed < rollouts*9/10 {
		t.Errorf("only %d of %d A/A rollouts completed", completed, rollouts)
	}
}

// TestHarmfulRolloutsRollBack: the new variant raises errors by 10%
// (5% -> 5.5%). With 20,000 users per check and a first stage of 10% that
// needs 80,000 users of the new variant, nearly every rollout rolls back
// before it leaves the first stage, within the number of checks
// documented in docs/safe-rollouts.md for this traffic (40).
func TestHarmfulRolloutsRollBack(t *testing.T) {
	t.Parallel()
	const rollouts = 50
	r := testRollout()
	r.Stages[0].MinSample = 80000
	sim := simulation{rollout: r, base: 0.05, lift: 0.10, usersPerCheck: 20000, checkEvery: 15 * time.Minute, maxChecks: 200}
	rolledBack, worst := 0, 0
	for seed := range rollouts {
		o := sim.run(rand.New(rand.NewPCG(uint64(seed), 41)))
		if o.final.Action == model.ActionRollback {
			rolledBack++
			worst = max(worst, o.checks)
			if !o.final.Regression || !strings.Contains(o.final.Reason, "errors") {
				t.Errorf("rollback reason %q does not name the guardrail", o.final.Reason)
			}
		}
	}
	t.Logf("+10%% errors: %d of %d rolled back, the slowest after %d checks", rolledBack, rollouts, worst)
	if rolledBack < rollouts*9/10 {
		t.Errorf("only %d of %d harmful rollouts were rolled back", rolledBack, rollouts)
	}
	if worst > 40 {
		t.Errorf("a harmful rollout needed %d checks to roll back, documented at most 40", worst)
	}
}

func results(ctlUsers, ctlErr, newUsers, newErr int64, weights []int) *analysis.Results {
	r := testRollout()
	plan := analysis.Plan{Variants: []string{"off", "on"}, WeightsBP: weights, Settings: r.Settings(),
		Metrics: []analysis.Metric{{Key: "errors", Type: stats.Binomial, Direction: stats.LowerIsBetter}}}
	counts := []metricsql.Counts{{Variants: []stats.VariantData{
		{Variant: "off", Users: ctlUsers, Sum: float64(ctlErr), SumSquares: float64(ctlErr)},
		{Variant: "on", Users: newUsers, Sum: float64(newErr), SumSquares: float64(newErr)}}}}
	return analysis.Analyze(plan, exposedOf(counts[0]), counts, 0, time.Now())
}

func TestDecide(t *testing.T) {
	t.Parallel()
	r := testRollout()
	r.StageElapsed = 2 * time.Hour
	w := []int{9000, 1000}

	// Clear harm: 5% -> 10% errors with thousands of users.
	d := Decide(r, results(90000, 4500, 10000, 1000, w), "")
	if d.Action != model.ActionRollback || d.ToState != model.RolloutRolledBack || !d.Regression {
		t.Fatalf("harm: got %s/%s, want rollback", d.Action, d.ToState)
	}
	if g := d.Numbers.Guardrails[0]; !g.Regression || g.Low == nil || *g.Low <= 0 {
		t.Errorf("harm numbers: %+v", g)
	}

	// The same harm with on_regression pause pauses.
	rp := r
	rp.OnRegression = "pause"
	if d := Decide(rp, results(90000, 4500, 10000, 1000, w), ""); d.Action != model.ActionPause || d.ToState != model.RolloutPaused || !d.Regression {
		t.Errorf("pause on regression: got %s/%s", d.Action, d.ToState)
	}

	// Harm within a generous threshold (100% worse allowed) is no regression.
	rt := r
	rt.Guardrails = []model.Guardrail{{Metric: "errors", Threshold: 1.5}}
	if d := Decide(rt, results(90000, 4500, 10000, 1000, w), ""); d.Regression {
		t.Errorf("threshold 150%%: %s", d.Reason)
	}

	// A direction override: declared higher-is-better, fewer errors is harm.
	rd := r
	rd.Guardrails = []model.Guardrail{{Metric: "errors", Direction: "higher"}}
	if d := Decide(rd, results(90000, 9000, 10000, 500, w), ""); !d.Regression {
		t.Errorf("higher is better, 10%% -> 5%%: %s", d.Reason)
	}

	// No effect, enough users and time: advance to the next stage.
	d = Decide(r, results(9000, 450, 1000, 50, w), "")
	if d.Action != model.ActionAdvance || d.ToStage != 1 {
		t.Fatalf("no effect: got %s to stage %d (%s)", d.Action, d.ToStage, d.Reason)
	}

	// Not enough time yet: hold.
	ry := r
	ry.StageElapsed = 10 * time.Minute
	if d := Decide(ry, results(9000, 450, 1000, 50, w), ""); d.Action != model.ActionHold || !strings.Contains(d.Reason, "waiting") {
		t.Errorf("too early: got %s (%s)", d.Action, d.Reason)
	}
	// Not enough users of the new variant: hold.
	if d := Decide(r, results(900, 45, 100, 5, w), ""); d.Action != model.ActionHold {
		t.Errorf("too few users: got %s", d.Action)
	}

	// The last stage below 100%: complete.
	rl := r
	rl.Stage = 2
	if d := Decide(rl, results(5000, 250, 5000, 250, []int{5000, 5000}), ""); d.Action != model.ActionComplete || d.ToState != model.RolloutCompleted {
		t.Errorf("last stage: got %s", d.Action)
	}

	// Sample ratio mismatch: pause, even with a regression in the data.
	d = Decide(r, results(5000, 250, 5000, 1000, w), "")
	if d.Action != model.ActionPause || !d.Numbers.SRMMismatch || !strings.Contains(d.Reason, "sample ratio mismatch") {
		t.Errorf("SRM: got %s (%s)", d.Action, d.Reason)
	}

	// A failed refresh holds with the reason.
	if d := Decide(r, nil, "cannot reach the events database"); d.Action != model.ActionHold || !strings.Contains(d.Reason, "cannot reach") {
		t.Errorf("failure: got %s (%s)", d.Action, d.Reason)
	}

	// Zero errors in control and threshold 0: the absolute interval decides.
	if d := Decide(r, results(90000, 0, 10000, 300, w), ""); !d.Regression {
		t.Errorf("zero control errors: %s", d.Reason)
	}
}

func TestTestConfidenceIsBonferroni(t *testing.T) {
	t.Parallel()
	r := testRollout()
	r.Guardrails = append(r.Guardrails, model.Guardrail{Metric: "latency"})
	// 2 guardrails x 3 stages below 100%.
	if got, want := r.TestConfidence(), 1-0.05/6; got != want {
		t.Errorf("test confidence %v, want %v", got, want)
	}
}

// exposedOf is the exposures statement's answer for simulated users: the
// users of each variant (the metric saw every exposed user).
func exposedOf(c metricsql.Counts) metricsql.Exposed {
	out := metricsql.Exposed{Users: map[string]int64{}, ExcludedUsers: c.ExcludedUsers}
	for _, v := range c.Variants {
		out.Users[v.Variant] = v.Users
	}
	return out
}
