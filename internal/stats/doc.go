// Package stats is Waypost's experiment statistics engine.
//
// It works only on per-variant sufficient statistics of per-user values
// (users n, Σx, Σx²), which the events database computes in one SQL
// statement (see package metricsql); raw events never reach this package.
// Everything is pure Go; distributions come from gonum.org/v1/gonum/stat/distuv.
//
// What is computed, and the source of each formula:
//
//   - Per variant: mean x̄ = Σx/n. Continuous metrics (count, duration,
//     revenue) use the unbiased sample variance s² = (Σx² − n·x̄²)/(n−1)
//     (clamped at 0 against rounding), as Welch's test and
//     scipy.stats.ttest_ind do. Binomial metrics use p = Σx/n and the
//     Bernoulli variance p(1−p) (divisor n, the maximum-likelihood
//     estimate), as GrowthBook's engine and the Wald interval do.
//   - Continuous metrics: Welch's unequal-variances t-test (Welch 1947,
//     "The generalization of Student's problem when several different
//     population variances are involved", Biometrika 34) with the
//     Welch–Satterthwaite degrees of freedom (Satterthwaite 1946,
//     Biometrics Bulletin 2), two-sided p-value, and a confidence interval
//     for the absolute difference using the t quantile at those df.
//   - Binomial metrics: Pearson's chi-squared test of independence on the
//     2×2 table (converted / not converted × control / treatment) without
//     Yates' continuity correction. It is algebraically identical to the
//     pooled two-proportion z-test (z² = χ²); it matches
//     scipy.stats.chi2_contingency(correction=False). Yates' correction is
//     not used because it is needlessly conservative at the sample sizes of
//     online experiments (Agresti, "Categorical Data Analysis", 3rd ed.,
//     §3.5.6). The confidence interval for the absolute difference uses the
//     unpooled normal (Wald) standard error √(p_t(1−p_t)/n_t + p_c(1−p_c)/n_c).
//   - Relative effect (lift = x̄_t/x̄_c − 1) and its interval by the delta
//     method: Var(lift) ≈ s_t²/(n_t x̄_c²) + s_c² x̄_t²/(n_c x̄_c⁴), interval
//     lift ± z_{1−α/2}·√Var (Kohavi, Tang & Xu, "Trustworthy Online
//     Controlled Experiments", 2020, ch. 18; GrowthBook statistics docs,
//     "Frequentist" section).
//   - Sample ratio mismatch: Pearson chi-squared goodness of fit of the
//     observed user counts against the intended weights, k−1 df, flagged
//     when p < 0.001 (Fabijan et al. 2019, "Diagnosing Sample Ratio
//     Mismatch in Online Controlled Experiments", KDD).
//   - Sample size: n per variant = (z_{1−α/2} + z_{1−β})² (σ_c² + σ_t²) / δ²
//     with δ = MDE·|x̄_c| (the normal-approximation formula for comparing
//     two means with unequal variances; Chow, Shao & Wang, "Sample Size
//     Calculations in Clinical Research", 2nd ed., 2008, §3.2.1; Kohavi et
//     al. 2020, ch. 17).
//   - Multiple comparisons: Holm–Bonferroni step-down adjusted p-values
//     (Holm 1979, "A simple sequentially rejective multiple test procedure",
//     Scandinavian Journal of Statistics 6).
//
// Degenerate data never panics and never produces NaN or ±Inf: every
// result carries a Status ("ok", "insufficient_data", "one_arm",
// "zero_variance", "zero_control_mean", "invalid_data") and a Message, and
// numeric fields that do not apply are nil pointers, omitted from JSON. All
// types marshal to JSON with snake_case keys so they can be stored as jsonb
// and served by the API unchanged.
package stats
