package stats

import (
	"fmt"

	"gonum.org/v1/gonum/stat/distuv"
)

// SRMThreshold is the p-value below which a sample ratio mismatch is flagged.
const SRMThreshold = 0.001

// SRMResult is a sample-ratio-mismatch check.
type SRMResult struct {
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
	// Observed user counts and Expected counts under the intended split.
	Observed   []int64   `json:"observed"`
	Expected   []float64 `json:"expected,omitempty"`
	ChiSquared *float64  `json:"chi_squared,omitempty"`
	DF         int       `json:"df,omitempty"`
	PValue     *float64  `json:"p_value,omitempty"`
	// Mismatch is true when PValue < Threshold (or when users arrived in a
	// variant whose intended weight is 0).
	Mismatch  bool    `json:"mismatch"`
	Threshold float64 `json:"threshold"`
}

// SampleRatioMismatch tests observed user counts against intended weights
// (basis points, any positive scale) with Pearson's chi-squared goodness of
// fit: χ² = Σ (O_i − E_i)²/E_i, E_i = N·w_i/Σw, k−1 degrees of freedom
// (Pearson 1900; Fabijan et al. 2019 for its use in online experiments).
// Variants with weight 0 and no users are left out of the test; users in a
// variant with weight 0 are a mismatch by definition.
func SampleRatioMismatch(observed []int64, weightsBP []int) SRMResult {
	res := SRMResult{Status: StatusOK, Observed: append([]int64{}, observed...), Threshold: SRMThreshold}
	if len(observed) != len(weightsBP) {
		res.Status = StatusInvalidData
		res.Message = fmt.Sprintf("%d user counts but %d weights", len(observed), len(weightsBP))
		return res
	}
	var total int64
	var wsum float64
	k := 0
	for i, o := range observed {
		w := weightsBP[i]
		if o < 0 || w < 0 {
			res.Status, res.Message = StatusInvalidData, "negative user count or weight"
			return res
		}
		if w == 0 && o > 0 {
			res.Mismatch = true
			res.PValue = ptr(0)
			res.Message = fmt.Sprintf("variant %d has weight 0 but %d users", i+1, o)
			return res
		}
		if w > 0 {
			total += o
			wsum += float64(w)
			k++
		}
	}
	if k < 2 {
		res.Status, res.Message = StatusOneArm, "fewer than two variants have a weight, so there is no ratio to check"
		return res
	}
	if total == 0 {
		res.Status, res.Message = StatusInsufficientData, "no users yet"
		return res
	}
	res.Expected = make([]float64, len(observed))
	var chi2 float64
	for i, o := range observed {
		if weightsBP[i] == 0 {
			continue
		}
		e := float64(total) * float64(weightsBP[i]) / wsum
		res.Expected[i] = e
		d := float64(o) - e
		chi2 += d * d / e
	}
	res.DF = k - 1
	res.ChiSquared = finitePtr(chi2)
	p := distuv.ChiSquared{K: float64(res.DF)}.Survival(chi2)
	res.PValue = finitePtr(p)
	if res.PValue != nil && p < SRMThreshold {
		res.Mismatch = true
		res.Message = fmt.Sprintf("sample ratio mismatch: the user counts do not fit the intended split (p = %.2g); results may be biased", p)
	}
	return res
}
