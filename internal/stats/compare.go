package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// compare computes one treatment-vs-control Comparison.
func compare(cv VariantData, c moments, tv VariantData, t moments, mt MetricType, dir Direction, conf float64) Comparison {
	out := Comparison{
		Variant: tv.Variant, Control: cv.Variant, Test: testFor(mt),
		Status: StatusOK, Verdict: Inconclusive,
	}
	alpha := 1 - conf
	zq := distuv.UnitNormal.Quantile(1 - alpha/2)

	if c.hasMean && t.hasMean {
		out.AbsoluteEffect = finitePtr(t.mean - c.mean)
		if c.mean != 0 {
			out.RelativeEffect = finitePtr(t.mean/c.mean - 1)
		}
	}
	if cv.Users < 2 || tv.Users < 2 {
		out.Status = StatusInsufficientData
		out.Message = "each variant needs at least 2 users before it can be compared"
		out.Summary = summarize(out, dir, conf)
		return out
	}

	var ok bool
	if mt == Binomial {
		ok = twoProportionTest(&out, c, t, zq)
	} else {
		ok = welchTest(&out, c, t, alpha)
	}
	if !ok {
		out.Status = StatusZeroVariance
		out.Message = "every user has the same value within each variant, so there is no variance to test against"
		if mt == Binomial {
			out.Message = "no user converted in any variant (or every user did), so there is nothing to test"
		}
		out.Summary = summarize(out, dir, conf)
		return out
	}

	if c.mean == 0 {
		out.Status = StatusZeroControlMean
		out.Message = "the control mean is 0, so the relative effect is undefined; the absolute effect is reported"
	} else {
		// Delta method for the ratio of two independent means (Kohavi et al.
		// 2020, ch. 18; GrowthBook docs): Var(x̄_t/x̄_c) ≈
		// s_t²/(n_t x̄_c²) + s_c² x̄_t²/(n_c x̄_c⁴).
		v := t.variance/(t.n*c.mean*c.mean) + c.variance*t.mean*t.mean/(c.n*math.Pow(c.mean, 4))
		if out.RelativeEffect != nil && finite(v) {
			half := zq * math.Sqrt(v)
			out.RelativeCI = finiteInterval(*out.RelativeEffect-half, *out.RelativeEffect+half)
		}
	}
	if out.PValue != nil {
		out.Significant = *out.PValue < alpha
	}
	if out.Significant && out.AbsoluteEffect != nil && *out.AbsoluteEffect != 0 {
		up := *out.AbsoluteEffect > 0
		if up == (dir != LowerIsBetter) {
			out.Verdict = Better
		} else {
			out.Verdict = Worse
		}
	}
	out.Summary = summarize(out, dir, conf)
	return out
}

// welchTest fills the Welch t-test fields (Welch 1947; Satterthwaite 1946):
//
//	se² = s_t²/n_t + s_c²/n_c,  t = (x̄_t − x̄_c)/se,
//	df  = se⁴ / ((s_t²/n_t)²/(n_t−1) + (s_c²/n_c)²/(n_c−1)),
//	p   = 2·P(T_df > |t|),  CI = (x̄_t − x̄_c) ± t_{df,1−α/2}·se.
//
// It reports false when both variances are zero (se = 0).
func welchTest(out *Comparison, c, t moments, alpha float64) bool {
	vt, vc := t.variance/t.n, c.variance/c.n
	se2 := vt + vc
	if !(se2 > 0) || !finite(se2) {
		return false
	}
	se := math.Sqrt(se2)
	diff := t.mean - c.mean
	stat := diff / se
	df := se2 * se2 / (vt*vt/(t.n-1) + vc*vc/(c.n-1))
	if !finite(stat) || !(df > 0) || !finite(df) {
		return false
	}
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}
	p := 2 * dist.Survival(math.Abs(stat))
	if p > 1 {
		p = 1
	}
	half := dist.Quantile(1-alpha/2) * se
	out.Statistic, out.DF, out.PValue = finitePtr(stat), finitePtr(df), finitePtr(p)
	out.AbsoluteCI = finiteInterval(diff-half, diff+half)
	return true
}

// twoProportionTest fills the binomial fields. The test is Pearson's χ² on
// the 2×2 table without continuity correction (Pearson 1900), computed in
// its equivalent pooled two-proportion z form: z = (p_t − p_c) /
// √(p̄(1−p̄)(1/n_t + 1/n_c)), χ² = z², p = P(χ²₁ > z²); this equals
// scipy.stats.chi2_contingency(table, correction=False). The interval for
// p_t − p_c uses the unpooled (Wald) standard error
// √(p_t(1−p_t)/n_t + p_c(1−p_c)/n_c) and the normal quantile.
// It reports false when the pooled proportion is 0 or 1 (an empty column
// in the table: the statistic is 0/0).
func twoProportionTest(out *Comparison, c, t moments, zq float64) bool {
	pooled := (t.mean*t.n + c.mean*c.n) / (t.n + c.n)
	pv := pooled * (1 - pooled) * (1/t.n + 1/c.n)
	if !(pv > 0) || !finite(pv) {
		return false
	}
	diff := t.mean - c.mean
	z := diff / math.Sqrt(pv)
	chi2 := z * z
	p := distuv.ChiSquared{K: 1}.Survival(chi2)
	se := math.Sqrt(t.variance/t.n + c.variance/c.n)
	out.Statistic, out.DF, out.PValue = finitePtr(chi2), ptr(1), finitePtr(p)
	out.AbsoluteCI = finiteInterval(diff-zq*se, diff+zq*se)
	return true
}
