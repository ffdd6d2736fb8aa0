import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, xapi } from "../../api/endpoints";
import type { Experiment, PowerSummary, Refresh, RefreshStatus, ResultsPage } from "../../api/experimentTypes";
import { dayOf, daysNeeded, lifecycleApi, type AnalysisWindow } from "../../api/lifecycle";
import { fieldError } from "../../lib/errors";
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
import { NewPhaseDialog } from "./NewPhaseDialog";
import { describeClause } from "../../lib/targeting";

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
      <Plan x={x} names={names} power={results.data?.latest?.results?.power} />
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
        {exposures.data ? (
          <ExposuresChart items={exposures.data.items} order={order} names={names} results={results.data?.latest?.results} />
        ) : (
          !exposures.error && <Loading />
        )}
      </section>
    </div>
  );
}

function Header({ x, names, onChange }: { x: Experiment; names: Record<string, string>; onChange: (x: Experiment) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const [confirm, setConfirm] = useState<"start" | "stop" | "edit" | "duplicate" | "delete" | "phase" | null>(null);
  const [ship, setShip] = useState("");
  const navigate = useNavigate();
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
          <>
            <button type="button" className="btn" onClick={() => setConfirm("edit")}>
              Edit draft
            </button>
            <button type="button" className="btn btn-danger-outline" onClick={() => setConfirm("delete")}>
              Delete draft
            </button>
            <button type="button" className="btn btn-primary" onClick={() => setConfirm("start")}>
              Start experiment
            </button>
          </>
        )}
        <button type="button" className="btn" onClick={() => setConfirm("duplicate")}>
          Duplicate
        </button>
        {x.status === "running" && (
          <button type="button" className="btn" onClick={() => setConfirm("phase")}>
            Change plan (new phase)
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
      {confirm === "phase" && (
        <NewPhaseDialog
          x={x}
          names={names}
          onCancel={() => setConfirm(null)}
          onDone={(nx) => {
            onChange(nx);
            setConfirm(null);
            toast(`${x.name}: phase ${nx.phases?.length ?? ""} started`);
          }}
        />
      )}
      {confirm === "edit" && <EditDraft x={x} onCancel={() => setConfirm(null)} onSaved={(nx) => (onChange(nx), setConfirm(null), toast(`${nx.name} saved`))} />}
      {confirm === "duplicate" && (
        <DuplicateDialog
          x={x}
          onCancel={() => setConfirm(null)}
          onCreated={(nx) => {
            setConfirm(null);
            toast(`${nx.key} created as a draft`);
            navigate(ws.to(`experiments/${encodeURIComponent(nx.key)}`));
          }}
        />
      )}
      {confirm === "delete" && (
        <ConfirmDialog
          title={`Delete the draft “${x.name}”?`}
          confirmLabel="Delete draft"
          danger
          onCancel={() => setConfirm(null)}
          onConfirm={async () => {
            await xapi.deleteExperiment(ws.project, x.key);
            toast(`${x.name} deleted`);
            navigate(ws.to("experiments"));
          }}
        >
          <p>The draft and its plan are deleted. It never ran, so no results are lost; the flag is not changed.</p>
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

/** "Day 9 of 14" for a running (or stopped) experiment with a planned duration, and a warning when the power estimate needs longer. */
export function PlanProgress({ x, power, now = Date.now() }: { x: Experiment; power?: PowerSummary; now?: number }) {
  const planned = x.planned_duration_days;
  const need = daysNeeded(power?.sample_size.users_per_variant, power?.users_per_day);
  const started = x.phases?.[0]?.started_at ?? x.started_at;
  const day = started ? dayOf(started, x.status === "stopped" && x.stopped_at ? Date.parse(x.stopped_at) : now) : 0;
  return (
    <>
      {planned && started && x.status !== "draft" && (
        <p data-testid="plan-progress">
          <strong>
            Day {day} of {planned}
          </strong>
          {x.status === "stopped" ? " (stopped)" : day > planned ? " (past the planned end)" : ""}
        </p>
      )}
      {planned && need !== undefined && need > planned && (
        <p className="banner banner-warn" role="status" data-testid="plan-too-short">
          The planned {planned} days are shorter than the power estimate: at about {Math.round(power!.users_per_day!).toLocaleString()} users per variant a day,
          the {power!.sample_size.users_per_variant!.toLocaleString()} users per variant needed take about {need.toLocaleString()} days. Stopping at day {planned}{" "}
          would likely miss the effect you planned to detect.
        </p>
      )}
    </>
  );
}

function Plan({ x, names, power }: { x: Experiment; names: Record<string, string>; power?: PowerSummary }) {
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
          <PlanProgress x={x} power={power} />
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
                    {percent(ph.traffic)}% traffic
                    {ph.audience && ` · ${ph.audience.length ? ph.audience.map(describeClause).join(" and ") : "everybody"}`} · from <span title={dateTime(ph.started_at)}>{dateTime(ph.started_at)}</span>
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
  /** The refresh job to ask about (GET .../refreshes/{job}). */
  job?: number;
  status?: RefreshStatus;
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
  const [win, setWin] = useState<WindowChoice>({ kind: x.status === "draft" ? "explicit" : "current", start: "", end: "", phase: 1 });
  const windowBody = toWindow(win);
  const [now, setNow] = useState(Date.now());
  const pendingRef = useRef(pending);
  pendingRef.current = pending;

  const refresh = async () => {
    setStartError(undefined);
    const after = results?.history[0]?.id ?? 0;
    try {
      const job = await lifecycleApi.refresh(ws.project, x.key, windowBody);
      setPending({ after, since: Date.now(), job: job.job_id });
    } catch (e) {
      setStartError(e);
    }
  };

  const poll = useCallback(async () => {
    const p = pendingRef.current;
    if (!p) return;
    try {
      let status: RefreshStatus | undefined;
      if (p.job !== undefined) {
        status = await lifecycleApi.refreshStatus(ws.project, x.key, p.job);
        if (status.state === "queued" || status.state === "running") {
          if (Date.now() - p.since > POLL_LIMIT_MS) setPending({ ...p, status, timedOut: true });
          else setPending({ ...p, status });
          return;
        }
      }
      const r = await xapi.results(ws.project, x.key, 10);
      const newer = r.history.find((h) => h.id > p.after);
      const finished = status ?? (newer && newer.status !== "running" ? { state: newer.status } : undefined);
      if (finished) {
        setResults(r);
        setPending(null);
        toast(finished.state === "succeeded" ? "Results refreshed" : "The refresh failed");
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
        <button
          type="button"
          className="btn btn-primary"
          onClick={refresh}
          disabled={(!!pending && !pending.timedOut) || (x.status === "draft" && !windowBody?.start)}
        >
          {pending && !pending.timedOut ? "Refreshing…" : x.status === "draft" ? "Preview historic data" : "Refresh results"}
        </button>
      </div>
      <WindowPicker x={x} value={win} onChange={setWin} />
      <div className="refresh-bar" aria-live="polite">
        {pending && !pending.timedOut && (
          <>
            <RefreshProgressLine
              status={pending.status ?? (pending.refresh ? { job_id: 0, state: "running", refresh: pending.refresh } : undefined)}
              seconds={Math.max(0, Math.round((now - pending.since) / 1000))}
            />
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
        {x.status === "draft" && (
          <span className="muted">Start the experiment to collect results, or choose a window start to preview historic data (a preview: nobody was assigned by this draft).</span>
        )}
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
          {windowLabel(latest.inputs) && (
            <p className="badge" data-testid="results-window">
              {windowLabel(latest.inputs)}
            </p>
          )}
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
  // Leaving the page stops the reloads: no timer or state update outlives it.
  const alive = useRef(true);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
    };
  }, []);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await xapi.refreshExposures(ws.project, x.key);
      // The job usually takes a moment: reload a few times.
      for (const ms of [800, 1500, 3000]) {
        await new Promise<void>((r) => (timer.current = setTimeout(r, ms)));
        if (!alive.current) return;
        onDone();
      }
    } catch (e) {
      if (alive.current) setError(e);
    } finally {
      if (alive.current) setBusy(false);
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

/** Edits a draft's name, hypothesis and planning (the flag, environment and metrics stay; duplicate to change those). */
export function EditDraft({ x, onCancel, onSaved }: { x: Experiment; onCancel: () => void; onSaved: (x: Experiment) => void }) {
  const ws = useWorkspace();
  const [name, setName] = useState(x.name);
  const [hypothesis, setHypothesis] = useState(x.hypothesis);
  const [days, setDays] = useState(x.planned_duration_days ? String(x.planned_duration_days) : "");
  const [mde, setMde] = useState(x.minimum_detectable_effect ? String(Math.round(x.minimum_detectable_effect * 1000) / 10) : "");
  const [error, setError] = useState<unknown>();
  return (
    <ConfirmDialog
      title={`Edit the draft “${x.name}”`}
      confirmLabel="Save draft"
      onCancel={onCancel}
      onConfirm={async () => {
        setError(undefined);
        try {
          const nx = await lifecycleApi.saveDraft(ws.project, x, {
            name: name.trim(),
            hypothesis,
            planned_duration_days: days.trim() === "" ? null : Number(days),
            planned_sample_size: days.trim() === "" ? x.planned_sample_size : null,
            minimum_detectable_effect: mde.trim() === "" ? null : Number(mde) / 100,
          });
          onSaved(nx);
        } catch (e) {
          setError(e); // marks the fields; the dialog shows the message and stays open
          throw e;
        }
      }}
    >
      <Field label="Name" field="name" error={fieldError(error, "name")}>
        <input value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label="Hypothesis" field="hypothesis" error={fieldError(error, "hypothesis")}>
        <textarea value={hypothesis} onChange={(e) => setHypothesis(e.target.value)} rows={3} />
      </Field>
      <Field label="Planned duration (days)" field="planned_duration_days" error={fieldError(error, "planned_duration_days")}>
        <input inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
      </Field>
      <Field label="Minimum detectable effect (%)" field="minimum_detectable_effect" error={fieldError(error, "minimum_detectable_effect")}>
        <input inputMode="decimal" value={mde} onChange={(e) => setMde(e.target.value)} />
      </Field>
    </ConfirmDialog>
  );
}

/** Creates a new draft with x's plan under a new key. */
export function DuplicateDialog({ x, onCancel, onCreated }: { x: Experiment; onCancel: () => void; onCreated: (x: Experiment) => void }) {
  const ws = useWorkspace();
  const [key, setKey] = useState(`${x.key}-copy`.slice(0, 100));
  const [name, setName] = useState(`${x.name} (copy)`);
  const [error, setError] = useState<unknown>();
  return (
    <ConfirmDialog
      title={`Duplicate “${x.name}”`}
      confirmLabel="Create draft"
      onCancel={onCancel}
      onConfirm={async () => {
        setError(undefined);
        try {
          onCreated(await lifecycleApi.duplicate(ws.project, x, key.trim(), name.trim()));
        } catch (e) {
          setError(e); // marks the fields; the dialog shows the message and stays open
          throw e;
        }
      }}
    >
      <p>A new draft on the flag {x.flag} in {x.environment} with the same variants, traffic, metrics and plan. Nothing runs until you start it.</p>
      <Field label="Key" field="key" error={fieldError(error, "key")}>
        <input value={key} onChange={(e) => setKey(e.target.value)} />
      </Field>
      <Field label="Name" field="name" error={fieldError(error, "name")}>
        <input value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
    </ConfirmDialog>
  );
}

/** While a refresh runs: queued, or computing with the metrics done of total, and the seconds so far. */
export function RefreshProgressLine({ status, seconds }: { status?: RefreshStatus; seconds: number }) {
  const p = status?.progress;
  if (!status || status.state === "queued") {
    return (
      <>
        <progress aria-label="Refresh progress" />
        <span>Queued, waiting for a worker… {seconds} s</span>
      </>
    );
  }
  return (
    <>
      {p && p.total > 0 ? <progress aria-label="Refresh progress" value={p.done} max={p.total} /> : <progress aria-label="Refresh progress" />}
      <span data-testid="refresh-progress">
        Computing results{p && p.total > 0 ? `: ${p.done} of ${p.total} metric${p.total === 1 ? "" : "s"} done` : ""}… {seconds} s
      </span>
    </>
  );
}

interface WindowChoice {
  kind: "current" | "phase" | "explicit";
  phase: number;
  /** datetime-local values (UTC). */
  start: string;
  end: string;
}

/** The refresh body for a choice; undefined is the current phase. */
export function toWindow(w: WindowChoice): AnalysisWindow | undefined {
  if (w.kind === "phase") return { phase: w.phase };
  if (w.kind === "explicit" && w.start) {
    const iso = (v: string) => new Date(`${v}:00Z`).toISOString();
    return { start: iso(w.start), ...(w.end ? { end: iso(w.end) } : {}) };
  }
  return undefined;
}

/** What the stored refresh analysed, in words ("" for the current phase). */
export function windowLabel(inputs: unknown): string {
  const i = (inputs ?? {}) as { window?: string; preview?: boolean; phase?: number; started_at?: string | null; analysis_end?: string };
  if (i.preview) return `Preview of historic data from ${i.started_at ? dateTime(i.started_at) : "the start"} to ${i.analysis_end ? dateTime(i.analysis_end) : "now"}`;
  if (i.window === "explicit") return `Explicit window: ${i.started_at ? dateTime(i.started_at) : "start"} to ${i.analysis_end ? dateTime(i.analysis_end) : "now"}`;
  return "";
}

/** Chooses what a refresh analyses: the current phase, an earlier phase, or an explicit window (UTC). */
function WindowPicker({ x, value, onChange }: { x: Experiment; value: WindowChoice; onChange: (w: WindowChoice) => void }) {
  const phases = x.phases ?? [];
  const kinds = x.status === "draft" ? (["explicit"] as const) : phases.length > 1 ? (["current", "phase", "explicit"] as const) : (["current", "explicit"] as const);
  const kind = kinds.includes(value.kind as never) ? value.kind : kinds[0];
  return (
    <details className="window-picker" open={x.status === "draft" || undefined}>
      <summary>Analysis window: {kind === "current" ? "the current phase" : kind === "phase" ? `phase ${value.phase}` : "explicit (UTC)"}</summary>
      <div className="grid-2">
        <Field label="Analyse">
          <select value={kind} onChange={(e) => onChange({ ...value, kind: e.target.value as WindowChoice["kind"] })}>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {k === "current" ? "The current phase" : k === "phase" ? "An earlier phase" : "An explicit window"}
              </option>
            ))}
          </select>
        </Field>
        {kind === "phase" && (
          <Field label="Phase">
            <select value={value.phase} onChange={(e) => onChange({ ...value, kind, phase: Number(e.target.value) })}>
              {phases.map((ph) => (
                <option key={ph.number} value={ph.number}>
                  Phase {ph.number}
                </option>
              ))}
            </select>
          </Field>
        )}
        {kind === "explicit" && (
          <>
            <Field label="Window start (UTC)">
              <input type="datetime-local" value={value.start} onChange={(e) => onChange({ ...value, kind, start: e.target.value })} />
            </Field>
            <Field label="Window end (UTC)" hint="Empty: up to now.">
              <input type="datetime-local" value={value.end} onChange={(e) => onChange({ ...value, kind, end: e.target.value })} />
            </Field>
          </>
        )}
      </div>
    </details>
  );
}
