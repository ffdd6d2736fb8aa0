package stats

import (
	"math/rand/v2"
	"testing"
)

// TestAASimulationPeeking runs 1,000 seeded A/A experiments (no true
// effect) and looks at each five times. Declaring a winner at the first
// look with p < α inflates the fixed-horizon test's false-positive rate
// well above α; the always-valid sequential test keeps it at or below α.
func TestAASimulationPeeking(t *testing.T) {
	t.Parallel()
	const (
		experiments = 1000
		perArm      = 1000
		looks       = 5
		alpha       = 0.05
	)
	rng := rand.New(rand.NewPCG(20261201, 13))
	fixedFP, seqFP := 0, 0
	for e := 0; e < experiments; e++ {
		vs := []VariantData{{Variant: "a"}, {Variant: "b"}}
		fixedHit, seqHit := false, false
		for look := 1; look <= looks; look++ {
			for int(vs[0].Users) < look*perArm/looks {
				for i := range vs {
					x := 10 + 3*rng.NormFloat64()
					vs[i].Users++
					vs[i].Sum += x
					vs[i].SumSquares += x * x
				}
			}
			c := Analyze(vs, Options{MetricType: Revenue, Sequential: &SequentialOptions{TuningParameter: 2 * perArm}}).Comparisons[0]
			if c.Status != StatusOK {
				t.Fatalf("status %s: %s", c.Status, c.Message)
			}
			fixedHit = fixedHit || *c.Relative.PValue < alpha
			seqHit = seqHit || *c.Sequential.Relative.PValue < alpha
		}
		if fixedHit {
			fixedFP++
		}
		if seqHit {
			seqFP++
		}
	}
	fixedRate, seqRate := float64(fixedFP)/experiments, float64(seqFP)/experiments
	t.Logf("false-positive rate with 5 peeks: fixed %.3f, sequential %.3f", fixedRate, seqRate)
	if !(fixedRate > alpha) {
		t.Errorf("fixed-horizon test with peeking: false-positive rate %.3f, expected above %.2f", fixedRate, alpha)
	}
	if !(seqRate <= alpha) {
		t.Errorf("sequential test with peeking: false-positive rate %.3f, want <= %.2f", seqRate, alpha)
	}
}
