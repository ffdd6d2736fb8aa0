package stats

import (
	"math"
	"sort"
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
