// Package stats is Waypost's experiment statistics engine.
//
// It works only on per-variant sufficient statistics of per-user values
// (users n, Σx, Σx², and for CUPED and ratio metrics Σy, Σy², Σxy), which
// the events database computes in one SQL statement per metric (see
// package metricsql); raw events never reach this package. Everything is
// pure Go; distributions come from gonum.org/v1/gonum/stat/distuv.
//
// # The contract
//
// Numbers follow GrowthBook's engine gbstats (growthbook/growthbook,
// packages/stats/gbstats) wherever both compute the same thing, and agree
// with it to 1e-6 relative (testdata/stats/reference.json, generated with
// scipy and mpmath; gbstats' published test numbers in gbstats_test.go):
//
//   - Per variant (models/statistics.py): binomial metrics use p = Σx/n
//     and the Bernoulli variance p(1−p) (ProportionStatistic); other
//     metrics the unbiased sample variance s² = (Σx² − (Σx)²/n)/(n−1)
//     (SampleMeanStatistic), clamped at 0 against rounding.
//   - Headline: the relative effect (x̄_t − x̄_c)/|x̄_c| with the delta-method
//     variance s_t²/(n_t x̄_c²) + s_c² x̄_t²/(n_c x̄_c⁴) (utils.py
//     frequentist_variance; Kohavi, Tang & Xu 2020, "Trustworthy Online
//     Controlled Experiments", ch. 18), tested with a t statistic at the
//     Welch–Satterthwaite degrees of freedom (Welch 1947; Satterthwaite
//     1946) computed from the per-user variances (TTest.dof). Its p-value
//     and interval come from the same t distribution, so "significant"
//     and "the interval excludes 0" always agree.
//   - Alongside: the absolute difference x̄_t − x̄_c with variance
//     s_t²/n_t + s_c²/n_c, the same df, its own p-value and interval.
//   - Binomial metrics also get Pearson's χ² on the 2×2 table without
//     continuity correction (= scipy chi2_contingency(correction=False)),
//     and when an expected cell is below 5 (Cochran 1954) Fisher's exact
//     two-sided p-value and a small-sample warning.
//   - Sequential testing (frequentist/tests.py SequentialTwoSidedTTest):
//     the asymptotic confidence sequence of Waudby-Smith et al. 2023
//     (arXiv:2103.06476v7, eq. 9) with ρ tuned for N* total users (eq.
//     161) and the always-valid p-value 1/E (eq. 155). Peeking at any time
//     keeps the false-positive rate at α (TestAASimulationPeeking).
//   - CUPED (Deng, Xu, Kohavi & Walker 2013, WSDM): the same metric in a
//     pre-exposure window as covariate y, θ = Cov(x, y)/Var(y) pooled over
//     the two arms compared (compute_theta), adjusted mean x̄ − θȳ and
//     variance s_x² + θ²s_y² − 2θ·Cov(x, y); the relative variance is
//     gbstats' frequentist_variance_relative_cuped. The variance
//     reduction 1 − Var_CUPED/Var_unadjusted is reported.
//   - Ratio metrics (RatioStatistic): Σx/Σd per variant, per-user variance
//     by the delta method s_x²/d̄² + s_d² x̄²/d̄⁴ − 2 Cov(x, d) x̄/d̄³.
//   - Bayesian view (bayesian/tests.py EffectBayesianABTest): a Gaussian
//     prior on the relative effect (flat by default, as gbstats), normal
//     posterior; chance to win, credible interval and the risks (expected
//     loss) of shipping control or the treatment.
//   - Multiple testing: Holm (1979) and Benjamini–Hochberg (1995) adjusted
//     p-values, and GrowthBook's adjusted intervals (AdjustedCI).
//   - Sample ratio mismatch: Pearson's goodness of fit, k−1 df, flagged at
//     p < 0.001 (Fabijan et al. 2019, KDD).
//   - Sample size: n per variant = (z_{1−α/2} + z_{1−β})² (σ_c² + σ_t²) / δ²
//     with δ = MDE·|x̄_c| (Chow, Shao & Wang 2008, §3.2.1).
//
// Deviations from gbstats, on purpose: where gbstats returns an empty
// result because the control mean is 0 or one arm has zero variance, the
// absolute analysis is still reported (with Status zero_control_mean or
// zero_variance and a message).
//
// Degenerate data never panics and never produces NaN or ±Inf: every
// result carries a Status ("ok", "insufficient_data", "one_arm",
// "zero_variance", "zero_control_mean", "zero_denominator",
// "invalid_data") and a Message, and numeric fields that do not apply are
// nil pointers, omitted from JSON. All types marshal to JSON with
// snake_case keys so they can be stored as jsonb and served by the API
// unchanged.
package stats
