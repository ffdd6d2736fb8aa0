import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { api, xapi } from "../../api/endpoints";
import type { Experiment, Refresh, ResultsPage } from "../../api/experimentTypes";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { dateTime, relativeTime } from "../../lib/format";
import { percent } from "../../lib/rollout";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { Field } from "../../components/Field";
import { useToast } from "../../components/Toast";
import { ResultsTable, ResultWarnings } from "./ResultsTable";
import { ExposuresChart } from "./ExposuresChart";
import { StatusBadge } from "./StatusBadge";
import { PhaseNotice } from "./PhaseNotice";
import { AnalysisSettingsCard } from "./AnalysisSettingsCard";
import { ResultsOverTimeChart } from "./ResultsOverTimeChart";
import { AudienceLayerCard } from "./AudienceLayer";

const POLL_MS = 1000;
const POLL_LIMIT_MS = 5 * 60 * 1000;

/** An experiment: its plan, start/stop, and results (refresh, tables per metric, exposures chart, warnings). */
export function ExperimentPage() {
  const ws = useWorkspace();
  const { experiment: key = "" } = useParams();
  const exp = useApi((s) => xapi.getExperiment(ws.project, key, s), [ws.project, key]);
  const x = exp.data;
  const flag = useApi((s) => (x ? api.getFlag(ws.project, x.flag, s) : Promise.resolve(undefined)), [ws.project, x?.flag]);
  const results = useApi((s) => xapi.results(ws.project, key, 10, s), [ws.project, key]);
  const exposures = useApi((s) => xapi.exposures(ws.project, key, s), [ws.project, key]);
  const overTime = useApi((s) => xapi.resultsOverTime(ws.project, key, s), [ws.project, key, results.data?.latest?.id]);

  useEffect(() => {
    document.title = `${x?.name ?? key} · Experiments · Waypost`;
  }, [x?.name, key]);

  if (exp.error) return <ErrorBanner error={exp.error} onRetry={exp.reload} />;
  if (!x) return <Loading />;

  const names: Record<string, string> = {};
  for (const v of flag.data?.variants ?? []) names[v.key] = v.name;
  const order = x.weights.map((w) => w.variant);

  return (
    <div>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={ws.to("experiments")}>Experiments</Link> <span aria-hidden="true">/</span> {x.name}
      </nav>
      <Header x={x} names={names} onChange={(nx) => exp.setData(nx)} />
      <Plan x={x} names={names} />
      <AudienceLayerCard key={`${x.key}/${x.version}/${x.status}`} x={x} onChange={(nx) => exp.setData(nx)} />
      <AnalysisSettingsCard project={ws.project} experiment={x.key} />
      <ResultsSection x={x} results={results.data} error={results.error} reload={results.reload} setResults={(r) => results.setData(r)} names={names} order={order} />
      {overTime.data && overTime.data.items.length > 0 && (
        <section className="card" aria-labelledby="over-time-title">
          <h2 id="over-time-title">Results over time</h2>
          {(results.data?.latest?.results?.metrics ?? []).map((m) => (
            <ResultsOverTimeChart key={m.key} points={overTime.data!.items} metric={m.key} name={m.name} order={order} names={names} />
          ))}
        </section>
      )}
      <section className="card" aria-labelledby="exposures-title">
        <div className="card-head">
          <h2 id="exposures-title">Users per variant over time</h2>
          <CountExposures x={x} onDone={exposures.reload} />
        </div>
        <ErrorBanner error={exposures.error} onRetry={exposures.reload} />
        {exposures.data ? <ExposuresChart items={exposures.data.items} order={order} names={names} /> : !exposures.error && <Loading />}
      </section>
    </div>
  );
}

function Header({ x, names, onChange }: { x: Experiment; names: Record<string, string>; onChange: (x: Experiment) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const [confirm, setConfirm] = useState<"start" | "stop" | null>(null);
  const [ship, setShip] = useState("");
  return (
    <div className="page-header">
      <div>
        <h1>
          {x.name} <StatusBadge status={x.status} />
        </h1>
        <p className="muted small">
          <code>{x.key}</code> · flag <Link to={ws.to(`flags/${encodeURIComponent(x.flag)}`)}>{x.flag}</Link> in {x.environment} · created{" "}
          <span title={dateTime(x.created_at)}>{relativeTime(x.created_at)}</span>
          {x.started_at && (
            <>
              {" "}
              · started <span title={dateTime(x.started_at)}>{dateTime(x.started_at)}</span>
            </>
          )}
          {x.stopped_at && (
            <>
              {" "}
              · stopped <span title={dateTime(x.stopped_at)}>{dateTime(x.stopped_at)}</span>
            </>
          )}
          {x.shipped_variant && <> · shipped {names[x.shipped_variant] ?? x.shipped_variant}</>}
        </p>
        {x.hypothesis && <p className="flag-description">{x.hypothesis}</p>}
        <PhaseNotice x={x} />
      </div>
      <div className="btn-group">
        {x.status === "draft" && (
          <button type="button" className="btn btn-primary" onClick={() => setConfirm("start")}>
            Start experiment
          </button>
        )}
        {x.status === "running" && (
          <button type="button" className="btn btn-danger-outline" onClick={() => setConfirm("stop")}>
            Stop experiment
          </button>
        )}
        {x.status === "stopped" && (
          <button type="button" className="btn" onClick={() => setConfirm("start")}>
            Restart as a new phase
          </button>
        )}
      </div>
      {confirm === "start" && (
        <ConfirmDialog
          title={x.status === "stopped" ? `Restart “${x.name}” as a new phase?` : `Start “${x.name}”?`}
          confirmLabel={x.status === "stopped" ? "Restart as a new phase" : "Start experiment"}
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            const nx = await xapi.startExperiment(ws.project, x.key);
            onChange(nx);
            setConfirm(null);
            toast(x.status === "stopped" ? `${x.name} restarted: phase ${nx.phases?.length ?? ""}` : `${x.name} started`);
          }}
        >
          <p>
            The flag <code>{x.flag}</code> in {x.environment} is turned on with the experiment's weights for {percent(x.traffic)}% of users. The change is in
            the flag's events log.
          </p>
        </ConfirmDialog>
      )}
      {confirm === "stop" && (
        <ConfirmDialog
          title={`Stop “${x.name}”?`}
          confirmLabel={ship ? `Stop and ship ${names[ship] ?? ship}` : "Stop experiment"}
          danger
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            const nx = await xapi.stopExperiment(ws.project, x.key, ship || undefined);
            onChange(nx);
            setConfirm(null);
            toast(nx.outcome ?? `${x.name} stopped`);
          }}
        >
          <p>Results of this phase stop counting events after now. A stopped experiment can be restarted as a new phase.</p>
          {x.flag_enabled === false && (
            <p className="banner banner-warn">
              The flag is off in {x.environment} (kill switch): everyone gets the off variant. Shipping a variant turns the flag on.
            </p>
          )}
          <Field label="After stopping" hint="Shipping serves one variant to everyone in this environment (turning the flag on if it is off).">
            <select value={ship} onChange={(e) => setShip(e.target.value)}>
              <option value="">Restore the rollout from before the experiment</option>
              {x.weights.map((w) => (
                <option key={w.variant} value={w.variant}>
                  Ship {names[w.variant] ?? w.variant} to everyone
                </option>
              ))}
            </select>
          </Field>
        </ConfirmDialog>
      )}
    </div>
  );
}

const PHASE_END: Record<string, string> = { new_phase: "plan changed", stopped: "stopped", shipped: "shipped" };

function Plan({ x, names }: { x: Experiment; names: Record<string, string> }) {
  const ws = useWorkspace();
  const metricLink = (m: string) => (
    <Link key={m} to={ws.to(`metrics/${encodeURIComponent(m)}`)} className="tag">
      {m}
    </Link>
  );
  return (
    <section className="card" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan</h2>
      <dl className="dl">
        <dt>Variants</dt>
        <dd>{x.weights.map((w) => `${names[w.variant] ?? w.variant} ${percent(w.weight)}%`).join(" · ")}</dd>
        <dt>Traffic</dt>
        <dd>{percent(x.traffic)}% of users enter the experiment</dd>
        <dt>Primary metrics</dt>
        <dd className="tags">{x.primary_metrics.map(metricLink)}</dd>
        {x.secondary_metrics.length > 0 && (
          <>
            <dt>Secondary metrics</dt>
            <dd className="tags">{x.secondary_metrics.map(metricLink)}</dd>
          </>
        )}
        <dt>Planned</dt>
        <dd>
          {x.planned_duration_days ? `${x.planned_duration_days} days` : x.planned_sample_size ? `${x.planned_sample_size.toLocaleString()} users per variant` : "no plan"}
          {x.minimum_detectable_effect ? `, to detect a ${Math.round(x.minimum_detectable_effect * 1000) / 10}% change` : ""}
        </dd>
        <dt>Events from</dt>
        <dd>
          <Link to={ws.to("connections")}>{x.connection === "builtin" ? "the built-in events store" : x.connection}</Link>
        </dd>
        {(x.phases ?? []).length > 0 && (
          <>
            <dt>Phases</dt>
            <dd>
              <ol className="change-list" aria-label="Phases">
                {(x.phases ?? []).map((ph) => (
                  <li key={ph.number}>
                    Phase {ph.number}: {ph.weights.filter((w) => w.weight > 0).map((w) => `${names[w.variant] ?? w.variant} ${percent(w.weight)}%`).join(" · ")},{" "}
                    {percent(ph.traffic)}% traffic · from <span title={dateTime(ph.started_at)}>{dateTime(ph.started_at)}</span>
                    {ph.ended_at ? (
                      <>
                        {" "}
                        to <span title={dateTime(ph.ended_at)}>{dateTime(ph.ended_at)}</span> ({PHASE_END[ph.end_reason ?? ""] ?? ph.end_reason})
                      </>
                    ) : (
                      " (current)"
                    )}
                    {ph.interrupted && (
                      <>
                        {" "}
                        <span className="status status-warn">
                          interrupted by {ph.interrupted.by}, {dateTime(ph.interrupted.at)}
                        </span>
                      </>
                    )}
                  </li>
                ))}
              </ol>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

interface Pending {
  after: number;
  since: number;
  refresh?: Refresh;
  timedOut?: boolean;
}

function ResultsSection({
  x,
  results,
  error,
  reload,
  setResults,
  names,
  order,
}: {
  x: Experiment;
  results: ResultsPage | undefined;
  error: unknown;
  reload: () => void;
  setResults: (r: ResultsPage) => void;
  names: Record<string, string>;
  order: string[];
}) {
  const ws = useWorkspace();
  const toast = useToast();
  const [pending, setPending] = useState<Pending | null>(null);
  const [startError, setStartError] = useState<unknown>();
  const [now, setNow] = useState(Date.now());
  const pendingRef = useRef(pending);
  pendingRef.current = pending;

  const refresh = async () => {
    setStartError(undefined);
    const after = results?.history[0]?.id ?? 0;
    try {
      await xapi.refreshResults(ws.project, x.key);
      setPending({ after, since: Date.now() });
    } catch (e) {
      setStartError(e);
    }
  };

  const poll = useCallback(async () => {
    const p = pendingRef.current;
    if (!p) return;
    try {
      const r = await xapi.results(ws.project, x.key, 10);
      const newer = r.history.find((h) => h.id > p.after);
      if (newer && newer.status !== "running") {
        setResults(r);
        setPending(null);
        toast(newer.status === "succeeded" ? "Results refreshed" : "The refresh failed");
        return;
      }
      if (Date.now() - p.since > POLL_LIMIT_MS) {
        setPending({ ...p, refresh: newer, timedOut: true });
        return;
      }
      setPending({ ...p, refresh: newer });
    } catch {
      /* keep polling: a blip should not lose the refresh */
    }
  }, [ws.project, x.key, setResults, toast]);

  useEffect(() => {
    if (!pending || pending.timedOut) return;
    const t = setTimeout(() => {
      setNow(Date.now());
      void poll();
    }, POLL_MS);
    return () => clearTimeout(t);
  }, [pending, poll]);

  const last = results?.history[0];
  const latest = results?.latest;
  const data = latest?.results;

  return (
    <section className="card" aria-labelledby="results-title" aria-busy={!!pending && !pending.timedOut}>
      <div className="card-head">
        <h2 id="results-title">Results</h2>
        <button type="button" className="btn btn-primary" onClick={refresh} disabled={(!!pending && !pending.timedOut) || x.status === "draft"}>
          {pending && !pending.timedOut ? "Refreshing…" : "Refresh results"}
        </button>
      </div>
      <div className="refresh-bar" aria-live="polite">
        {pending && !pending.timedOut && (
          <>
            <progress aria-label="Refresh progress" />
            <span>
              {pending.refresh ? "Computing results" : "Queued, waiting for a worker"}… {Math.max(0, Math.round((now - pending.since) / 1000))} s
            </span>
          </>
        )}
        {pending?.timedOut && <span className="text-error">The refresh has not finished after 5 minutes; it may still be queued. Reload later.</span>}
        {!pending && last && (
          <span className="muted">
            Last refresh {last.status === "failed" ? "failed" : last.status === "running" ? "is running" : "succeeded"}{" "}
            <span title={dateTime(last.finished_at ?? last.started_at)}>{relativeTime(last.finished_at ?? last.started_at)}</span>
            {last.duration_ms != null && ` in ${last.duration_ms < 1000 ? `${last.duration_ms} ms` : `${(last.duration_ms / 1000).toFixed(1)} s`}`}.
          </span>
        )}
        {!pending && !last && x.status !== "draft" && <span className="muted">No results yet: refresh to compute them.</span>}
        {x.status === "draft" && <span className="muted">Start the experiment to collect results.</span>}
      </div>
      <ErrorBanner error={startError} />
      <ErrorBanner error={error} onRetry={reload} />
      {last?.status === "failed" && !pending && (
        <div className="banner banner-error" role="alert">
          <strong>The last refresh failed{last.error_code ? ` (${last.error_code.replace(/_/g, " ")})` : ""}</strong>
          <span>{last.error ?? "No message."} {latest ? "The results below are from the last successful refresh." : ""}</span>
        </div>
      )}
      {data && latest && (
        <>
          <p className="muted small">
            Computed <span title={dateTime(latest.finished_at)}>{relativeTime(latest.finished_at)}</span> with events up to {dateTime(data.analysis_end)} ·{" "}
            {Object.entries(data.users)
              .map(([v, n]) => `${names[v] ?? v}: ${n.toLocaleString()} users`)
              .join(" · ")}
            {data.multiple_comparisons ? ` · p-values adjusted: ${data.multiple_comparisons}` : ""}
          </p>
          <ResultWarnings results={data} variants={order} />
          {data.power && <PowerLine power={data.power} />}
          {data.metrics.map((m) => (
            <ResultsTable key={m.key} metric={m} variantNames={names} correction={data.multiple_comparisons} />
          ))}
        </>
      )}
    </section>
  );
}

function PowerLine({ power }: { power: NonNullable<NonNullable<Refresh["results"]>["power"]> }) {
  const ss = power.sample_size;
  if (ss.users_per_variant === undefined) return power.message || ss.message ? <p className="muted">{power.message || ss.message}</p> : null;
  return (
    <p>
      Power ({power.metric}): {ss.users_per_variant.toLocaleString()} users per variant needed
      {power.minimum_detectable_effect ? ` for a ${Math.round(power.minimum_detectable_effect * 1000) / 10}% change` : ""}
      {ss.remaining_users_per_variant !== undefined && (ss.remaining_users_per_variant > 0 ? `; ${ss.remaining_users_per_variant.toLocaleString()} more to go` : "; reached")}
      {power.expected_end && ss.remaining_users_per_variant ? `, expected by ${dateTime(power.expected_end)}` : ""}.
      {power.message && <span className="muted"> {power.message}</span>}
    </p>
  );
}

function CountExposures({ x, onDone }: { x: Experiment; onDone: () => void }) {
  const ws = useWorkspace();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await xapi.refreshExposures(ws.project, x.key);
      // The job usually takes a moment: reload a few times.
      for (const ms of [800, 1500, 3000]) {
        await new Promise((r) => setTimeout(r, ms));
        onDone();
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div>
      <button type="button" className="btn" onClick={run} disabled={busy || x.status === "draft"}>
        {busy ? "Counting…" : "Count exposures now"}
      </button>
      <ErrorBanner error={error} />
    </div>
  );
}
