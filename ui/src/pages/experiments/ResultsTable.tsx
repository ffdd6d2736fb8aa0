import type { Comparison, MetricResult, Results, SRMResult, Interval } from "../../api/experimentTypes";

const VERDICT_LABEL: Record<string, string> = { better: "Better", worse: "Worse", inconclusive: "Inconclusive", not_trustworthy: "Not trustworthy" };

const WITHHELD_TITLE = "Sample ratio mismatch: the users per variant do not match the intended split, so no verdict is given until the cause is fixed.";

/** A comparison's verdict in words; under a sample ratio mismatch, "Not trustworthy" instead of Better/Worse. */
export function Verdict({ c }: { c: Comparison }) {
  if (c.verdict === "not_trustworthy") {
    return (
      <span className="verdict-not_trustworthy" title={WITHHELD_TITLE} data-testid="verdict-withheld">
        Not trustworthy
      </span>
    );
  }
  return <span className={`verdict-${c.verdict}`}>{VERDICT_LABEL[c.verdict] ?? c.verdict}</span>;
}

/** A number for a table: up to 4 significant digits, thousands separated. */
export function num(x: number | undefined | null, digits = 4): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return "–";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString();
  return Number(x.toPrecision(digits)).toLocaleString(undefined, { maximumSignificantDigits: digits });
}

export function pct(x: number | undefined | null, digits = 1): string {
  if (x === undefined || x === null || !Number.isFinite(x)) return "–";
  const v = x * 100;
  return `${v > 0 ? "+" : ""}${v.toFixed(digits)}%`;
}

export function pValue(p: number | undefined | null): string {
  if (p === undefined || p === null || !Number.isFinite(p)) return "–";
  if (p < 0.0001) return "< 0.0001";
  return p.toFixed(4);
}

/** The scale shared by every CI bar of one table: covers every interval and 0, with a little margin. */
export function ciDomain(intervals: (Interval | undefined)[]): [number, number] {
  let lo = 0;
  let hi = 0;
  for (const i of intervals) {
    if (!i || !Number.isFinite(i.low) || !Number.isFinite(i.high)) continue;
    lo = Math.min(lo, i.low);
    hi = Math.max(hi, i.high);
  }
  if (lo === hi) return [-1, 1];
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}

/** Where v falls on a 0..100 scale for domain. */
export function scale(v: number, [lo, hi]: [number, number]): number {
  return ((v - lo) / (hi - lo)) * 100;
}

/**
 * A confidence interval drawn as a bar: the interval, the point estimate
 * and a line at zero (no effect), on the table's shared scale. Green when
 * the change is significantly better, red when worse, grey otherwise.
 */
export function CIBar({ ci, effect, domain, verdict, label }: { ci: Interval; effect?: number; domain: [number, number]; verdict: string; label: string }) {
  const x1 = Math.max(0, Math.min(100, scale(ci.low, domain)));
  const x2 = Math.max(0, Math.min(100, scale(ci.high, domain)));
  const zero = scale(0, domain);
  const color = verdict === "better" ? "var(--on)" : verdict === "worse" ? "var(--danger)" : "var(--muted)";
  return (
    <svg className="ci-bar" viewBox="0 0 100 20" preserveAspectRatio="none" role="img" aria-label={label}>
      <line x1={zero} x2={zero} y1={0} y2={20} stroke="var(--border-strong)" strokeWidth={0.6} vectorEffect="non-scaling-stroke" data-testid="ci-zero" />
      <rect x={x1} width={Math.max(0.5, x2 - x1)} y={6} height={8} rx={1} fill={color} opacity={0.35} data-testid="ci-range" />
      {effect !== undefined && Number.isFinite(effect) && (
        <rect x={Math.max(0, Math.min(100, scale(effect, domain))) - 0.6} width={1.2} y={3} height={14} fill={color} data-testid="ci-point" />
      )}
    </svg>
  );
}

/** The comparison's interval and effect in the unit shown: relative when it exists, else absolute. */
function shown(c: Comparison | undefined): { ci?: Interval; effect?: number; relative: boolean } {
  if (!c) return { relative: false };
  if (c.relative_ci && c.relative_effect !== undefined) return { ci: c.relative_ci, effect: c.relative_effect, relative: true };
  return { ci: c.absolute_ci, effect: c.absolute_effect, relative: false };
}

/** The extra analyses of one comparison: Bayesian view, CUPED, chi-squared / Fisher, fixed vs sequential, warnings. */
export function AnalysisDetails({ c, metric }: { c: Comparison; metric: MetricResult }) {
  const parts: React.ReactNode[] = [];
  const b = c.bayesian;
  if (b) {
    parts.push(
      <span key="bayes" data-testid="bayesian">
        Chance to beat control <strong>{(b.chance_to_win * 100).toFixed(1)}%</strong> · credible interval [{pct(b.ci.low)}, {pct(b.ci.high)}] · risk if
        shipped: control {pct(b.risk_control, 2)}, this variant {pct(b.risk_treatment, 2)}
        {b.prior.proper ? ` (prior N(${pct(b.prior.mean)}, ${(b.prior.std_dev * 100).toFixed(0)}%²))` : " (flat prior)"}
      </span>,
    );
  }
  if (c.method === "sequential" && c.relative?.p_value !== undefined) {
    parts.push(
      <span key="seq" data-testid="sequential-note">
        Sequential test: safe to look at any time. A fixed-horizon test would say p = {pValue(c.relative.p_value)}, CI [{pct(c.relative.ci?.low)},{" "}
        {pct(c.relative.ci?.high)}] — valid only if you look once, at the planned end.
      </span>,
    );
  }
  if (c.cuped?.applied) {
    parts.push(
      <span key="cuped" data-testid="cuped">
        CUPED reduced the variance by <strong>{(c.cuped.variance_reduction * 100).toFixed(1)}%</strong> (θ = {num(c.cuped.theta)})
      </span>,
    );
  }
  const cs = c.chi_squared;
  if (cs) {
    parts.push(
      <span key="chi2" data-testid="chi-squared">
        χ² p = {pValue(cs.p_value)}
        {cs.fisher_p_value !== undefined && <> · Fisher&apos;s exact p = {pValue(cs.fisher_p_value)}</>}
      </span>,
    );
  }
  const adj = metric.adjusted?.[c.variant];
  if (adj) {
    const ci = (i: Interval | null) => (i ? `[${pct(i.low)}, ${pct(i.high)}]` : "unbounded");
    parts.push(
      <span key="adj" data-testid="adjusted">
        Adjusted across all metrics: Holm p = {pValue(adj.holm_p_value)} {ci(adj.holm_ci)}, Benjamini–Hochberg p = {pValue(adj.bh_p_value)} {ci(adj.bh_ci)}
      </span>,
    );
  }
  if (parts.length === 0 && !c.warnings?.length) return null;
  return (
    <div className="analysis-details small">
      {parts.map((p, i) => (
        <div key={i}>{p}</div>
      ))}
      {c.warnings?.map((w) => (
        <div key={w} className="warn-text" role="note">
          {w}
        </div>
      ))}
    </div>
  );
}

/** One metric's results: a row per variant against the control. */
export function ResultsTable({ metric, variantNames = {}, correction }: { metric: MetricResult; variantNames?: Record<string, string>; correction?: string }) {
  const r = metric.result;
  const byVariant = new Map(r.comparisons.map((c) => [c.variant, c]));
  const intervals = r.comparisons.map((c) => shown(c).ci);
  const domain = ciDomain(intervals);
  const anyRelative = r.comparisons.some((c) => shown(c).relative);
  const binomial = r.metric_type === "binomial";
  const nameOf = (v: string) => variantNames[v] ?? v;
  const title = `${metric.name}`;
  return (
    <section className="metric-result" aria-labelledby={`metric-${metric.key}`}>
      <div className="card-head">
        <h3 id={`metric-${metric.key}`}>
          {title} <code className="muted small">{metric.key}</code>
        </h3>
        <span className="btn-group">
          <span className="badge">{metric.primary ? "primary" : "secondary"}</span>
          {metric.guardrail && <span className="badge badge-warn">guardrail</span>}
          <span className="badge">
            {r.metric_type} · {r.direction === "lower" ? "lower is better" : "higher is better"}
          </span>
        </span>
      </div>
      {metric.error && (
        <div className="banner banner-error" role="alert" data-testid="metric-error">
          <strong>This metric could not be analysed</strong>
          <span>{metric.error}</span>
        </div>
      )}
      {!metric.error && r.status !== "ok" && r.message && (
        <div className="banner banner-warn" role="status">
          <strong>Not enough to conclude</strong>
          <span>{r.message}</span>
        </div>
      )}
      <div className="table-wrap">
        <table className="table results-table">
          <caption className="sr-only">
            {title}: each variant against {nameOf(r.control)} at {Math.round((r.confidence || 0.95) * 100)}% confidence
          </caption>
          <thead>
            <tr>
              <th scope="col">Variant</th>
              <th scope="col" className="num">
                Users
              </th>
              <th scope="col" className="num">
                {binomial ? "Conversion" : "Mean"}
              </th>
              <th scope="col" className="num">
                Absolute effect
              </th>
              <th scope="col">{anyRelative ? "Relative effect (95% CI)" : "Effect (95% CI)"}</th>
              <th scope="col" className="num">
                p-value
              </th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          {r.variants.map((v) => {
            const c = byVariant.get(v.variant);
            const isControl = v.variant === r.control;
            const s = shown(c);
            const adj = metric.adjusted_p_values?.[v.variant];
            const sentence = c && !isControl ? (c.status !== "ok" && c.message ? c.message : c.summary) : "";
            return (
              <tbody key={v.variant} data-variant={v.variant}>
                <tr>
                  <th scope="row">
                    {nameOf(v.variant)}
                    {isControl && <span className="badge badge-inline">control</span>}
                  </th>
                  <td className="num">{v.users.toLocaleString()}</td>
                  <td className="num">{binomial && v.mean !== undefined ? `${(v.mean * 100).toFixed(2)}%` : num(v.mean)}</td>
                  <td className="num">
                    {isControl || !c ? "" : binomial && c.absolute_effect !== undefined ? `${pct(c.absolute_effect, 2)} pts` : num(c.absolute_effect)}
                    {!isControl && c?.absolute_ci && (
                      <div className="ci-text">
                        [{binomial ? pct(c.absolute_ci.low, 2) : num(c.absolute_ci.low)}, {binomial ? pct(c.absolute_ci.high, 2) : num(c.absolute_ci.high)}]
                      </div>
                    )}
                  </td>
                  <td className="ci-cell">
                    {!isControl && c && s.ci ? (
                      <>
                        <CIBar
                          ci={s.ci}
                          effect={s.effect}
                          domain={domain}
                          verdict={c.verdict}
                          label={`${nameOf(v.variant)}: ${s.relative ? pct(s.effect) : num(s.effect)}, 95% CI from ${s.relative ? pct(s.ci.low) : num(s.ci.low)} to ${s.relative ? pct(s.ci.high) : num(s.ci.high)}`}
                        />
                        <div className="ci-text">
                          <strong>{s.relative ? pct(s.effect) : num(s.effect)}</strong> [{s.relative ? pct(s.ci.low) : num(s.ci.low)},{" "}
                          {s.relative ? pct(s.ci.high) : num(s.ci.high)}]
                        </div>
                      </>
                    ) : isControl ? (
                      <span className="muted small">baseline</span>
                    ) : (
                      <span className="muted small">–</span>
                    )}
                  </td>
                  <td className="num">
                    {isControl ? "" : pValue(c?.p_value)}
                    {!isControl && c?.method === "sequential" && <div className="ci-text">sequential</div>}
                    {!isControl && adj !== undefined && (
                      <div className="ci-text" title={`${correction?.startsWith("benjamini") ? "Benjamini–Hochberg" : "Holm–Bonferroni"} adjusted across all metrics`}>
                        adj. {pValue(adj)}
                      </div>
                    )}
                  </td>
                  <td>
                    {isControl ? (
                      <span className="muted small">control</span>
                    ) : c ? (
                      <Verdict c={c} />
                    ) : (
                      <span className="muted small">not compared</span>
                    )}
                  </td>
                </tr>
                {sentence && (
                  <tr className="summary-row">
                    <td colSpan={7}>{sentence}</td>
                  </tr>
                )}
                {c && !isControl && (
                  <tr className="summary-row">
                    <td colSpan={7}>
                      <AnalysisDetails c={c} metric={metric} />
                    </td>
                  </tr>
                )}
              </tbody>
            );
          })}
        </table>
      </div>
      {metric.excluded_users > 0 && (
        <p className="muted small">{metric.excluded_users.toLocaleString()} users seen in more than one variant are excluded from this metric.</p>
      )}
      {metric.dimensions && metric.dimensions.length > 0 && <DimensionBreakdown metric={metric} nameOf={nameOf} />}
    </section>
  );
}

/** Sample ratio mismatch, users in several variants, and the analysis's other warnings. */
export function ResultWarnings({ results, variants }: { results: Results; variants: string[] }) {
  const srm: SRMResult | undefined = results.srm;
  const others = results.warnings.filter((w) => !w.startsWith("sample ratio mismatch") && !/exposed to more than one variant/.test(w));
  return (
    <>
      {srm?.mismatch && (
        <div className="banner banner-error" role="alert" data-testid="srm-warning">
          <strong>Sample ratio mismatch</strong>
          <span>
            The users per variant do not match the intended split (χ² p = {pValue(srm.p_value)}, flagged below {srm.threshold}). Something assigns or logs
            users unevenly, so these results may be biased: check the exposure logging before trusting them.{" "}
            {results.verdicts_withheld && <strong>Every verdict is withheld (“not trustworthy”) until the split matches again. </strong>}
            {srm.expected && (
              <span className="small">
                Observed {srm.observed.map((o, i) => `${variants[i] ?? i}: ${o.toLocaleString()}`).join(", ")}; expected{" "}
                {srm.expected.map((e, i) => `${variants[i] ?? i}: ${Math.round(e).toLocaleString()}`).join(", ")}.
              </span>
            )}
          </span>
        </div>
      )}
      {results.excluded_users > 0 && (
        <div className="banner banner-warn" role="status" data-testid="multi-exposure-warning">
          <strong>Users in more than one variant</strong>
          <span>
            {results.excluded_users.toLocaleString()} users were exposed to more than one variant and are excluded from every metric. A few are normal (shared
            devices, changed ids); many suggest the flag's targeting changed while the experiment ran.
          </span>
        </div>
      )}
      {others.map((w) => (
        <div key={w} className="banner banner-warn" role="status">
          <strong>Note</strong>
          <span>{w}</span>
        </div>
      ))}
    </>
  );
}

/** Per-dimension-value results of one metric: exploratory, with many comparisons. */
export function DimensionBreakdown({ metric, nameOf }: { metric: MetricResult; nameOf: (v: string) => string }) {
  const dims = metric.dimensions ?? [];
  return (
    <details className="dimension-breakdown" data-testid={`breakdown-${metric.key}`}>
      <summary>Breakdown by dimension ({dims.length} values)</summary>
      <p className="muted small">
        Each value is a separate comparison and these p-values are not corrected: with many values, some will look significant by chance.
      </p>
      <div className="table-wrap">
        <table className="table small">
          <thead>
            <tr>
              <th scope="col">Value</th>
              <th scope="col">Variant</th>
              <th scope="col" className="num">
                Users
              </th>
              <th scope="col">Effect (95% CI)</th>
              <th scope="col" className="num">
                p-value
              </th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {dims.flatMap((d) =>
              d.result.comparisons.map((c) => {
                const s = shown(c);
                const users = d.result.variants.find((v) => v.variant === c.variant)?.users ?? 0;
                return (
                  <tr key={`${d.value}|${c.variant}`}>
                    <th scope="row">{d.value}</th>
                    <td>{nameOf(c.variant)}</td>
                    <td className="num">{users.toLocaleString()}</td>
                    <td>
                      {s.ci ? `${s.relative ? pct(s.effect) : num(s.effect)} [${s.relative ? pct(s.ci.low) : num(s.ci.low)}, ${s.relative ? pct(s.ci.high) : num(s.ci.high)}]` : (c.message ?? "–")}
                    </td>
                    <td className="num">{pValue(c.p_value)}</td>
                    <td>
                      <Verdict c={c} />
                    </td>
                  </tr>
                );
              }),
            )}
          </tbody>
        </table>
      </div>
    </details>
  );
}
