#!/usr/bin/python3
"""Generate the experiment datasets and their expected statistics.

Run with Debian's Python and scipy (apt-get install python3-scipy):

    /usr/bin/python3 testdata/experiments/generate.py

Writes, next to this file, one directory per dataset holding exposures.csv
(experiment_key,user_id,variant,timestamp) and events_<name>.csv
(user_id,timestamp[,value]), plus expected.json with every dataset's
analysis settings and the expected results.

The expected results are computed independently of Waypost's SQL and Go
code: users and events are aggregated per user in plain Python, then tested
with scipy following gbstats' conventions (the relative effect's delta-method
t-test is the headline; ttest_ind(equal_var=False) cross-checks the absolute
one; chisquare for the SRM; t.ppf / t.sf). The output is deterministic
(fixed seed).
"""

import csv
import json
import math
import os
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import numpy as np
import scipy
from scipy import stats

SEED = 20260301
HERE = os.path.dirname(os.path.abspath(__file__))
CONFIDENCE = 0.95
UTC = timezone.utc


def ts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


class Dataset:
    def __init__(self, name, key, start, end, variants, weights):
        self.name, self.key, self.start, self.end = name, key, start, end
        self.variants, self.weights = variants, weights
        self.exposures = []  # (key, user, variant, datetime)
        self.events = defaultdict(list)  # file name -> [(user, datetime, value|None)]
        self.metrics = []

    def expose(self, user, variant, when, key=None):
        self.exposures.append((key or self.key, user, variant, when))

    def event(self, file, user, when, value=None):
        self.events[file].append((user, when, value))

    def metric(self, name, mtype, file, direction="higher", window_hours=None, cap=None, cuped_window_days=None,
               denominator=None):
        m = dict(name=name, type=mtype, events_file="events_%s.csv" % file,
                 direction=direction, window_hours=window_hours, cap=cap)
        if cuped_window_days is not None:
            m["cuped_window_days"] = cuped_window_days
        if denominator is not None:
            m["denominator"] = dict(events_file="events_%s.csv" % denominator[0], type=denominator[1])
        self.metrics.append(m)

    def write(self):
        d = os.path.join(HERE, self.name)
        os.makedirs(d, exist_ok=True)
        rows = sorted(self.exposures, key=lambda r: (r[3], r[1], r[2], r[0]))
        with open(os.path.join(d, "exposures.csv"), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["experiment_key", "user_id", "variant", "timestamp"])
            for k, u, v, t in rows:
                w.writerow([k, u, v, ts(t)])
        for file, evs in self.events.items():
            valued = any(e[2] is not None for e in evs) or file in self.valued_files()
            with open(os.path.join(d, "events_%s.csv" % file), "w", newline="") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(["user_id", "timestamp"] + (["value"] if valued else []))
                for u, t, v in sorted(evs, key=lambda e: (e[1], e[0])):
                    w.writerow([u, ts(t)] + ([repr(v)] if valued else []))

    def valued_files(self):
        out = {m["events_file"][7:-4] for m in self.metrics if m["type"] in ("duration", "revenue")}
        out |= {m["denominator"]["events_file"][7:-4] for m in self.metrics
                if m.get("denominator") and m["denominator"]["type"] in ("duration", "revenue")}
        return out


# ---------------------------------------------------------------------------
# Independent analysis: per-user aggregation in plain Python, then scipy.

def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def per_user_values(ds, m):
    """Per-user values of the analysed users, and the excluded-user count,
    read back from the CSV files (so exactly what the database sees).
    With CUPED also the pre-exposure values, with a ratio the denominators:
    returns (values, pre, den) dicts of variant -> list, excluded count."""
    d = os.path.join(HERE, ds.name)
    first, seen = {}, defaultdict(set)
    for r in read_csv(os.path.join(d, "exposures.csv")):
        t = parse_ts(r["timestamp"])
        if r["experiment_key"] != ds.key or t > ds.end:
            continue
        u = r["user_id"]
        first[u] = min(first.get(u, t), t)
        seen[u].add(r["variant"])
    excluded = {u for u in first if len(seen[u]) > 1}
    users = {u: (next(iter(seen[u])), first[u]) for u in first if u not in excluded}

    def aggregate(file, mtype, inside):
        qualifying = defaultdict(list)
        for r in read_csv(os.path.join(d, file)):
            u = r["user_id"]
            if u in users and inside(parse_ts(r["timestamp"]), users[u][1]):
                qualifying[u].append(float(r["value"]) if r.get("value") not in (None, "") else None)
        values = {}
        for u in users:
            ev = qualifying.get(u, [])
            if mtype == "binomial":
                values[u] = 1.0 if ev else 0.0
            elif mtype == "count":
                values[u] = float(len(ev))
            else:
                values[u] = float(sum(v for v in ev if v is not None))
        return values

    def post_window(t, f):  # [first exposure, min(first exposure + window, end)]
        end = ds.end
        if m["window_hours"] is not None:
            end = min(end, f + timedelta(hours=m["window_hours"]))
        return f <= t <= end

    def pre_window(t, f):  # [first exposure - CUPED window, first exposure)
        return f - timedelta(days=m["cuped_window_days"]) <= t < f

    values = aggregate(m["events_file"], m["type"], post_window)
    pre = aggregate(m["events_file"], m["type"], pre_window) if m.get("cuped_window_days") else None
    den = None
    if m.get("denominator"):
        den = aggregate(m["denominator"]["events_file"], m["denominator"]["type"], post_window)
    cap = m["cap"]
    if cap is not None:
        if "value" in cap:
            c = cap["value"]
        else:
            # numpy's default (linear) percentile == PostgreSQL percentile_cont.
            c = float(np.percentile(np.array(list(values.values())), cap["percentile"] * 100))
        values = {u: min(v, c) for u, v in values.items()}
        if pre is not None:
            pre = {u: min(v, c) for u, v in pre.items()}
    by_variant, pre_by, den_by = defaultdict(list), defaultdict(list), defaultdict(list)
    for u, (variant, _) in sorted(users.items()):
        by_variant[variant].append(values[u])
        if pre is not None:
            pre_by[variant].append(pre[u])
        if den is not None:
            den_by[variant].append(den[u])
    if pre is None and den is None:
        return by_variant, len(excluded)
    return (by_variant, pre_by if pre is not None else None, den_by if den is not None else None), len(excluded)


def num(x):
    x = float(x)
    assert math.isfinite(x), x
    return x


def t_test(est, se, df):
    """Two-sided t-test and interval (gbstats TwoSidedTTest)."""
    stat = est / se
    q = stats.t.ppf(1 - (1 - CONFIDENCE) / 2, df)
    return num(stat), num(min(1.0, 2 * stats.t.sf(abs(stat), df))), [num(est - q * se), num(est + q * se)]


def compare(mtype, direction, c, t):
    """One treatment (array t) against control (array c), gbstats conventions:
    binomial variance p(1-p), other metrics the sample variance (ddof 1);
    Welch-Satterthwaite df; the relative effect (mean_t - mean_c)/|mean_c|
    with its delta-method standard error is the headline (statistic,
    p-value, relative CI); the absolute difference has its own t interval."""
    out = {}
    nc, nt = len(c), len(t)
    mc, mt = float(np.mean(c)), float(np.mean(t))
    out["absolute_effect"] = num(mt - mc)
    if mc != 0:
        out["relative_effect"] = num((mt - mc) / abs(mc))
    if nc < 2 or nt < 2:
        out["status"] = "insufficient_data"
        return out
    if mtype == "binomial":
        vc, vt = mc * (1 - mc), mt * (1 - mt)  # Bernoulli variance, divisor n
    else:
        vc, vt = float(np.var(c, ddof=1)), float(np.var(t, ddof=1))
    a, b = vt / nt, vc / nc
    if a + b == 0:
        out["status"] = "zero_variance"
        return out
    df = (a + b) ** 2 / (a * a / (nt - 1) + b * b / (nc - 1))
    stat, p, ci = t_test(mt - mc, math.sqrt(a + b), df)
    if mtype != "binomial":
        r = stats.ttest_ind(t, c, equal_var=False)  # cross-check with scipy's Welch test
        assert abs(r.pvalue - p) <= 1e-9 * p, (r, p)
    out.update(statistic=stat, p_value=p, df=num(df), absolute_ci=ci)
    if mc == 0:
        out["status"] = "zero_control_mean"
    elif vc == 0 or vt == 0:
        out["status"] = "zero_variance"
    else:
        out["status"] = "ok"
        var = vt / (nt * mc ** 2) + vc * mt ** 2 / (nc * mc ** 4)
        stat, p, ci = t_test((mt - mc) / abs(mc), math.sqrt(var), df)
        out.update(statistic=stat, p_value=p, relative_ci=ci)
    verdict = "inconclusive"
    if out["p_value"] < 1 - CONFIDENCE and mt != mc:
        verdict = "better" if (mt > mc) == (direction == "higher") else "worse"
    out["verdict"] = verdict
    return out


def gbstats_reference():
    """compare() of testdata/stats/generate.py: gbstats' conventions for
    CUPED and ratio metrics, from per-user arrays (scipy, mpmath)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("statsref", os.path.join(HERE, "..", "stats", "generate.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def expected_gb(ds, m):
    """Expected results of a CUPED or ratio metric."""
    ref = gbstats_reference()
    (by_variant, pre_by, den_by), excluded = per_user_values(ds, m)
    variants = []
    for v in ds.variants:
        x = np.array(by_variant.get(v, []), dtype=float)
        row = dict(variant=v, users=len(x))
        if not np.all(np.isfinite(x)):
            row["non_finite"] = True
        else:
            row.update(ref.sums(x, pre_by[v] if pre_by else None, den_by[v] if den_by else None))
        variants.append(row)
    out = dict(excluded_users=excluded, variants=variants, comparisons=[])
    if any(r.get("non_finite") for r in variants):
        out["status"] = "invalid_data"
        return dict(m, expected=out)
    ctrl = ds.variants[0]
    status = "ok"
    for v in ds.variants[1:]:
        if den_by and (sum(den_by[ctrl]) == 0 or sum(den_by[v]) == 0):
            out["comparisons"].append(dict(variant=v, status="zero_denominator", verdict="inconclusive"))
            status = "zero_denominator"
            continue
        pre_c = pre_by[ctrl] if pre_by else None
        cuped = pre_by is not None and np.var(np.concatenate([pre_by[ctrl], pre_by[v]])) > 0
        comp = ref.compare(by_variant[ctrl], by_variant[v], binomial=m["type"] == "binomial",
                           pre_c=pre_c if cuped else None, pre_t=pre_by[v] if cuped else None,
                           den_c=den_by[ctrl] if den_by else None, den_t=den_by[v] if den_by else None)
        c = dict(variant=v, status="ok", relative=comp["relative"], absolute=comp["absolute"],
                 cuped_applied=bool(cuped))
        if "cuped" in comp:
            c["cuped"] = comp["cuped"]
        p = comp["relative"]["p_value"]
        c["verdict"] = "inconclusive" if p >= 1 - CONFIDENCE else (
            "better" if (comp["absolute"]["effect"] > 0) == (m["direction"] == "higher") else "worse")
        out["comparisons"].append(c)
    out["status"] = status
    return dict(m, expected=out)


def expected(ds):
    metrics = []
    srm = None
    for m in ds.metrics:
        if m.get("cuped_window_days") or m.get("denominator"):
            metrics.append(expected_gb(ds, m))
            continue
        by_variant, excluded = per_user_values(ds, m)
        if not all(np.all(np.isfinite(x)) for x in by_variant.values()):
            # NaN or Inf in the events: a per-metric error, no numbers.
            metrics.append(dict(m, expected=dict(status="invalid_data", excluded_users=excluded,
                                                 variants=[], comparisons=[])))
            continue
        variants = []
        for v in ds.variants:
            x = np.array(by_variant.get(v, []), dtype=float)
            row = dict(variant=v, users=len(x), sum=float(x.sum()), sum_squares=float((x * x).sum()))
            if len(x):
                row["mean"] = float(x.mean())
                if m["type"] == "binomial":
                    row["variance"] = row["mean"] * (1 - row["mean"])
                elif len(x) > 1:
                    row["variance"] = float(np.var(x, ddof=1))
            variants.append(row)
        assert set(by_variant) <= set(ds.variants), by_variant.keys()
        control = np.array(by_variant.get(ds.variants[0], []), dtype=float)
        comparisons = []
        with_users = sum(1 for v in ds.variants if by_variant.get(v))
        for v in ds.variants[1:]:
            if with_users < 2:
                comparisons.append(dict(variant=v, status="one_arm", verdict="inconclusive"))
                continue
            c = dict(variant=v)
            c.update(compare(m["type"], m["direction"], control, np.array(by_variant.get(v, []), dtype=float)))
            c.setdefault("verdict", "inconclusive")
            comparisons.append(c)
        status = "one_arm" if with_users < 2 else next(
            (c["status"] for c in comparisons if c["status"] != "ok"), "ok")
        metrics.append(dict(m, expected=dict(status=status, excluded_users=excluded,
                                             variants=variants, comparisons=comparisons)))
        counts = [len(by_variant.get(v, [])) for v in ds.variants]
        if srm is None and sum(counts) > 0 and len(ds.variants) > 1:
            total = sum(counts)
            exp = [total * w / sum(ds.weights) for w in ds.weights]
            chi2, p = stats.chisquare(counts, exp)
            srm = dict(observed=counts, chi_squared=float(chi2), p_value=float(p), mismatch=bool(p < 0.001))
    return dict(name=ds.name, experiment_key=ds.key, analysis_end=ts(ds.end), variants=ds.variants,
                weights_bp=ds.weights, srm=srm, metrics=metrics)


# ---------------------------------------------------------------------------
# Datasets.

def uid(prefix, i):
    return "%s%05d" % (prefix, i)


def rand_time(rng, lo, hi):
    return lo + timedelta(seconds=rng.randrange(int((hi - lo).total_seconds())))


def ab_basic(rng):
    """Two arms with every data quirk the SQL must handle."""
    start, end = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 15, tzinfo=UTC)
    ds = Dataset("ab_basic", "checkout-redesign", start, end, ["control", "treatment"], [5000, 5000])
    n = 4000
    first = {}
    for i in range(n):
        u = uid("u", i)
        v = ds.variants[rng.randrange(2)]
        f = rand_time(rng, start, end - timedelta(hours=1))
        first[u] = (v, f)
        ds.expose(u, v, f)
        if rng.random() < 0.3:  # repeated exposures, same variant
            for _ in range(rng.randint(1, 3)):
                ds.expose(u, v, rand_time(rng, f, end))
        if rng.random() < 0.08:  # exposures to another experiment do not matter
            ds.expose(u, rng.choice(["x", "y"]), rand_time(rng, start, end), key="other-exp")
    # Users exposed to both variants: excluded (and counted).
    for i in range(n, n + 30):
        u = uid("u", i)
        f = rand_time(rng, start, end - timedelta(days=1))
        ds.expose(u, "control", f)
        ds.expose(u, "treatment", f + timedelta(hours=rng.randint(1, 20)))
        first[u] = ("control", f)
    # A second variant only after the analysis end: not excluded.
    for i in range(n + 30, n + 45):
        u = uid("u", i)
        f = rand_time(rng, start, end - timedelta(days=1))
        ds.expose(u, "treatment", f)
        ds.expose(u, "control", end + timedelta(hours=2))
        first[u] = ("treatment", f)
    # First exposed after the analysis end: not analysed at all.
    for i in range(n + 45, n + 60):
        u = uid("u", i)
        ds.expose(u, "control", end + timedelta(minutes=rng.randint(1, 600)))
        ds.event("purchase", u, end + timedelta(hours=12))

    lift = {"control": 1.0, "treatment": 1.25}
    for u, (v, f) in first.items():
        # purchase: binomial with a 72 h window.
        if rng.random() < 0.10 * lift[v]:
            ds.event("purchase", u, f + timedelta(seconds=rng.randrange(72 * 3600)))
        if rng.random() < 0.05:
            ds.event("purchase", u, f - timedelta(hours=rng.randint(1, 48)))  # before exposure
        if rng.random() < 0.04:
            ds.event("purchase", u, f + timedelta(hours=rng.randint(73, 200)))  # after the window
        # pageviews: count, no window; some after the analysis end.
        for _ in range(np.random.default_rng(rng.randrange(2**32)).poisson(3.0 if v == "control" else 3.25)):
            ds.event("pageviews", u, rand_time(rng, f - timedelta(days=1), end + timedelta(days=1)))
        # revenue: heavy-tailed (lognormal), 1-3 orders for 30% of users.
        if rng.random() < 0.30:
            for _ in range(rng.randint(1, 3)):
                amount = round(rng.lognormvariate(3.0 + (0.08 if v == "treatment" else 0), 1.2), 2)
                ds.event("revenue", u, rand_time(rng, f, end + timedelta(days=2)), amount)
        # session seconds: duration, lower is better, 24 h window.
        for _ in range(rng.randint(0, 3)):
            secs = round(rng.expovariate(1 / (60.0 if v == "control" else 55.0)), 3)
            ds.event("session", u, f + timedelta(seconds=rng.randrange(36 * 3600)), secs)
    # Boundary events: exactly at first exposure and exactly at the window end count.
    boundary = [u for u in sorted(first) if first[u][1] + timedelta(hours=72) <= end][:6]
    for k, u in enumerate(boundary):
        f = first[u][1]
        ds.event("purchase", u, f if k % 2 == 0 else f + timedelta(hours=72))
        ds.event("revenue", u, f, 10.0)
        ds.event("revenue", u, end, 5.0)  # exactly at the analysis end: counts
    ds.metric("purchase", "binomial", "purchase", window_hours=72)
    ds.metric("pageviews", "count", "pageviews")
    ds.metric("revenue", "revenue", "revenue")
    ds.metric("revenue_cap_100", "revenue", "revenue", cap={"value": 100.0})
    ds.metric("revenue_cap_p99", "revenue", "revenue", cap={"percentile": 0.99})
    ds.metric("session_seconds", "duration", "session", direction="lower", window_hours=24)
    return ds


def three_variants(rng):
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)
    ds = Dataset("three_variants", "pricing-page", start, end, ["control", "b", "c"], [3400, 3300, 3300])
    rate = {"control": 0.20, "b": 0.20, "c": 0.26}
    for i in range(4500):
        u = uid("p", i)
        v = rng.choices(ds.variants, weights=ds.weights)[0]
        f = rand_time(rng, start, end)
        ds.expose(u, v, f)
        if rng.random() < 0.2:
            ds.expose(u, v, rand_time(rng, f, end))
        if rng.random() < rate[v]:
            ds.event("signup", u, rand_time(rng, f, end + timedelta(days=1)))
        for _ in range(rng.randint(0, 2)):
            ds.event("revenue", u, rand_time(rng, f - timedelta(days=1), end),
                     round(rng.lognormvariate(2.5 + (0.3 if v == "b" else 0), 1.0), 2))
    ds.metric("signup", "binomial", "signup")
    ds.metric("revenue", "revenue", "revenue", cap={"percentile": 0.95})
    return ds


def srm(rng):
    """A 52/48 split on a 50/50 design: a sample ratio mismatch."""
    start, end = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 8, tzinfo=UTC)
    ds = Dataset("srm", "srm-check", start, end, ["control", "treatment"], [5000, 5000])
    arms = ["control"] * 4160 + ["treatment"] * 3840
    rng.shuffle(arms)
    for i, v in enumerate(arms):
        u = uid("s", i)
        f = rand_time(rng, start, end)
        ds.expose(u, v, f)
        if rng.random() < 0.08:
            ds.event("convert", u, rand_time(rng, f, end))
    ds.metric("convert", "binomial", "convert")
    return ds


def tiny(rng):
    """Two or three users per arm: statistics still run; degenerate metrics."""
    start, end = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 3, tzinfo=UTC)
    ds = Dataset("tiny", "tiny-exp", start, end, ["control", "treatment"], [5000, 5000])
    users = [("t1", "control"), ("t2", "control"), ("t3", "control"), ("t4", "treatment"), ("t5", "treatment")]
    for k, (u, v) in enumerate(users):
        f = start + timedelta(hours=k)
        ds.expose(u, v, f)
        ds.event("revenue", u, f + timedelta(hours=1), [3.5, 7.25, 1.0, 12.0, 9.5][k])
        if v == "treatment":  # control never clicks
            for c in range(k - 2):
                ds.event("clicks", u, f + timedelta(minutes=5 + c))
        ds.event("signup", u, f - timedelta(hours=1))  # before exposure: nobody converts
    ds.metric("revenue", "revenue", "revenue")
    ds.metric("signup", "binomial", "signup")  # zero_variance
    ds.metric("clicks", "count", "clicks")  # zero_control_mean
    return ds


def insufficient(rng):
    start, end = datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 3, tzinfo=UTC)
    ds = Dataset("insufficient", "one-user-arm", start, end, ["control", "treatment"], [5000, 5000])
    for k, (u, v) in enumerate([("i1", "control"), ("i2", "control"), ("i3", "control"), ("i4", "treatment")]):
        ds.expose(u, v, start + timedelta(hours=k))
        ds.event("revenue", u, start + timedelta(hours=k + 1), [2.0, 4.0, 9.0, 5.0][k])
    ds.metric("revenue", "revenue", "revenue")
    return ds


def one_arm(rng):
    start, end = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 5, tzinfo=UTC)
    ds = Dataset("one_arm", "only-control", start, end, ["control", "treatment"], [5000, 5000])
    for i in range(50):
        u = uid("o", i)
        f = rand_time(rng, start, end)
        ds.expose(u, "control", f)
        if rng.random() < 0.3:
            ds.event("convert", u, rand_time(rng, f, end))
    ds.metric("convert", "binomial", "convert")
    return ds


def cuped_ratio(rng):
    """CUPED covariates from pre-exposure events, a ratio metric, and bad input."""
    start, end = datetime(2026, 7, 15, tzinfo=UTC), datetime(2026, 7, 29, tzinfo=UTC)
    ds = Dataset("cuped_ratio", "cuped-ratio", start, end, ["control", "treatment"], [5000, 5000])
    nrng = np.random.default_rng(rng.randrange(2**32))
    for i in range(3000):
        u = uid("c", i)
        v = ds.variants[rng.randrange(2)]
        f = rand_time(rng, start, end - timedelta(days=1))
        ds.expose(u, v, f)
        # A per-user spending level drives both periods (correlated covariate).
        level = float(nrng.gamma(1.5, 8.0))
        for k in range(nrng.poisson(1.0 + level / 8)):  # 14 days before exposure
            ds.event("spend", u, f - timedelta(seconds=rng.randrange(1, 13 * 86400)), round(level * rng.uniform(0.5, 1.5), 2))
        if rng.random() < 0.2:  # older than the CUPED window: ignored
            ds.event("spend", u, f - timedelta(days=20), 50.0)
        lift = 1.08 if v == "treatment" else 1.0
        orders = nrng.poisson(0.6 + level / 10)
        for k in range(orders):
            t = rand_time(rng, f, end)
            ds.event("spend", u, t, round(level * lift * rng.uniform(0.5, 1.5), 2))
            ds.event("orders", u, t)
        # pageviews only after exposure: a CUPED window without data.
        for k in range(nrng.poisson(2)):
            ds.event("views", u, rand_time(rng, f, end))
    # NaN revenue for one user.
    ds.event("bad", "c00001", end - timedelta(hours=1), float("nan"))
    ds.event("bad", "c00002", end - timedelta(hours=1), 4.0)
    ds.metric("spend_cuped", "revenue", "spend", cuped_window_days=14)
    ds.metric("spend_cuped_p99", "revenue", "spend", cuped_window_days=14, cap={"percentile": 0.99})
    ds.metric("spend_per_order", "revenue", "spend", denominator=("orders", "count"))
    ds.metric("views_cuped_no_pre", "count", "views", cuped_window_days=14)
    ds.metric("spend_per_nothing", "revenue", "spend", denominator=("never", "count"))
    ds.event("never", "nobody", start)
    ds.metric("bad_values", "revenue", "bad")
    return ds


def main():
    rng = random.Random(SEED)
    out = dict(
        generator="testdata/experiments/generate.py",
        seed=SEED,
        scipy_version=scipy.__version__,
        numpy_version=np.__version__,
        confidence=CONFIDENCE,
        datasets=[],
    )
    for make in (ab_basic, three_variants, srm, tiny, insufficient, one_arm, cuped_ratio):
        ds = make(rng)
        ds.write()
        out["datasets"].append(expected(ds))
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    main()
