#!/usr/bin/python3
"""Reference numbers for internal/stats (gbstats conventions).

Run with Debian's Python (apt-get install python3-scipy python3-mpmath):

    /usr/bin/python3 testdata/stats/generate.py

Writes reference.json next to this file. Every case starts from per-user
values drawn with a fixed seed (numpy default_rng), reduced to the
sufficient statistics Waypost's SQL returns (n, sums, sums of squares,
cross-products). The expected numbers are computed here, independently of
the Go code, from the per-user arrays wherever an off-the-shelf routine
exists (scipy.stats.ttest_ind(equal_var=False) on the values or on the
CUPED-adjusted values, np.cov for θ, scipy.stats.chi2_contingency and
fisher_exact), and otherwise from gbstats' published formulas (cited
below, growthbook/growthbook packages/stats/gbstats) evaluated in mpmath
at 50 digits. Tests read the committed JSON; they never need Python.
"""

import json
import math
import os

import mpmath as mp
import numpy as np
import scipy
from scipy import stats

mp.mp.dps = 50
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261201


def f(x):
    x = float(x)
    assert math.isfinite(x), x
    return x


def sums(x, pre=None, den=None):
    x = np.asarray(x, dtype=float)
    out = dict(users=len(x), sum=f(x.sum()), sum_squares=f((x * x).sum()))
    if pre is not None:
        y = np.asarray(pre, dtype=float)
        out["pre"] = dict(sum=f(y.sum()), sum_squares=f((y * y).sum()), sum_products=f((x * y).sum()))
    if den is not None:
        d = np.asarray(den, dtype=float)
        out["denominator"] = dict(sum=f(d.sum()), sum_squares=f((d * d).sum()), sum_products=f((x * d).sum()))
    return out


def var_of(x, binomial):
    x = np.asarray(x, dtype=float)
    if binomial:
        p = x.mean()
        return p * (1 - p)  # ProportionStatistic.variance
    return np.var(x, ddof=1)  # SampleMeanStatistic.variance


def t_estimate(est, se, dof, alpha):
    """gbstats TwoSidedTTest in mpmath: p = 2(1 - F_t(|est/se|)), CI est ± t_{1-α/2} se."""
    est, se, dof = mp.mpf(est), mp.mpf(se), mp.mpf(dof)
    stat = est / se
    # Student t survival function via the regularized incomplete beta.
    x = dof / (dof + stat * stat)
    p = mp.betainc(dof / 2, mp.mpf(1) / 2, 0, x, regularized=True)
    q = mp.mpf(stats.t.ppf(1 - alpha / 2, float(dof)))
    # refine the quantile with Newton steps in mpmath
    for _ in range(3):
        xx = dof / (dof + q * q)
        cdf = 1 - mp.betainc(dof / 2, mp.mpf(1) / 2, 0, xx, regularized=True) / 2
        pdf = mp.gamma((dof + 1) / 2) / (mp.sqrt(dof * mp.pi) * mp.gamma(dof / 2)) * (1 + q * q / dof) ** (-(dof + 1) / 2)
        q = q - (cdf - (1 - mp.mpf(alpha) / 2)) / pdf
    return dict(effect=f(est), std_error=f(se), statistic=f(stat), df=f(dof), p_value=f(min(p, 1)),
                ci=[f(est - q * se), f(est + q * se)])


def sequential(est, se, n, tuning, alpha):
    """gbstats SequentialTwoSidedTTest (Waudby-Smith et al. 2023, eq. 9, 155, 161)."""
    est, se, n, tuning, a = mp.mpf(est), mp.mpf(se), mp.mpf(n), mp.mpf(tuning), mp.mpf(alpha)
    rho = mp.sqrt((-2 * mp.log(a) + mp.log(-2 * mp.log(a) + 1)) / tuning)
    s2 = se * se * n
    half = mp.sqrt(s2) * mp.sqrt(2 * (n * rho ** 2 + 1) * mp.log(mp.sqrt(n * rho ** 2 + 1) / a) / (n * rho) ** 2)
    st2 = est ** 2 * n / se ** 2
    r = n * rho ** 2 + 1
    evalue = mp.exp(rho ** 2 * st2 / (2 * r)) / mp.sqrt(r)
    return dict(effect=f(est), ci=[f(est - half), f(est + half)], p_value=f(min(1 / evalue, 1)))


def bayes(est, v, prior, lower, alpha):
    """gbstats EffectBayesianABTest with a (relative) Gaussian prior; risk via truncated normal means."""
    est, v = mp.mpf(est), mp.mpf(v)
    prec = 1 / v
    m = est
    if prior["proper"]:
        pv = mp.mpf(prior["std_dev"]) ** 2
        prec += 1 / pv
        m = (est / v + mp.mpf(prior["mean"]) / pv) / prec
    s = mp.sqrt(1 / prec)
    ncdf = lambda z: mp.ncdf(z)
    ctw = 1 - ncdf(-m / s)
    # truncated normal means (scipy truncnorm in gbstats), in closed form
    pdf0 = mp.npdf(-m / s)
    p_neg = ncdf(-m / s)
    mn_pos = m + s * pdf0 / (1 - p_neg)
    mn_neg = m - s * pdf0 / p_neg
    risk_ctrl = (1 - p_neg) * mn_pos
    risk_trt = -p_neg * mn_neg
    if lower:
        ctw = 1 - ctw
        risk_ctrl, risk_trt = risk_trt, risk_ctrl
    z = mp.sqrt(2) * mp.erfinv(1 - mp.mpf(alpha))
    return dict(expected=f(m), std_dev=f(s), chance_to_win=f(ctw), ci=[f(m - z * s), f(m + z * s)],
                risk_control=f(risk_ctrl), risk_treatment=f(risk_trt))


def compare(c, t, binomial=False, alpha=0.05, tuning=5000, prior=None, lower=False, pre_c=None, pre_t=None,
            den_c=None, den_t=None):
    c, t = np.asarray(c, float), np.asarray(t, float)
    nc, nt = len(c), len(t)
    out = {}
    if den_c is not None:
        # Ratio metric: per-user delta method (gbstats RatioStatistic.variance):
        # Var = s_m²/μ_d² + s_d² μ_m²/μ_d⁴ − 2 Cov(m,d) μ_m/μ_d³, np.cov (ddof 1).
        def ratio(m, d):
            cm = np.cov(m, d, ddof=1)
            mm, md = mp.mpf(m.mean()), mp.mpf(d.mean())
            v = mp.mpf(cm[0, 0]) / md ** 2 + mp.mpf(cm[1, 1]) * mm ** 2 / md ** 4 - 2 * mp.mpf(cm[0, 1]) * mm / md ** 3
            return mp.mpf(m.sum()) / mp.mpf(d.sum()), v
        mc, vc = ratio(c, np.asarray(den_c, float))
        mt, vt = ratio(t, np.asarray(den_t, float))
        abs_v = vt / nt + vc / nc
        dof = abs_v ** 2 / (vt ** 2 / (nt ** 2 * (nt - 1)) + vc ** 2 / (nc ** 2 * (nc - 1)))
        rel_v = vt / (nt * mc ** 2) + vc * mt ** 2 / (nc * mc ** 4)
        abs_est, rel_est = mt - mc, (mt - mc) / abs(mc)
        out["absolute"] = t_estimate(abs_est, mp.sqrt(abs_v), dof, alpha)
        out["relative"] = t_estimate(rel_est, mp.sqrt(rel_v), dof, alpha)
    elif pre_c is not None:
        yc, yt = np.asarray(pre_c, float), np.asarray(pre_t, float)
        # gbstats: proportions use divisor n for variances and covariances
        # (ProportionStatistic, compute_covariance), other metrics n - 1.
        ddof = 0 if binomial else 1
        x, y = np.concatenate([c, t]), np.concatenate([yc, yt])
        cm = np.cov(x, y, ddof=ddof)
        theta = cm[0, 1] / cm[1, 1]  # pooled θ = Cov(x,y)/Var(y) (gbstats compute_theta)
        ac, at = c - theta * yc, t - theta * yt  # per-user CUPED-adjusted values
        va, vb = np.var(ac, ddof=ddof), np.var(at, ddof=ddof)
        dof = (vb / nt + va / nc) ** 2 / (vb ** 2 / (nt ** 2 * (nt - 1)) + va ** 2 / (nc ** 2 * (nc - 1)))
        se = math.sqrt(vb / nt + va / nc)
        d = at.mean() - ac.mean()
        out["absolute"] = t_estimate(d, se, dof, 0.05 if alpha is None else alpha)
        if not binomial:
            r = stats.ttest_ind(at, ac, equal_var=False)
            assert abs(out["absolute"]["p_value"] - r.pvalue) <= 1e-9 * r.pvalue, (out["absolute"], r)
        # relative: gbstats frequentist_variance_relative_cuped
        mua, mub = mp.mpf(c.mean()), mp.mpf(t.mean())
        ca, cb = np.cov(c, yc, ddof=ddof), np.cov(t, yt, ddof=ddof)
        th = mp.mpf(theta)
        v_trt = (mp.mpf(cb[0, 0]) + th ** 2 * mp.mpf(cb[1, 1]) - 2 * th * mp.mpf(cb[0, 1])) / (nt * mua ** 2)
        k = -mub
        v_ctrl = (mp.mpf(ca[0, 0]) * k ** 2 / mua ** 2 + 2 * th * mp.mpf(ca[0, 1]) * k / mua
                  + th ** 2 * mp.mpf(ca[1, 1])) / (nc * mua ** 2)
        rel_v = v_trt + v_ctrl
        rel_est = mp.mpf(d) / abs(mua)
        out["relative"] = t_estimate(rel_est, mp.sqrt(rel_v), dof, alpha)
        unadj = mp.mpf(np.var(t, ddof=ddof)) / (nt * mua ** 2) + mp.mpf(np.var(c, ddof=ddof)) * mub ** 2 / (nc * mua ** 4)
        out["cuped"] = dict(theta=f(theta), variance_reduction=f(1 - rel_v / unadj))
        abs_est = d
        abs_v = mp.mpf(se) ** 2
    else:
        vc, vt = var_of(c, binomial), var_of(t, binomial)
        mc, mt = c.mean(), t.mean()
        abs_v = mp.mpf(vt) / nt + mp.mpf(vc) / nc
        dof = abs_v ** 2 / (mp.mpf(vt) ** 2 / (nt ** 2 * (nt - 1)) + mp.mpf(vc) ** 2 / (nc ** 2 * (nc - 1)))
        if not binomial:
            # cross-check the absolute analysis with scipy's Welch test
            r = stats.ttest_ind(t, c, equal_var=False)
            assert abs(float(dof) - r.df) < 1e-6 * r.df if hasattr(r, "df") else True
        abs_est = mp.mpf(mt) - mp.mpf(mc)
        rel_est = abs_est / abs(mp.mpf(mc))
        rel_v = mp.mpf(vt) / (nt * mp.mpf(mc) ** 2) + mp.mpf(vc) * mp.mpf(mt) ** 2 / (nc * mp.mpf(mc) ** 4)
        out["absolute"] = t_estimate(abs_est, mp.sqrt(abs_v), dof, alpha)
        out["relative"] = t_estimate(rel_est, mp.sqrt(rel_v), dof, alpha)
        if not binomial:
            r = stats.ttest_ind(t, c, equal_var=False)
            assert abs(out["absolute"]["p_value"] - r.pvalue) <= 1e-9 * max(r.pvalue, 1e-300), (out["absolute"], r)
        if binomial:
            xc, xt = int(c.sum()), int(t.sum())
            table = [[xt, nt - xt], [xc, nc - xc]]
            chi2, p, _, expct = stats.chi2_contingency(table, correction=False)
            cs = dict(statistic=f(chi2), p_value=f(p), min_expected=f(expct.min()))
            if expct.min() < 5:
                cs["fisher_p_value"] = f(stats.fisher_exact(table)[1])
            out["chi_squared"] = cs
    n = nc + nt
    rel_est = mp.mpf(out["relative"]["effect"])
    rel_v = mp.mpf(out["relative"]["std_error"]) ** 2
    out["sequential"] = dict(
        tuning_parameter=tuning,
        relative=sequential(rel_est, mp.sqrt(rel_v), n, tuning, alpha),
        absolute=sequential(out["absolute"]["effect"], out["absolute"]["std_error"], n, tuning, alpha))
    out["bayesian"] = bayes(rel_est, rel_v, prior or dict(proper=False, mean=0, std_dev=0), lower, alpha)
    return out


def case(name, metric_type, arms, binomial=False, alpha=0.05, tuning=5000, prior=None, direction="higher",
         pre=None, den=None, note=""):
    variants = list(arms)
    vs = []
    for i, v in enumerate(variants):
        vs.append(dict(variant=v, **sums(arms[v], pre[v] if pre else None, den[v] if den else None)))
    comps = []
    ctrl = variants[0]
    for v in variants[1:]:
        comp = compare(arms[ctrl], arms[v], binomial=binomial, alpha=alpha, tuning=tuning, prior=prior,
                       lower=direction == "lower",
                       pre_c=pre[ctrl] if pre else None, pre_t=pre[v] if pre else None,
                       den_c=den[ctrl] if den else None, den_t=den[v] if den else None)
        comp["variant"] = v
        comps.append(comp)
    opts = dict(metric_type=metric_type, direction=direction, confidence=1 - alpha, sequential_tuning=tuning,
                prior=prior or dict(proper=False, mean=0, std_dev=0), cuped=pre is not None, ratio=den is not None)
    return dict(name=name, note=note, options=opts, variants=vs, comparisons=comps)


def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, run = [0.0] * m, 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (m - k) * p[i]))
        out[i] = run
    return out


def bh(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, run = [0.0] * m, 1.0
    for k in range(m - 1, -1, -1):
        i = order[k]
        run = min(run, min(1.0, p[i] * m / (k + 1)))
        out[i] = run
    return out


def adjusted_ci(padj, lift, alpha, ci):
    """GrowthBook shared/experiments.ts adjustedCI / getAdjustedCI."""
    if padj > 0.999999:
        return None
    z = stats.norm.ppf(1 - alpha / 2)
    sd = abs(lift / stats.norm.ppf(1 - padj / 2))
    lo, hi = lift - z * sd, lift + z * sd
    return [f(lo), f(hi)] if lo < ci[0] and hi > ci[1] else ci


def main():
    rng = np.random.default_rng(SEED)
    cases = []

    # Continuous (revenue-like), 2 arms.
    c = rng.lognormal(1.0, 0.8, 1800)
    t = rng.lognormal(1.05, 0.8, 1900)
    cases.append(case("continuous", "revenue", {"control": c, "treatment": t},
                      note="lognormal revenue; flat prior"))
    cases.append(case("continuous_proper_prior_lower", "duration", {"control": c, "treatment": t},
                      prior=dict(proper=True, mean=0.02, std_dev=0.1), direction="lower", alpha=0.1, tuning=2000,
                      note="proper prior N(0.02, 0.1²), lower is better, 90% confidence, N*=2000"))

    # Binomial.
    c = (rng.random(3000) < 0.10).astype(float)
    t = (rng.random(3100) < 0.115).astype(float)
    cases.append(case("binomial", "binomial", {"control": c, "treatment": t}, binomial=True))

    # Tiny binomial sample: Fisher's exact test.
    cases.append(case("tiny_binomial", "binomial", {"control": np.array([1, 0, 0, 0, 0, 0], float),
                                                     "treatment": np.array([1, 1, 1, 0, 1, 0, 1], float)},
                      binomial=True, note="expected cells < 5: Fisher's exact p"))

    # CUPED on correlated pre-period data.
    n = 2500
    base_c, base_t = rng.gamma(2.0, 5.0, n), rng.gamma(2.0, 5.0, n + 77)
    pre_c = base_c + rng.normal(0, 3, n)
    pre_t = base_t + rng.normal(0, 3, n + 77)
    post_c = base_c + rng.normal(0, 3, n)
    post_t = base_t * 1.03 + rng.normal(0, 3, n + 77)
    cases.append(case("cuped", "revenue", {"control": post_c, "treatment": post_t},
                      pre={"control": pre_c, "treatment": pre_t},
                      note="post = user level + noise, pre = same level + noise (ρ ≈ 0.8)"))
    cases.append(case("uncorrected_same_data", "revenue", {"control": post_c, "treatment": post_t},
                      note="the CUPED case without the covariate"))

    # CUPED binomial (proportions on both periods).
    lc, lt = rng.random(4000) < 0.3, rng.random(4000) < 0.3
    pre_bc = (rng.random(4000) < np.where(lc, 0.6, 0.05)).astype(float)
    pre_bt = (rng.random(4000) < np.where(lt, 0.6, 0.05)).astype(float)
    post_bc = (rng.random(4000) < np.where(lc, 0.6, 0.05)).astype(float)
    post_bt = (rng.random(4000) < np.where(lt, 0.65, 0.06)).astype(float)
    cases.append(case("cuped_binomial", "binomial", {"control": post_bc, "treatment": post_bt}, binomial=True,
                      pre={"control": pre_bc, "treatment": pre_bt}))

    # Ratio metric: revenue per order.
    oc, ot = rng.poisson(2.0, 2000).astype(float), rng.poisson(2.1, 2100).astype(float)
    rc = np.array([rng.lognormal(2.0, 0.5, int(k)).sum() for k in oc])
    rt = np.array([rng.lognormal(2.05, 0.5, int(k)).sum() for k in ot])
    cases.append(case("ratio", "revenue", {"control": rc, "treatment": rt}, den={"control": oc, "treatment": ot},
                      note="revenue per order: Σrevenue/Σorders per variant"))

    # Capped heavy tail: values capped at their pooled 99th percentile (numpy linear = percentile_cont).
    hc, ht = rng.pareto(1.5, 3000) * 10, rng.pareto(1.5, 3000) * 11
    cap = np.percentile(np.concatenate([hc, ht]), 99)
    cases.append(case("heavy_tail_uncapped", "revenue", {"control": hc, "treatment": ht}))
    cases.append(case("heavy_tail_capped_p99", "revenue", {"control": np.minimum(hc, cap), "treatment": np.minimum(ht, cap)},
                      note="cap = %.6f (p99 of both arms)" % cap))

    # Three variants.
    a3 = (rng.random(5000) < 0.20).astype(float)
    b3 = (rng.random(5000) < 0.21).astype(float)
    c3 = (rng.random(5000) < 0.225).astype(float)
    three = case("three_variants", "binomial", {"control": a3, "b": b3, "c": c3}, binomial=True)
    cases.append(three)
    r3 = rng.lognormal(1.0, 1.0, 5000), rng.lognormal(1.0, 1.0, 5000), rng.lognormal(1.06, 1.0, 5000)
    three_rev = case("three_variants_revenue", "revenue", {"control": r3[0], "b": r3[1], "c": r3[2]})
    cases.append(three_rev)

    # Corrections across metrics × variants of the two three-variant cases.
    fam = [(k, comp) for k in (three, three_rev) for comp in k["comparisons"]]
    p = [comp["relative"]["p_value"] for _, comp in fam]
    ph, pb = holm(p), bh(p)
    corrections = dict(
        note="metrics × variants of three_variants and three_variants_revenue, in that order",
        p_values=p, holm=ph, benjamini_hochberg=pb,
        holm_ci=[adjusted_ci(ph[i], comp["relative"]["effect"], 0.05, comp["relative"]["ci"]) for i, (_, comp) in enumerate(fam)],
        bh_ci=[adjusted_ci(pb[i], comp["relative"]["effect"], 0.05, comp["relative"]["ci"]) for i, (_, comp) in enumerate(fam)])

    # Five peeks: the fixed test crosses alpha at some peek, the sequential one never does.
    peeks = None
    for seed in range(1, 500):
        r = np.random.default_rng(seed)
        xc, xt = r.normal(10, 4, 2000), r.normal(10.15, 4, 2000)
        looks = []
        for k in range(1, 6):
            m = 400 * k
            comp = compare(xc[:m], xt[:m], tuning=2000)
            looks.append(dict(variants=[dict(variant="control", **sums(xc[:m])), dict(variant="treatment", **sums(xt[:m]))],
                              fixed_p=comp["relative"]["p_value"], sequential_p=comp["sequential"]["relative"]["p_value"],
                              sequential_ci=comp["sequential"]["relative"]["ci"], fixed_ci=comp["relative"]["ci"]))
        if any(l["fixed_p"] < 0.05 for l in looks[:3]) and all(l["sequential_p"] >= 0.05 for l in looks):
            peeks = dict(seed=seed, tuning_parameter=2000, looks=looks)
            break
    assert peeks is not None

    out = dict(generator="testdata/stats/generate.py", seed=SEED, scipy_version=scipy.__version__,
               numpy_version=np.__version__, mpmath_version=mp.__version__, cases=cases,
               corrections=corrections, peeks=peeks)
    with open(os.path.join(HERE, "reference.json"), "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
