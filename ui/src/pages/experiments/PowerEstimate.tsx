import { useEffect, useState } from "react";
import { xapi } from "../../api/endpoints";
import type { MetricType, PowerRequest, PowerResponse } from "../../api/experimentTypes";
import { describe } from "../../lib/errors";
import { Field } from "../../components/Field";

interface Props {
  project: string;
  metricType: MetricType;
  /** Relative minimum detectable effect (0.05 = 5%); undefined when not set. */
  mde: number | undefined;
  variants: number;
  /** Share of users entering the experiment (0..1), to turn traffic into experiment users per day. */
  traffic: number;
  /** The planned duration in days, when the plan is a duration: warned about when shorter than the estimate. */
  plannedDays?: number;
  delayMs?: number;
}

/**
 * The planned test's power: the users per variant needed to detect the
 * minimum detectable effect, and with a daily traffic figure the days it
 * takes. Asks the server (POST /power) as the user types, debounced.
 */
export function PowerEstimate({ project, metricType, mde, variants, traffic, plannedDays, delayMs = 350 }: Props) {
  const binomial = metricType === "binomial";
  const [baseline, setBaseline] = useState(binomial ? "10" : "");
  const [stdDev, setStdDev] = useState("");
  const [perDay, setPerDay] = useState("");
  const [out, setOut] = useState<PowerResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  const req = ((): PowerRequest | string => {
    if (mde === undefined || !(mde > 0)) return "Enter a minimum detectable effect to see the sample size needed.";
    const b = Number(baseline);
    if (baseline.trim() === "" || !Number.isFinite(b)) return binomial ? "Enter the baseline conversion rate." : "Enter the baseline mean.";
    const r: PowerRequest = { metric_type: metricType, baseline_mean: binomial ? b / 100 : b, minimum_detectable_effect: mde, variants: Math.max(2, variants) };
    if (!binomial) {
      const sd = Number(stdDev);
      if (stdDev.trim() === "" || !Number.isFinite(sd) || sd <= 0) return "Enter the standard deviation per user.";
      r.baseline_variance = sd * sd;
    }
    const d = Number(perDay);
    if (perDay.trim() !== "" && Number.isFinite(d) && d > 0) r.users_per_day = d * traffic;
    return r;
  })();
  const reqKey = typeof req === "string" ? req : JSON.stringify(req);

  useEffect(() => {
    if (typeof req === "string") {
      setOut(null);
      setError(null);
      setPending(false);
      return;
    }
    const ctl = new AbortController();
    setPending(true);
    const t = setTimeout(() => {
      xapi
        .power(project, req, ctl.signal)
        .then((r) => {
          setOut(r);
          setError(null);
        })
        .catch((e: unknown) => {
          if (ctl.signal.aborted) return;
          setOut(null);
          setError(describe(e, { baseline_mean: "Baseline", baseline_variance: "Standard deviation", minimum_detectable_effect: "Minimum detectable effect" }));
        })
        .finally(() => {
          if (!ctl.signal.aborted) setPending(false);
        });
    }, delayMs);
    return () => {
      clearTimeout(t);
      ctl.abort();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reqKey, project, delayMs]);

  const per = out?.sample_size.users_per_variant;
  return (
    <div className="power-box">
      <div className="grid-2">
        <Field label={binomial ? "Baseline conversion rate (%)" : "Baseline mean per user"} hint="Of the primary metric today, in the control group.">
          <input inputMode="decimal" value={baseline} onChange={(e) => setBaseline(e.target.value)} />
        </Field>
        {!binomial && (
          <Field label="Standard deviation per user">
            <input inputMode="decimal" value={stdDev} onChange={(e) => setStdDev(e.target.value)} />
          </Field>
        )}
        <Field label="Users per day (all traffic)" hint="Optional: gives the days needed.">
          <input inputMode="decimal" value={perDay} onChange={(e) => setPerDay(e.target.value)} />
        </Field>
      </div>
      <div aria-live="polite" data-testid="power-result">
        {typeof req === "string" ? (
          <p className="muted">{req}</p>
        ) : error ? (
          <p className="text-error">{error}</p>
        ) : out ? (
          per !== undefined ? (
            <p>
              <span className="big">{per.toLocaleString()}</span> users per variant
              {out.total_users !== undefined && <> ({out.total_users.toLocaleString()} in all)</>} to detect a {fmtPct(mde ?? 0)} change with 80% power at
              95% confidence
              {out.days !== undefined && (
                <>
                  : about <strong>{out.days.toLocaleString()} days</strong>
                  {out.expected_end && <> (until {out.expected_end})</>}
                </>
              )}
              .{pending && <span className="muted"> Updating…</span>}
            </p>
          ) : (
            <p className="muted">{out.sample_size.message ?? "No estimate for these inputs."}</p>
          )
        ) : (
          <p className="muted">Estimating…</p>
        )}
        {out?.days !== undefined && plannedDays !== undefined && plannedDays > 0 && plannedDays < out.days && (
          <p className="banner banner-warn" role="status" data-testid="duration-warning">
            The planned {plannedDays} days are shorter than the {out.days.toLocaleString()} days this estimate needs: stopped at day {plannedDays}, the test
            would likely miss a {fmtPct(mde ?? 0)} change. Plan at least {out.days.toLocaleString()} days, or a larger minimum detectable effect.
          </p>
        )}
      </div>
    </div>
  );
}

function fmtPct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}
