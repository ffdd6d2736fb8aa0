package eval

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"
)

// These tests are deterministic (fixed ids, fixed salts): the thresholds
// guard the quality of the hash, not random luck.

func userID(i int) string { return "user-" + strconv.Itoa(i) }

func mustCompile(t testing.TB, flags ...Flag) *Snapshot {
	t.Helper()
	s, err := Compile(&FlagSet{Project: "p", Environment: "test", Revision: 1, Flags: flags})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func boolTestFlag(key, salt string, onWeight int) Flag {
	return Flag{
		Key: key, Kind: KindBoolean, Enabled: true, OffVariant: "off", Salt: salt,
		Variants: []Variant{{"off", json.RawMessage("false")}, {"on", json.RawMessage("true")}},
		Rollout:  []WeightedVariant{{"off", Buckets - onWeight}, {"on", onWeight}},
	}
}

// chiSquaredP returns the p-value of counts against a uniform distribution.
func chiSquaredP(counts []int, total int) (chi2, p float64) {
	exp := float64(total) / float64(len(counts))
	for _, c := range counts {
		d := float64(c) - exp
		chi2 += d * d / exp
	}
	return chi2, chiSquaredSurvival(float64(len(counts)-1), chi2)
}

// chiSquaredSurvival is P(X > x) for X ~ chi-squared with k degrees of
// freedom: the regularized upper incomplete gamma Q(k/2, x/2), by its
// series below a+1 and its continued fraction above (Numerical Recipes,
// 6.2). Written here so that the SDK module needs no statistics library.
func chiSquaredSurvival(k, x float64) float64 {
	a, z := k/2, x/2
	if z <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	if z < a+1 {
		sum, term := 1/a, 1/a
		for n := 1.0; n < 1000; n++ {
			term *= z / (a + n)
			sum += term
			if math.Abs(term) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return 1 - sum*math.Exp(-z+a*math.Log(z)-lg)
	}
	const tiny = 1e-300
	b := z + 1 - a
	c, d := 1/tiny, 1/b
	h := d
	for i := 1.0; i < 1000; i++ {
		an := -i * (i - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		delta := d * c
		h *= delta
		if math.Abs(delta-1) < 1e-15 {
			break
		}
	}
	return math.Exp(-z+a*math.Log(z)-lg) * h
}

// Reference values from scipy.stats.chi2.sf (generated once with
// /usr/bin/python3, Debian's python3-scipy).
func TestChiSquaredSurvival(t *testing.T) {
	for _, c := range []struct{ k, x, want float64 }{
		{99, 120.5, 0.06995556459600587}, {99, 80.0, 0.9191878735980901}, {1, 3.84, 0.05004352124870519},
		{3, 0.5, 0.9188914116546758}, {9, 30.0, 0.00043872177097947936},
	} {
		if got := chiSquaredSurvival(c.k, c.x); math.Abs(got-c.want) > 1e-9*math.Max(1, c.want) {
			t.Errorf("chi2.sf(%v, %v) = %v, scipy says %v", c.x, c.k, got, c.want)
		}
	}
}

func TestUniformity(t *testing.T) {
	const n = 1_000_000
	counts := make([]int, 100)
	for i := 0; i < n; i++ {
		counts[Bucket("3f9a1c0d2b7e4a11", userID(i))/100]++
	}
	chi2, p := chiSquaredP(counts, n)
	t.Logf("chi2 = %.1f (99 dof), p = %.4f", chi2, p)
	if p <= 0.001 {
		t.Errorf("buckets not uniform: chi2 = %.1f, p = %.6f", chi2, p)
	}
}

func TestIndependentSalts(t *testing.T) {
	const n = 1_000_000
	s := mustCompile(t, boolTestFlag("a", "salt-a-91f0", 5000), boolTestFlag("b", "salt-b-2c7e", 5000))
	var onA, onBoth int
	for i := 0; i < n; i++ {
		id := userID(i)
		a, _ := s.Bool("a", id, false)
		b, _ := s.Bool("b", id, false)
		if a {
			onA++
			if b {
				onBoth++
			}
		}
	}
	both := float64(onBoth) / n
	cond := float64(onBoth) / float64(onA)
	t.Logf("P(A and B) = %.4f, P(B | A) = %.4f", both, cond)
	if math.Abs(both-0.25) > 0.005 {
		t.Errorf("P(A and B) = %.4f, want 0.25 +/- 0.005", both)
	}
	if math.Abs(cond-0.5) > 0.005 {
		t.Errorf("P(B | A) = %.4f, want 0.5 +/- 0.005", cond)
	}
}

// spreadCheck puts n ids into 10 equal bucket ranges and requires each
// count within 4.5 binomial standard deviations of n/10.
func spreadCheck(t *testing.T, name string, id func(int) string) {
	t.Helper()
	const n = 10_000
	counts := make([]int, 10)
	for i := 0; i < n; i++ {
		counts[Bucket("seq-salt", id(i))/1000]++
	}
	sd := math.Sqrt(n * 0.1 * 0.9)
	band := 4.5 * sd
	for b, c := range counts {
		if math.Abs(float64(c)-n/10) > band {
			t.Errorf("%s: decile %d has %d ids, want %d +/- %.0f (counts %v)", name, b, c, n/10, band, counts)
		}
	}
	if _, p := chiSquaredP(counts, n); p <= 0.001 {
		t.Errorf("%s: chi-squared p = %.6f (counts %v)", name, p, counts)
	}
}

func TestSequentialAndNonASCIISpread(t *testing.T) {
	spreadCheck(t, "sequential", func(i int) string { return strconv.Itoa(i) })
	spreadCheck(t, "prefixed", userID)
	spreadCheck(t, "chinese", func(i int) string { return "用户-" + strconv.Itoa(i) })
	spreadCheck(t, "accented", func(i int) string { return "ünïcödé-" + strconv.Itoa(i) })
	spreadCheck(t, "emoji", func(i int) string { return "🚀👩‍💻" + strconv.Itoa(i) })
	spreadCheck(t, "email", func(i int) string { return strconv.Itoa(i) + "@example.com" })
}

// Raising a boolean rollout from 50% to 60% on must move exactly the users
// whose bucket lies in the band that changed owner, and nobody else.
func TestWeightChangeMovesFewest(t *testing.T) {
	const n = 100_000
	const salt = "3f9a1c0d2b7e4a11"
	s50 := mustCompile(t, boolTestFlag("f", salt, 5000))
	s60 := mustCompile(t, boolTestFlag("f", salt, 6000))
	moved := 0
	for i := 0; i < n; i++ {
		id := userID(i)
		before, _ := s50.Bool("f", id, false)
		after, _ := s60.Bool("f", id, false)
		b := Bucket(salt, id)
		inBand := b >= 4000 && b < 5000
		if before && !after {
			t.Fatalf("user %q was on at 50%% and is off at 60%%", id)
		}
		if (before != after) != inBand {
			t.Fatalf("user %q (bucket %d): switched=%v, in moved band=%v", id, b, before != after, inBand)
		}
		if before != after {
			moved++
		}
	}
	share := float64(moved) / n
	t.Logf("moved share = %.4f", share)
	if math.Abs(share-0.10) > 0.005 {
		t.Errorf("moved share = %.4f, want 0.10 +/- 0.005", share)
	}
}

// Entering an experiment and the variant received inside it use different
// seeds, so the variant split inside matches the weights.
func TestExperimentTrafficIndependentOfVariant(t *testing.T) {
	const n = 200_000
	f := boolTestFlag("f", "exp-salt", 5000)
	f.Experiment = &Experiment{Key: "exp", Traffic: 2000}
	s := mustCompile(t, f)
	g := boolTestFlag("g", "exp-salt", 5000) // same rollout, no experiment
	sNoExp := mustCompile(t, g)
	inside, insideOn := 0, 0
	for i := 0; i < n; i++ {
		id := userID(i)
		r := s.Evaluate("f", id)
		if r.ExperimentKey == "" {
			if r.Reason != ReasonDefault || r.Variant != "off" {
				t.Fatalf("outside user %q: %+v", id, r)
			}
			continue
		}
		inside++
		if r.Reason != ReasonSplit || r.ExperimentKey != "exp" {
			t.Fatalf("inside user %q: %+v", id, r)
		}
		// Inside, the variant is exactly the plain rollout's variant.
		if plain := sNoExp.Evaluate("g", id); plain.Variant != r.Variant {
			t.Fatalf("user %q: experiment variant %q, rollout variant %q", id, r.Variant, plain.Variant)
		}
		if r.Variant == "on" {
			insideOn++
		}
	}
	share := float64(inside) / n
	onShare := float64(insideOn) / float64(inside)
	t.Logf("inside share = %.4f, on share inside = %.4f", share, onShare)
	if math.Abs(share-0.20) > 0.005 {
		t.Errorf("inside share = %.4f, want 0.20 +/- 0.005", share)
	}
	if math.Abs(onShare-0.5) > 0.01 {
		t.Errorf("on share inside = %.4f, want 0.5 +/- 0.01", onShare)
	}
}

// A 33/33/34 split lands within tolerance of its weights.
func TestMultivariateSplitShares(t *testing.T) {
	const n = 300_000
	f := Flag{
		Key: "c", Kind: KindString, Enabled: true, OffVariant: "r", Salt: "multi",
		Variants: []Variant{{"r", json.RawMessage(`"r"`)}, {"g", json.RawMessage(`"g"`)}, {"b", json.RawMessage(`"b"`)}},
		Rollout:  []WeightedVariant{{"r", 3300}, {"g", 3300}, {"b", 3400}},
	}
	s := mustCompile(t, f)
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		counts[s.Evaluate("c", userID(i)).Variant]++
	}
	for k, w := range map[string]float64{"r": 0.33, "g": 0.33, "b": 0.34} {
		if got := float64(counts[k]) / n; math.Abs(got-w) > 0.005 {
			t.Errorf("variant %q share %.4f, want %.2f", k, got, w)
		}
	}
}
