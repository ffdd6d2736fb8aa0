package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// HolmBonferroni returns Holm–Bonferroni adjusted p-values (Holm 1979), in
// the order of the input. With the m p-values sorted ascending,
// p_(1) ≤ … ≤ p_(m), the adjusted value of p_(i) is
//
//	max_{j ≤ i} min(1, (m − j + 1)·p_(j)),
//
// so that rejecting every hypothesis whose adjusted p-value is below α
// controls the family-wise error rate at α. It matches
// statsmodels.stats.multitest.multipletests(method="holm"). NaN inputs are
// treated as 1; values are clamped to [0, 1].
func HolmBonferroni(pvalues []float64) []float64 {
	m := len(pvalues)
	idx := make([]int, m)
	clean := make([]float64, m)
	for i, p := range pvalues {
		idx[i] = i
		switch {
		case math.IsNaN(p) || p > 1:
			p = 1
		case p < 0:
			p = 0
		}
		clean[i] = p
	}
	sort.SliceStable(idx, func(a, b int) bool { return clean[idx[a]] < clean[idx[b]] })
	out := make([]float64, m)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*clean[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}

// BenjaminiHochberg returns Benjamini–Hochberg adjusted p-values
// (Benjamini & Hochberg 1995, "Controlling the false discovery rate",
// JRSS B 57), in the order of the input: with p_(1) ≤ … ≤ p_(m), the
// adjusted value of p_(i) is min_{j ≥ i} min(1, m·p_(j)/j), so rejecting
// those below α controls the false discovery rate at α. It matches
// statsmodels multipletests(method="fdr_bh") and GrowthBook's
// adjustPValuesBenjaminiHochberg. NaN inputs are treated as 1.
func BenjaminiHochberg(pvalues []float64) []float64 {
	m := len(pvalues)
	idx := make([]int, m)
	clean := make([]float64, m)
	for i, p := range pvalues {
		idx[i] = i
		switch {
		case math.IsNaN(p) || p > 1:
			p = 1
		case p < 0:
			p = 0
		}
		clean[i] = p
	}
	sort.SliceStable(idx, func(a, b int) bool { return clean[idx[a]] < clean[idx[b]] })
	out := make([]float64, m)
	running := 1.0
	for rank := m - 1; rank >= 0; rank-- {
		i := idx[rank]
		running = math.Min(running, math.Min(1, clean[i]*float64(m)/float64(rank+1)))
		out[i] = running
	}
	return out
}

// AdjustedCI widens a (relative) interval to match an adjusted p-value,
// as GrowthBook does (packages/shared experiments.ts adjustedCI and
// getAdjustedCI): the standard error implied by the adjusted p-value is
// |effect|/z_{1−p_adj/2}, the interval effect ± z_{1−α/2}·that. It never
// narrows the interval; an adjusted p-value of 1 (above 0.999999) gives
// an unbounded interval, reported as nil; a zero effect keeps ci.
func AdjustedCI(adjustedP, effect, alpha float64, ci Interval) *Interval {
	if adjustedP > 0.999999 {
		return nil
	}
	if effect == 0 || !(adjustedP > 0) {
		return &ci
	}
	z := distuv.UnitNormal.Quantile(1 - alpha/2)
	sd := math.Abs(effect / distuv.UnitNormal.Quantile(1-adjustedP/2))
	lo, hi := effect-z*sd, effect+z*sd
	if lo < ci.Low && hi > ci.High {
		return &Interval{Low: lo, High: hi}
	}
	return &ci
}
