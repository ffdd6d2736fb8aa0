// Safe rollouts (docs/safe-rollouts.md): the flag page's card with "New safe
// rollout", and the monitoring page with the stage timeline, one tile per
// guardrail (effect and sequential interval against the threshold, over
// the checks) and the reason of every decision.
import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { rapi, tapi, xapi } from "../../api/endpoints";
import type { Flag } from "../../api/types";
import type { GuardrailNumbers, RolloutAction, RolloutDecision, SafeRollout, Stage } from "../../api/safeRolloutTypes";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { dateTime, relativeTime } from "../../lib/format";
import { fieldError } from "../../lib/errors";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Field } from "../../components/Field";
import { Loading } from "../../components/Loading";
import { useToast } from "../../components/Toast";
import { ClausesEditor } from "../../components/targeting/ClausesEditor";
import { clauseDraft, describeClause, placeError, toClause, type ClauseDraft } from "../../lib/targeting";

const DEFAULT_STAGES = "1, 5, 25, 50, 100";

function RolloutBadge({ state }: { state: string }) {
  return <span className={`status status-${state}`}>{state.replace("_", " ")}</span>;
}

/** The flag page's safe rollouts in the selected environment, with the create form. */
export function FlagSafeRollouts({ flag }: { flag: Flag }) {
  const ws = useWorkspace();
  const [creating, setCreating] = useState(false);
  const list = useApi((s) => rapi.listSafeRollouts(ws.project, flag.key, s), [ws.project, flag.key]);
  const items = (list.data?.items ?? []).filter((r) => r.environment === ws.env);
  return (
    <section className="card" aria-labelledby="flag-rollouts-title">
      <div className="card-head">
        <h2 id="flag-rollouts-title">Safe rollouts in {ws.environment.name}</h2>
        {!flag.archived_at && flag.variants.length >= 2 && !creating && (
          <button type="button" className="btn btn-small" onClick={() => setCreating(true)}>
            New safe rollout
          </button>
        )}
      </div>
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {creating && (
        <NewSafeRolloutForm
          flag={flag}
          onCancel={() => setCreating(false)}
          onCreated={() => {
            setCreating(false);
            list.reload();
          }}
        />
      )}
      {list.data && items.length === 0 && !creating && (
        <p className="muted">No safe rollouts of this flag here yet. A safe rollout ships a variant in stages and rolls back by itself when a guardrail metric gets worse.</p>
      )}
      {items.length > 0 && (
        <ul className="change-list">
          {items.map((r) => (
            <li key={r.key}>
              <Link to={ws.to(`safe-rollouts/${encodeURIComponent(r.key)}`)}>{r.name}</Link> <RolloutBadge state={r.state} />{" "}
              <span className="muted small">
                {r.new_variant} at {r.percent}% · {r.state_reason}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function parseStages(text: string): Stage[] | undefined {
  if (text.replace(/\s/g, "") === DEFAULT_STAGES.replace(/\s/g, "")) return undefined; // the server's defaults (with durations and samples)
  return text
    .split(/[,\s]+/)
    .filter(Boolean)
    .map((p) => ({ percent: Number(p), min_duration_seconds: 3600, min_sample: 100 }));
}

/** The create form: variants, guardrails with thresholds, stages, what to do on a regression. */
export function NewSafeRolloutForm({ flag, onCancel, onCreated }: { flag: Flag; onCancel: () => void; onCreated: (r: SafeRollout) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const metrics = useApi((s) => xapi.listMetrics(ws.project, s), [ws.project]);
  const attributes = useApi((s) => tapi.attributes(ws.project, ws.env, s), [ws.project, ws.env]);
  const segments = useApi((s) => tapi.listSegments(ws.project, ws.env, s), [ws.project, ws.env]);
  const [audience, setAudience] = useState<ClauseDraft[]>([]);
  const [key, setKey] = useState(`${flag.key}-rollout`);
  const [control, setControl] = useState(flag.variants[0]?.key ?? "");
  const [next, setNext] = useState(flag.variants[1]?.key ?? "");
  const [guards, setGuards] = useState<Record<string, string>>({});
  const [stages, setStages] = useState(DEFAULT_STAGES);
  const [onRegression, setOnRegression] = useState<"rollback" | "pause">("rollback");
  const [startNow, setStartNow] = useState(true);
  const [err, setErr] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      const r = await rapi.createSafeRollout(ws.project, {
        key,
        flag: flag.key,
        environment: ws.env,
        control_variant: control,
        new_variant: next,
        stages: parseStages(stages),
        guardrails: Object.entries(guards).map(([metric, pct]) => ({ metric, threshold: (Number(pct) || 0) / 100 })),
        audience: audience.map(toClause),
        on_regression: onRegression,
        start: startNow,
      });
      toast(startNow ? `${r.name} started: ${r.new_variant} at ${r.percent}%` : `${r.name} created as a draft: edit its stages and start it from its page`);
      onCreated(r);
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const guardError = fieldError(err, "guardrails", { prefix: true });
  return (
    <form onSubmit={submit} className="stack" aria-label="New safe rollout">
      <Field label="Key" field="key" error={fieldError(err, "key")}>
        <input value={key} onChange={(e) => setKey(e.target.value)} />
      </Field>
      <Field label="Control (served now)" field="control_variant" error={fieldError(err, "control_variant")}>
        <select value={control} onChange={(e) => setControl(e.target.value)}>
          {flag.variants.map((v) => (
            <option key={v.key} value={v.key}>
              {v.key}
            </option>
          ))}
        </select>
      </Field>
      <Field label="New variant" field="new_variant" error={fieldError(err, "new_variant")}>
        <select value={next} onChange={(e) => setNext(e.target.value)}>
          {flag.variants.map((v) => (
            <option key={v.key} value={v.key}>
              {v.key}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Stages (% of users)" field="stages" error={fieldError(err, "stages", { prefix: true })} hint="Increasing, ending at 100.">
        <input value={stages} onChange={(e) => setStages(e.target.value)} />
      </Field>
      <fieldset>
        <legend>Guardrails</legend>
        {guardError && <p className="field-error">{guardError}</p>}
        {(metrics.data?.items ?? []).map((m) => (
          <div key={m.key} className="row">
            <label>
              <input
                type="checkbox"
                checked={m.key in guards}
                onChange={(e) =>
                  setGuards((g) => {
                    const out = { ...g };
                    if (e.target.checked) out[m.key] = "0";
                    else delete out[m.key];
                    return out;
                  })
                }
              />{" "}
              {m.name} <span className="muted small">({m.direction} is better)</span>
            </label>
            {m.key in guards && (
              <label className="small">
                {" "}
                allowed harm %{" "}
                <input
                  aria-label={`Allowed harm for ${m.key}`}
                  inputMode="decimal"
                  size={4}
                  value={guards[m.key]}
                  onChange={(e) => setGuards((g) => ({ ...g, [m.key]: e.target.value }))}
                />
              </label>
            )}
          </div>
        ))}
      </fieldset>
      <fieldset>
        <legend>Audience</legend>
        <p className="muted small">
          Only contexts matching every condition take part (and are exposed); everyone else keeps <code>{control}</code> for the whole rollout.
        </p>
        <ClausesEditor
          clauses={audience}
          onChange={setAudience}
          field="audience"
          error={placeError(err, "audience", true)}
          attributes={attributes.data?.attributes}
          segments={(segments.data?.segments ?? []).map((sg) => ({ key: sg.key, name: sg.name }))}
          disabled={busy}
          emptyText="Everybody with a targeting key takes part."
        />
      </fieldset>
      <Field label="On a regression" field="on_regression" error={fieldError(err, "on_regression")}>
        <select value={onRegression} onChange={(e) => setOnRegression(e.target.value as "rollback" | "pause")}>
          <option value="rollback">Roll back (serve the control to everyone)</option>
          <option value="pause">Pause and notify</option>
        </select>
      </Field>
      <label className="checkbox">
        <input type="checkbox" checked={startNow} onChange={(e) => setStartNow(e.target.checked)} /> Start right away (otherwise a draft, whose stage
        durations and samples you can edit first)
      </label>
      <ErrorBanner error={err && !fieldError(err, (err as { field?: string }).field ?? "") ? err : undefined} />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {startNow ? "Start safe rollout" : "Create draft"}
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const actionsFor: Record<string, RolloutAction[]> = {
  draft: ["start"],
  running: ["pause", "advance", "rollback"],
  paused: ["resume", "advance", "rollback"],
};

/** The monitoring page of one safe rollout. */
export function SafeRolloutPage() {
  const ws = useWorkspace();
  const toast = useToast();
  const { rollout: key = "" } = useParams();
  const r = useApi((s) => rapi.getSafeRollout(ws.project, key, s), [ws.project, key]);
  const [err, setErr] = useState<unknown>();
  const [editingStages, setEditingStages] = useState(false);
  const [editingAudience, setEditingAudience] = useState(false);
  if (!r.data) return r.error ? <ErrorBanner error={r.error} onRetry={r.reload} /> : <Loading />;
  const x = r.data;
  const act = async (a: RolloutAction) => {
    setErr(undefined);
    try {
      const nx = await rapi.safeRolloutAction(ws.project, x.key, a);
      r.setData(nx);
      toast(`${x.name}: ${nx.state.replace("_", " ")} at ${nx.percent}%`);
    } catch (e) {
      setErr(e);
    }
  };
  const checks = [...x.decisions].reverse().filter((d) => d.numbers?.guardrails);
  const latest = checks[checks.length - 1];
  return (
    <div>
      <p className="breadcrumbs">
        <Link to={ws.to(`flags/${encodeURIComponent(x.flag)}`)}>{x.flag}</Link> <span aria-hidden="true">/</span> {x.name}
      </p>
      <div className="page-header">
        <div>
          <h1>
            {x.name} <RolloutBadge state={x.state} />
          </h1>
          <p className="muted">
            <code>{x.new_variant}</code> over <code>{x.control_variant}</code> in {x.environment} · now {x.percent}% ·{" "}
            {x.checks} checks{x.next_check_at && x.state === "running" ? ` · next ${relativeTime(x.next_check_at)}` : ""} · measured by experiment{" "}
            <Link to={ws.to(`experiments/${encodeURIComponent(x.experiment)}`)}>{x.experiment}</Link>
          </p>
          <p className="small" aria-label="Audience">
            Audience:{" "}
            {(x.audience ?? []).length ? (
              <>
                {(x.audience ?? []).map(describeClause).join(" and ")} <span className="muted">(everyone else keeps {x.control_variant})</span>
              </>
            ) : (
              "everybody with a targeting key"
            )}{" "}
            {x.state === "draft" && !editingAudience && (
              <button type="button" className="btn btn-small" onClick={() => setEditingAudience(true)}>
                Edit audience
              </button>
            )}
          </p>
          {editingAudience && (
            <AudienceEditor
              rollout={x}
              onCancel={() => setEditingAudience(false)}
              onSaved={(nx) => {
                r.setData(nx);
                setEditingAudience(false);
                toast(`${x.name}: audience saved`);
              }}
            />
          )}
          {x.state_reason && <p role="status">{x.state_reason}</p>}
        </div>
        <div className="row">
          {(actionsFor[x.state] ?? []).map((a) => (
            <button key={a} type="button" className={a === "rollback" ? "btn btn-danger" : "btn"} onClick={() => act(a)}>
              {{ start: "Start", pause: "Pause", resume: "Resume", advance: "Advance now", rollback: "Roll back now" }[a]}
            </button>
          ))}
        </div>
      </div>
      <ErrorBanner error={err} />
      <section className="card" aria-labelledby="stages-title">
        <div className="card-head">
          <h2 id="stages-title">Stages</h2>
          {(x.state === "draft" || x.state === "paused") && !editingStages && (
            <button type="button" className="btn btn-small" onClick={() => setEditingStages(true)}>
              Edit stages
            </button>
          )}
        </div>
        {editingStages && (
          <StagesEditor
            rollout={x}
            onCancel={() => setEditingStages(false)}
            onSaved={(nx) => {
              r.setData(nx);
              setEditingStages(false);
              toast(`${x.name}: stages saved`);
            }}
          />
        )}
        <ol className="stage-timeline">
          {x.stages.map((s, i) => {
            const status =
              x.state === "completed" || i < x.current_stage ? "done" : i === x.current_stage && x.state !== "draft" ? x.state : "ahead";
            return (
              <li key={i} className={`stage stage-${status}`} aria-current={i === x.current_stage ? "step" : undefined}>
                <strong>{s.percent}%</strong>{" "}
                <span className="muted small">
                  {s.percent < 100 ? `≥ ${Math.round((s.min_duration_seconds ?? 0) / 60)} min, ≥ ${s.min_sample ?? 0} users` : "ships"} · {status.replace("_", " ")}
                </span>
              </li>
            );
          })}
        </ol>
      </section>
      <section className="card" aria-labelledby="guardrails-title">
        <h2 id="guardrails-title">Guardrails</h2>
        <div className="tiles">
          {x.guardrails.map((g) => (
            <GuardrailTile key={g.metric} metric={g.metric} history={checks} latest={latest?.numbers.guardrails?.find((n) => n.metric === g.metric)} />
          ))}
        </div>
      </section>
      <section className="card" aria-labelledby="decisions-title">
        <h2 id="decisions-title">Decisions</h2>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Check</th>
                <th scope="col">Action</th>
                <th scope="col">Reason</th>
                <th scope="col">By</th>
              </tr>
            </thead>
            <tbody>
              {x.decisions.map((d) => (
                <tr key={d.id}>
                  <td>{dateTime(d.created_at)}</td>
                  <td>{d.check_number ?? "manual"}</td>
                  <td>{d.action}</td>
                  <td>{d.reason}</td>
                  <td>{d.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}

/**
 * Edits a draft's audience (PATCH with its stages, at the version read). A
 * paused rollout's audience cannot change: users inside it were served the
 * new variant already.
 */
export function AudienceEditor({ rollout: x, onCancel, onSaved }: { rollout: SafeRollout; onCancel: () => void; onSaved: (r: SafeRollout) => void }) {
  const ws = useWorkspace();
  const attributes = useApi((s) => tapi.attributes(ws.project, x.environment, s), [ws.project, x.environment]);
  const segments = useApi((s) => tapi.listSegments(ws.project, x.environment, s), [ws.project, x.environment]);
  const [audience, setAudience] = useState<ClauseDraft[]>(() => (x.audience ?? []).map(clauseDraft));
  const [err, setErr] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      onSaved(await rapi.updateSafeRollout(ws.project, x.key, { version: x.version, stages: x.stages, audience: audience.map(toClause) }));
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const placed = placeError(err, "audience", true);
  return (
    <form onSubmit={submit} className="stack" aria-label="Edit audience">
      <ClausesEditor
        clauses={audience}
        onChange={setAudience}
        field="audience"
        error={placed}
        attributes={attributes.data?.attributes}
        segments={(segments.data?.segments ?? []).map((sg) => ({ key: sg.key, name: sg.name }))}
        disabled={busy}
        emptyText="Everybody with a targeting key takes part."
      />
      {!placed && <ErrorBanner error={err} />}
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Save audience
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

interface StageRow {
  percent: string;
  minutes: string;
  sample: string;
}

/**
 * Edits the stages of a draft or paused rollout (PATCH at the version read).
 * Of a paused rollout, the stages up to the current one were served: their
 * percent is fixed; every minimum duration and sample can change. The API
 * checks the rest (increasing, above 0, at most 100, ending at 100) and
 * names the field, shown at its cell.
 */
export function StagesEditor({ rollout: x, onCancel, onSaved }: { rollout: SafeRollout; onCancel: () => void; onSaved: (r: SafeRollout) => void }) {
  const ws = useWorkspace();
  const fixed = x.state === "paused" ? x.current_stage : -1; // rows 0..fixed keep their percent
  const [rows, setRows] = useState<StageRow[]>(() =>
    x.stages.map((s) => ({ percent: String(s.percent), minutes: String(Math.round((s.min_duration_seconds ?? 0) / 60)), sample: String(s.min_sample ?? 0) })),
  );
  const [err, setErr] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const set = (i: number, k: keyof StageRow, v: string) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, [k]: v } : r)));
  const num = (v: string) => (v.trim() === "" ? NaN : Number(v));
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      const stages = rows.map((r) => ({ percent: num(r.percent), min_duration_seconds: Math.round(num(r.minutes) * 60), min_sample: num(r.sample) }));
      onSaved(await rapi.updateSafeRollout(ws.project, x.key, { version: x.version, stages }));
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  const shown = (f: string) => fieldError(err, f);
  const cellFields = rows.flatMap((_, i) => [`stages[${i}].percent`, `stages[${i}].min_duration_seconds`, `stages[${i}].min_sample`]);
  const other = err && !cellFields.some((f) => shown(f)) ? err : undefined;
  return (
    <form onSubmit={submit} className="stack" aria-label="Edit stages">
      {x.state === "paused" && (
        <p className="muted small">
          Paused at stage {x.current_stage + 1} ({x.stages[x.current_stage]?.percent}%): the stages served so far keep their share; their minimums and every later stage
          can change. Resume to go on.
        </p>
      )}
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col">% of users</th>
              <th scope="col">Min. duration (minutes)</th>
              <th scope="col">Min. sample (new-variant users)</th>
              <th scope="col">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                <td>{i + 1}</td>
                <td>
                  <input
                    aria-label={`Stage ${i + 1} percent`}
                    inputMode="decimal"
                    size={5}
                    value={row.percent}
                    readOnly={i <= fixed}
                    aria-invalid={shown(`stages[${i}].percent`) ? true : undefined}
                    onChange={(e) => set(i, "percent", e.target.value)}
                  />
                  {shown(`stages[${i}].percent`) && <p className="field-error">{shown(`stages[${i}].percent`)}</p>}
                </td>
                <td>
                  <input
                    aria-label={`Stage ${i + 1} minimum duration in minutes`}
                    inputMode="numeric"
                    size={6}
                    value={row.minutes}
                    aria-invalid={shown(`stages[${i}].min_duration_seconds`) ? true : undefined}
                    onChange={(e) => set(i, "minutes", e.target.value)}
                  />
                  {shown(`stages[${i}].min_duration_seconds`) && <p className="field-error">{shown(`stages[${i}].min_duration_seconds`)}</p>}
                </td>
                <td>
                  <input
                    aria-label={`Stage ${i + 1} minimum sample`}
                    inputMode="numeric"
                    size={8}
                    value={row.sample}
                    aria-invalid={shown(`stages[${i}].min_sample`) ? true : undefined}
                    onChange={(e) => set(i, "sample", e.target.value)}
                  />
                  {shown(`stages[${i}].min_sample`) && <p className="field-error">{shown(`stages[${i}].min_sample`)}</p>}
                </td>
                <td>
                  {i > fixed && rows.length > 1 && (
                    <button type="button" className="btn btn-small" aria-label={`Remove stage ${i + 1}`} onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>
                      ×
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorBanner error={other} />
      <div className="row">
        <button
          type="button"
          className="btn btn-small"
          onClick={() => setRows((rs) => [...rs.slice(0, -1), { percent: "", minutes: "60", sample: "100" }, ...rs.slice(-1)])}
        >
          Add a stage
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Save stages
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const pct = (v: number | undefined) => (v === undefined ? "–" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(2)}%`);

/** One guardrail: the latest effect with its sequential interval against the threshold, and its history over the checks. */
function GuardrailTile({ metric, latest, history }: { metric: string; latest?: GuardrailNumbers; history: RolloutDecision[] }) {
  const points = history
    .map((d) => ({ check: d.check_number ?? 0, g: d.numbers.guardrails?.find((n) => n.metric === metric) }))
    .filter((p) => p.g?.ci_low !== undefined && p.g?.ci_high !== undefined);
  const harmSign = latest?.direction === "lower" ? 1 : -1;
  const threshold = latest ? harmSign * latest.threshold : 0;
  const values = points.flatMap((p) => [p.g!.ci_low!, p.g!.ci_high!]).concat([threshold, 0]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const W = 240;
  const H = 80;
  const y = (v: number) => (hi === lo ? H / 2 : H - ((v - lo) / (hi - lo)) * H);
  const xs = (i: number) => (points.length <= 1 ? W / 2 : (i / (points.length - 1)) * (W - 10) + 5);
  return (
    <div className={`tile${latest?.regression ? " tile-regression" : ""}`} role="group" aria-label={`Guardrail ${metric}`}>
      <h3>{metric}</h3>
      {latest ? (
        <>
          <p>
            <strong>{pct(latest.relative_effect)}</strong>{" "}
            <span className="muted small">
              interval {pct(latest.ci_low)} to {pct(latest.ci_high)} · allowed {pct(threshold)} · {latest.direction} is better
            </span>
          </p>
          <p className="small">
            {latest.regression ? "Regression: the interval lies entirely beyond the threshold." : latest.status === "ok" ? "No regression." : latest.message ?? latest.status}{" "}
            <span className="muted">
              ({latest.users_control} control, {latest.users_new} new users)
            </span>
          </p>
        </>
      ) : (
        <p className="muted small">No check yet.</p>
      )}
      {points.length > 0 && (
        <svg width={W} height={H} role="img" aria-label={`${metric}: effect and interval over ${points.length} checks`}>
          <line x1={0} x2={W} y1={y(0)} y2={y(0)} stroke="currentColor" strokeOpacity={0.3} />
          <line x1={0} x2={W} y1={y(threshold)} y2={y(threshold)} stroke="crimson" strokeDasharray="4 3" />
          {points.map((p, i) => (
            <g key={p.check}>
              <line x1={xs(i)} x2={xs(i)} y1={y(p.g!.ci_low!)} y2={y(p.g!.ci_high!)} stroke={p.g!.regression ? "crimson" : "steelblue"} strokeWidth={3} />
              {p.g!.relative_effect !== undefined && <circle cx={xs(i)} cy={y(p.g!.relative_effect)} r={2.5} fill="currentColor" />}
            </g>
          ))}
        </svg>
      )}
    </div>
  );
}
