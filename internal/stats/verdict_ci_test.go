package stats

import (
	"math/rand/v2"
	"testing"
)

// The verdict comes from the same test as the interval shown beside it
// (the relative one when it exists, else the absolute one; sequential
// when that is the headline): better exactly when the whole interval is
// on the good side of 0, worse exactly when it is on the bad side,
// inconclusive when it straddles 0.
func TestVerdictAgreesWithTheIntervalShown(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for i := 0; i < 4000; i++ {
		n1, n2 := int64(20+r.IntN(3000)), int64(20+r.IntN(3000))
		p1, p2 := 0.05+0.3*r.Float64(), 0.05+0.3*r.Float64()
		opts := Options{MetricType: Binomial, Direction: []Direction{HigherIsBetter, LowerIsBetter}[i%2]}
		if i%3 == 0 {
			opts.Sequential = &SequentialOptions{}
		}
		vs := []VariantData{{Variant: "a", Users: n1}, {Variant: "b", Users: n2}}
		if i%4 == 0 {
			opts.MetricType = Revenue
			for k, n := range []int64{n1, n2} {
				mean, sd := 10+5*r.Float64(), 3+10*r.Float64()
				vs[k].Sum = mean * float64(n)
				vs[k].SumSquares = (sd*sd + mean*mean) * float64(n)
			}
		} else {
			vs[0].Sum, vs[1].Sum = float64(int64(p1*float64(n1))), float64(int64(p2*float64(n2)))
			vs[0].SumSquares, vs[1].SumSquares = vs[0].Sum, vs[1].Sum
		}
		c := Analyze(vs, opts).Comparisons[0]
		ci := c.RelativeCI
		if ci == nil {
			ci = c.AbsoluteCI
		}
		if c.Status != StatusOK || ci == nil {
			continue
		}
		checked++
		good := func(x float64) bool { return (x > 0) == (opts.Direction != LowerIsBetter) }
		want := Inconclusive
		switch {
		case ci.Low > 0 || ci.High < 0:
			if good(ci.Low) {
				want = Better
			} else {
				want = Worse
			}
		}
		if c.Verdict != want || c.Significant != (want != Inconclusive) {
			t.Fatalf("case %d (%s, %s): verdict %s, significant %v, p %v, but the interval shown is [%g, %g]",
				i, opts.MetricType, c.Method, c.Verdict, c.Significant, *c.PValue, ci.Low, ci.High)
		}
	}
	if checked < 3000 {
		t.Fatalf("only %d comparisons checked", checked)
	}
}
