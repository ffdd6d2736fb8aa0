package stats

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// compare computes one treatment-vs-control Comparison following gbstats
// (growthbook/growthbook, packages/stats/gbstats): EffectMoments gives the
// point estimate and standard error, TwoSidedTTest / SequentialTwoSidedTTest
// / EffectBayesianABTest turn them into intervals and probabilities.
func compare(cv VariantData, c moments, tv VariantData, t moments, opts Options, dir Direction, conf float64) Comparison {
	out := Comparison{
		Variant: tv.Variant, Control: cv.Variant, Test: WelchT,
		Status: StatusOK, Verdict: Inconclusive, Method: Fixed,
	}
	alpha := 1 - conf
	if opts.Sequential != nil {
		out.Method = Sequential
	}
	if c.hasMean && t.hasMean {
		out.AbsoluteEffect = finitePtr(t.mean - c.mean)
		if c.mean != 0 {
			out.RelativeEffect = finitePtr((t.mean - c.mean) / math.Abs(c.mean))
		}
	}
	done := func(status Status, msg string) Comparison {
		out.Status, out.Message = status, msg
		out.Summary = summarize(out, dir, conf)
		return out
	}
	if cv.Users < 2 || tv.Users < 2 {
		return done(StatusInsufficientData, "each variant needs at least 2 users before it can be compared")
	}
	if opts.Ratio && (c.denMean == 0 || t.denMean == 0) {
		return done(StatusZeroDenominator, "the ratio's denominator is zero for every user of a variant, so the ratio is undefined")
	}
	if opts.MetricType == Binomial && !opts.Ratio {
		out.ChiSquared = chiSquared(c, t)
		if out.ChiSquared != nil && out.ChiSquared.SmallSample {
			out.Warnings = append(out.Warnings, fmt.Sprintf("small sample: an expected cell count is %.3g (< 5), so the chi-squared and t approximations are unreliable; Fisher's exact p = %.4g", out.ChiSquared.MinExpected, *out.ChiSquared.FisherPValue))
		}
	}

	// CUPED (Deng, Xu, Kohavi & Walker 2013, "Improving the sensitivity
	// of online controlled experiments by utilizing pre-experiment data",
	// WSDM, eq. 3–4): θ pooled over both arms, gbstats compute_theta.
	ca, ta := c, t
	var theta float64
	if opts.CUPED && !opts.Ratio && c.pre && t.pre {
		theta = pooledTheta(c, t, opts.MetricType == Binomial)
		out.CUPED = &CUPEDResult{Theta: theta}
		if theta == 0 {
			out.CUPED.Message = "the covariate has no variance (or no correlation) in the pre-exposure window, so CUPED was not applied"
			out.Warnings = append(out.Warnings, out.CUPED.Message)
		} else {
			out.CUPED.Applied = true
			ca, ta = c.adjusted(theta), t.adjusted(theta)
			if ca.hasMean && ta.hasMean {
				out.AbsoluteEffect = finitePtr(ta.mean - ca.mean)
				if c.mean != 0 {
					out.RelativeEffect = finitePtr((ta.mean - ca.mean) / math.Abs(c.mean))
				}
			}
		}
	} else if opts.CUPED && opts.Ratio {
		out.Warnings = append(out.Warnings, "CUPED is not applied to ratio metrics")
	}

	absVar := ta.variance/ta.n + ca.variance/ca.n
	if !(absVar > 0) || !finite(absVar) {
		msg := "every user has the same value within each variant, so there is no variance to test against"
		if opts.MetricType == Binomial {
			msg = "no user converted in any variant (or every user did), so there is nothing to test"
		}
		return done(StatusZeroVariance, msg)
	}
	// Welch–Satterthwaite degrees of freedom (Satterthwaite 1946; Welch
	// 1947), gbstats TTest.dof, on the (adjusted) per-user variances.
	dof := absVar * absVar / (ta.variance*ta.variance/(ta.n*ta.n*(ta.n-1)) + ca.variance*ca.variance/(ca.n*ca.n*(ca.n-1)))
	absEst := ta.mean - ca.mean
	out.Absolute = fixedEstimate(absEst, math.Sqrt(absVar), dof, alpha)

	var relVar float64
	relOK := false
	switch {
	case c.mean == 0:
		out.Status = StatusZeroControlMean
		out.Message = "the control mean is 0, so the relative effect is undefined; the absolute effect is reported"
	case !(ca.variance > 0) || !(ta.variance > 0):
		// gbstats EffectMoments._has_zero_variance: either arm.
		out.Status = StatusZeroVariance
		out.Message = "a variant has zero variance, so the relative effect cannot be tested; the absolute effect is reported"
	default:
		if out.CUPED != nil && out.CUPED.Applied {
			relVar = relativeVarianceCUPED(c, t, theta)
			unadj := varianceOfRatios(t.mean, t.variance/t.n, c.mean, c.variance/c.n, 0)
			if unadj > 0 {
				out.CUPED.VarianceReduction = 1 - relVar/unadj
			}
		} else {
			// gbstats utils.frequentist_variance (relative): the delta
			// method for the ratio of two independent means, Var(x̄_t/x̄_c)
			// ≈ s_t²/(n_t x̄_c²) + s_c² x̄_t²/(n_c x̄_c⁴) (Kohavi, Tang & Xu
			// 2020, ch. 18, eq. 7).
			relVar = varianceOfRatios(t.mean, t.variance/t.n, c.mean, c.variance/c.n, 0)
		}
		relOK = relVar > 0 && finite(relVar)
		if !relOK {
			out.Status = StatusZeroVariance
			out.Message = "the relative effect has no variance to test against"
		}
	}
	relEst := (ta.mean - ca.mean) / math.Abs(c.mean)
	if relOK {
		out.Relative = fixedEstimate(relEst, math.Sqrt(relVar), dof, alpha)
	}

	headRel, headAbs := out.Relative, out.Absolute
	if opts.Sequential != nil {
		tuning := opts.Sequential.TuningParameter
		if tuning == 0 {
			tuning = DefaultSequentialTuning
		}
		n := ca.n + ta.n
		seq := &SequentialResult{TuningParameter: tuning}
		seq.Absolute = sequentialEstimate(absEst, math.Sqrt(absVar), n, tuning, alpha)
		if relOK {
			seq.Relative = sequentialEstimate(relEst, math.Sqrt(relVar), n, tuning, alpha)
		}
		out.Sequential = seq
		headRel, headAbs = seq.Relative, seq.Absolute
	}
	if opts.Bayesian != nil && relOK {
		out.Bayesian = bayesian(relEst, relVar, *opts.Bayesian, dir, alpha)
	}

	out.AbsoluteCI = headAbs.CI
	out.AbsolutePValue = headAbs.PValue
	out.DF = finitePtr(dof)
	if headRel != nil {
		out.RelativeCI = headRel.CI
		out.PValue = headRel.PValue
		out.Statistic = out.Relative.Statistic
	} else {
		out.PValue = headAbs.PValue
		out.Statistic = out.Absolute.Statistic
	}
	if out.PValue != nil {
		out.Significant = *out.PValue < alpha
	}
	if out.Significant && absEst != 0 {
		if (absEst > 0) == (dir != LowerIsBetter) {
			out.Verdict = Better
		} else {
			out.Verdict = Worse
		}
	}
	out.Summary = summarize(out, dir, conf)
	return out
}

// varianceOfRatios is the delta-method variance of M/D for random
// variables with means mM, mD, variances vM, vD and covariance cMD
// (gbstats utils.variance_of_ratios; Casella & Berger 2002, §5.5.4):
//
//	Var(M/D) ≈ vM/mD² + vD·mM²/mD⁴ − 2·cMD·mM/mD³.
func varianceOfRatios(mM, vM, mD, vD, cMD float64) float64 {
	if mD == 0 {
		return 0
	}
	return vM/(mD*mD) + vD*mM*mM/math.Pow(mD, 4) - 2*cMD*mM/math.Pow(mD, 3)
}

// relativeVarianceCUPED is gbstats frequentist_variance_relative_cuped:
// the delta-method variance of (x̄_t − θȳ_t − x̄_c + θȳ_c)/x̄_c with the
// control's unadjusted mean x̄_c in the denominator.
func relativeVarianceCUPED(c, t moments, theta float64) float64 {
	denT := t.n * c.mean * c.mean
	denC := c.n * c.mean * c.mean
	if denT == 0 || denC == 0 {
		return 0
	}
	vT := (t.variance + theta*theta*t.preVar - 2*theta*t.cov) / denT
	k := -t.mean
	numA := c.variance * k * k / (c.mean * c.mean)
	numB := 2 * theta * c.cov * k / c.mean
	numC := theta * theta * c.preVar
	return vT + (numA+numB+numC)/denC
}

// pooledTheta is gbstats compute_theta: θ = Cov(x, y)/Var(y) over the
// users of both arms together, from the summed sufficient statistics; 0
// when either pooled variance is 0 (CUPED then falls back to the
// unadjusted analysis).
func pooledTheta(c, t moments, proportion bool) float64 {
	n := c.n + t.n
	sx, sxx := c.sum+t.sum, c.sumSquares+t.sumSquares
	sy, syy := c.preSum+t.preSum, c.preSumSquares+t.preSumSquares
	sxy := c.sumProducts + t.sumProducts
	vx := sampleVariance(n, sx, sxx, proportion)
	vy := sampleVariance(n, sy, syy, proportion)
	if vx <= 0 || vy <= 0 {
		return 0
	}
	return covariance(n, sx, sy, sxy, proportion) / vy
}

// fixedEstimate is gbstats TwoSidedTTest: statistic est/se, two-sided
// p = 2·P(T_dof > |est/se|), interval est ± t_{dof,1−α/2}·se.
func fixedEstimate(est, se, dof, alpha float64) *Estimate {
	dist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: dof}
	stat := est / se
	p := math.Min(1, 2*dist.Survival(math.Abs(stat)))
	half := dist.Quantile(1-alpha/2) * se
	return &Estimate{Effect: est, StdError: se, CI: finiteInterval(est-half, est+half),
		Statistic: finitePtr(stat), DF: finitePtr(dof), PValue: finitePtr(p)}
}

// SequentialRho is gbstats sequential_rho, the mixing parameter of the
// normal-mixture confidence sequence that makes it tightest at N* total
// users (Waudby-Smith, Arnold, Wu, Howard, Lindon & Ramdas 2023,
// "Time-uniform central limit theory and asymptotic confidence
// sequences", arXiv:2103.06476v7, eq. 161):
//
//	ρ = √((−2 ln α + ln(−2 ln α + 1)) / N*).
func SequentialRho(alpha, tuning float64) float64 {
	return math.Sqrt((-2*math.Log(alpha) + math.Log(-2*math.Log(alpha)+1)) / tuning)
}

// sequentialEstimate is gbstats SequentialTwoSidedTTest. With n the users
// of both arms and s² = se²·n, the asymptotic confidence sequence has
// half-width (Waudby-Smith et al. 2023, eq. 9; Howard, Ramdas, McAuliffe
// & Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence
// sequences", Annals of Statistics 49)
//
//	s·√( 2(nρ²+1)/(n²ρ²) · ln(√(nρ²+1)/α) ),
//
// and the always-valid p-value is min(1, 1/E) with the e-value
// E = exp(ρ²·st²/(2(nρ²+1)))/√(nρ²+1), st² = est²·n/se² (eq. 155).
func sequentialEstimate(est, se, n, tuning, alpha float64) *Estimate {
	rho := SequentialRho(alpha, tuning)
	s2 := se * se * n
	r := n*rho*rho + 1
	half := math.Sqrt(s2) * math.Sqrt(2*r*math.Log(math.Sqrt(r)/alpha)/math.Pow(n*rho, 2))
	st2 := est * est * n / (se * se)
	// 1/E computed in logs so a huge statistic gives 0, not 1/Inf = NaN.
	logInvE := 0.5*math.Log(r) - rho*rho*st2/(2*r)
	p := math.Min(1, math.Exp(logInvE))
	return &Estimate{Effect: est, StdError: se, CI: finiteInterval(est-half, est+half), PValue: finitePtr(p)}
}

// bayesian is gbstats EffectBayesianABTest on the relative effect: a
// Gaussian likelihood N(est, v) times the prior N(μ₀, σ₀²) (flat when not
// proper) gives the posterior N(m, s²) with 1/s² = 1/v + 1/σ₀² and
// m = (est/v + μ₀/σ₀²)·s² (Gelman et al., "Bayesian Data Analysis", 3rd
// ed., §2.5). Chance to win is P(effect > 0) (P(effect < 0) when lower is
// better); the credible interval uses normal quantiles; the risks are
// the expected losses E[max(effect, 0)] of shipping control and
// E[max(−effect, 0)] of shipping the treatment (swapped when lower is
// better), in closed form: E[max(X,0)] = m·Φ(m/s) + s·φ(m/s).
func bayesian(est, v float64, prior Prior, dir Direction, alpha float64) *BayesianResult {
	prec := 1 / v
	m := est
	if prior.Proper && prior.StdDev > 0 {
		pv := prior.StdDev * prior.StdDev
		prec += 1 / pv
		m = (est/v + prior.Mean/pv) / prec
	}
	s := math.Sqrt(1 / prec)
	norm := distuv.Normal{Mu: m, Sigma: s}
	ctw := norm.Survival(0)
	z := m / s
	phi := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
	riskCtrl := m*distuv.UnitNormal.CDF(z) + s*phi
	riskTrt := -m*distuv.UnitNormal.CDF(-z) + s*phi
	if dir == LowerIsBetter {
		ctw = norm.CDF(0)
		riskCtrl, riskTrt = riskTrt, riskCtrl
	}
	return &BayesianResult{Prior: prior, Expected: m, StdDev: s, ChanceToWin: ctw,
		CI:          Interval{Low: norm.Quantile(alpha / 2), High: norm.Quantile(1 - alpha/2)},
		RiskControl: math.Max(0, riskCtrl), RiskTreatment: math.Max(0, riskTrt)}
}

// chiSquared is the secondary test for binomial metrics: Pearson's χ² on
// the 2×2 table without continuity correction (Pearson 1900), in its
// pooled two-proportion z form, z = (p_t − p_c)/√(p̄(1−p̄)(1/n_t + 1/n_c)),
// χ² = z², p = P(χ²₁ > z²) (= scipy.stats.chi2_contingency(correction=
// False)). When an expected cell count is below 5 (Cochran 1954, "Some
// methods for strengthening the common χ² tests", Biometrics 10) Fisher's
// exact p is added. nil when the table has an empty column.
func chiSquared(c, t moments) *ChiSquaredResult {
	xc, xt := math.Round(c.sum), math.Round(t.sum)
	n := c.n + t.n
	pooled := (xc + xt) / n
	pv := pooled * (1 - pooled) * (1/t.n + 1/c.n)
	if !(pv > 0) || !finite(pv) {
		return nil
	}
	z := (t.mean - c.mean) / math.Sqrt(pv)
	out := &ChiSquaredResult{Statistic: z * z, PValue: distuv.ChiSquared{K: 1}.Survival(z * z)}
	out.MinExpected = math.Min(math.Min(c.n, t.n)*pooled, math.Min(c.n, t.n)*(1-pooled))
	if out.MinExpected < 5 {
		p := FisherExact(int64(xt), int64(t.n-xt), int64(xc), int64(c.n-xc))
		out.FisherPValue = &p
		out.SmallSample = true
	}
	return out
}

// FisherExact is the two-sided p-value of Fisher's exact test on the 2×2
// table [[a, b], [c, d]] (Fisher 1922; Agresti 2013, §3.5.1): the total
// hypergeometric probability of the tables with the same margins that
// are no more likely than the observed one (relative tolerance 1e-7, as
// R's fisher.test and scipy.stats.fisher_exact).
func FisherExact(a, b, c, d int64) float64 {
	r1, c1, n := a+b, a+c, a+b+c+d
	lo, hi := max(0, c1-(n-r1)), min(r1, c1)
	logC := func(n, k int64) float64 {
		x, _ := math.Lgamma(float64(n + 1))
		y, _ := math.Lgamma(float64(k + 1))
		z, _ := math.Lgamma(float64(n - k + 1))
		return x - y - z
	}
	logp := func(k int64) float64 { return logC(c1, k) + logC(n-c1, r1-k) - logC(n, r1) }
	obs := logp(a)
	var p float64
	for k := lo; k <= hi; k++ {
		if lk := logp(k); lk <= obs+1e-7 {
			p += math.Exp(lk)
		}
	}
	return math.Min(1, p)
}
