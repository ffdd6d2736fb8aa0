import { useEffect, useState } from "react";
import { Link } from "react-router";
import { api } from "../api/endpoints";
import { EVENT_TYPES, type FlagEvent } from "../api/types";
import { base, useWorkspace } from "../workspace";
import { usePaged } from "../lib/usePaged";
import { useSearchState } from "../lib/useSearchState";
import { dateTime, localToRFC3339, relativeTime, rfc3339ToLocal } from "../lib/format";
import { diff } from "../lib/diff";
import { fieldError } from "../lib/errors";
import { ErrorBanner } from "../components/ErrorBanner";
import { Loading } from "../components/Loading";

const KEYS = ["flag", "environment", "type", "actor", "since", "until"] as const;

export const EVENT_LABELS: Record<string, string> = {
  flag_created: "Created",
  flag_updated: "Edited",
  flag_archived: "Archived",
  flag_restored: "Restored",
  flag_toggled: "Toggled",
  rollout_changed: "Rollout changed",
  off_variant_changed: "Off variant changed",
  assignment_added: "Assignment added",
  assignment_changed: "Assignment changed",
  assignment_removed: "Assignment removed",
  experiment_started: "Experiment started",
  experiment_stopped: "Experiment stopped",
  experiment_phase_changed: "Experiment phase changed",
  experiment_interrupted: "Experiment interrupted",
  rules_changed: "Rules changed",
  prerequisites_changed: "Prerequisites changed",
  segment_created: "Segment created",
  segment_updated: "Segment edited",
  segment_deleted: "Segment deleted",
  safe_rollout_started: "Safe rollout started",
  safe_rollout_advanced: "Safe rollout advanced",
  safe_rollout_paused: "Safe rollout paused",
  safe_rollout_resumed: "Safe rollout resumed",
  safe_rollout_rolled_back: "Safe rollout rolled back",
  safe_rollout_completed: "Safe rollout completed",
  safe_rollout_stages_changed: "Safe rollout stages changed",
};

/** A safe rollout's stage share: percent is a number of percent (0.01 steps). */
const share = (v: unknown): string => (typeof v === "number" ? `${v}%` : "—");
const because = (r: unknown): string => (typeof r === "string" && r ? `: ${r}` : "");
/** "10% (60 min, 100 users), 100%": a safe rollout's stages; the last (100%) has no minimums. */
const stagesText = (v: unknown): string =>
  Array.isArray(v)
    ? v
        .map((s: { percent?: number; min_duration_seconds?: number; min_sample?: number }) =>
          s.percent === 100 ? "100%" : `${share(s.percent)} (${Math.round((s.min_duration_seconds ?? 0) / 60)} min, ${s.min_sample ?? 0} users)`,
        )
        .join(", ")
    : "—";

const count = (v: unknown): number => (Array.isArray(v) ? v.length : 0);
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;

function prerequisitesText(v: unknown): string {
  if (!Array.isArray(v) || v.length === 0) return "none";
  return (v as { flag: string; variants: string[] }[])
    .map((p) => `${p.flag} is ${(p.variants ?? []).join(" or ")}`)
    .join(", ");
}

type Obj = Record<string, unknown>;
const o = (v: unknown): Obj => (v && typeof v === "object" ? (v as Obj) : {});

function rolloutText(v: unknown): string {
  if (!Array.isArray(v)) return "";
  const ws = v as { variant: string; weight: number }[];
  const full = ws.find((w) => w.weight === 10000);
  if (full) return `${full.variant} 100%`;
  return ws
    .filter((w) => w.weight > 0)
    .map((w) => `${w.variant} ${pct(w.weight)}`)
    .join(" · ");
}

/** Basis points (0..10000: rollout and experiment weights, experiment traffic) as a percentage. */
function pct(bp: unknown): string {
  return typeof bp === "number" ? `${bp / 100}%` : "—";
}

const isWeights = (v: unknown): boolean =>
  Array.isArray(v) && v.length > 0 && v.every((w) => o(w).variant !== undefined && typeof o(w).weight === "number");

/**
 * A value in the "Show changes" table, formatted like the summary line: a
 * variant's weight ("rollout[on]", "weights[red]", also inside rules) and an
 * experiment's traffic in percent, not basis points; a whole list of weights
 * as "red 50% · blue 50%"; a safe rollout's percent (already percent) with
 * its sign; anything else as JSON.
 */
export function diffValue(path: string, v: unknown): string {
  if (typeof v === "number") {
    if (/(^|\.)((weights|rollout)\[[^\]]*\]|traffic)$/.test(path)) return pct(v);
    if (/(^|\.)percent$/.test(path)) return share(v);
  }
  if (/(^|\.)(weights|rollout)$/.test(path) && isWeights(v)) return rolloutText(v);
  return JSON.stringify(v);
}

/** One line saying what happened. */
export function eventSummary(e: FlagEvent): string {
  const b = o(e.before);
  const a = o(e.after);
  switch (e.type) {
    case "flag_created":
      return `Created “${String(a.name ?? e.flag)}” (${String(a.kind ?? "boolean")})`;
    case "flag_updated": {
      const fields = diff(e.before, e.after).map((r) => r.path.split(/[.[]/)[0]);
      const uniq = [...new Set(fields)];
      return uniq.length ? `Changed ${uniq.join(", ")}` : "Edited";
    }
    case "flag_archived":
      return "Archived the flag";
    case "flag_restored":
      return "Restored the flag";
    case "flag_toggled":
      return a.enabled ? "Turned on" : "Turned off";
    case "rollout_changed":
      return `Rollout ${rolloutText(b.rollout) || "—"} → ${rolloutText(a.rollout) || "—"}`;
    case "off_variant_changed":
      return `Off variant ${String(b.off_variant)} → ${String(a.off_variant)}`;
    case "assignment_added":
      return `Assigned ${String(a.user_id)} to ${String(a.variant)}`;
    case "assignment_changed":
      return `${String(a.user_id)}: ${String(b.variant)} → ${String(a.variant)}`;
    case "assignment_removed":
      return `Removed the assignment of ${String(b.user_id)} (was ${String(b.variant)})`;
    case "experiment_started":
      return `Started experiment “${String(a.experiment)}”: ${rolloutText(a.weights) || "—"}, ${pct(a.traffic)} of users`;
    case "experiment_stopped":
      return a.shipped_variant
        ? `Stopped experiment “${String(a.experiment)}” and shipped ${String(a.shipped_variant)} to everyone`
        : `Stopped experiment “${String(a.experiment)}”`;
    case "experiment_phase_changed":
      return `Experiment “${String(a.experiment)}” phase ${String(b.phase)} → ${String(a.phase)}: ${rolloutText(b.weights) || "—"}, ${pct(b.traffic)} → ${rolloutText(a.weights) || "—"}, ${pct(a.traffic)} of users`;
    case "experiment_interrupted":
      return `Kill switch: experiment “${String(a.experiment)}” phase ${String(a.phase)} interrupted (flag turned off)`;
    case "rules_changed":
      return `Rules: ${plural(count(b.rules), "rule")} → ${plural(count(a.rules), "rule")}`;
    case "prerequisites_changed":
      return `Prerequisites: ${prerequisitesText(b.prerequisites)} → ${prerequisitesText(a.prerequisites)}`;
    case "segment_created":
      return `Created segment “${String(a.segment)}” (${plural(count(a.included), "included id")}, ${plural(count(a.excluded), "excluded id")}, ${plural(count(a.rules), "rule")})`;
    case "segment_updated":
      return `Edited segment “${String(a.segment)}”: included ${count(b.included)} → ${count(a.included)}, excluded ${count(b.excluded)} → ${count(a.excluded)}, rules ${count(b.rules)} → ${count(a.rules)}`;
    case "segment_deleted":
      return `Deleted segment “${String(b.segment)}”`;
    case "safe_rollout_started":
      return `Started safe rollout “${String(a.safe_rollout)}” at ${share(a.percent)}`;
    case "safe_rollout_advanced":
      return `Safe rollout “${String(a.safe_rollout)}” advanced ${share(b.percent)} → ${share(a.percent)}${because(a.reason)}`;
    case "safe_rollout_paused":
      return `Paused safe rollout “${String(a.safe_rollout)}” at ${share(a.percent)}${because(a.reason)}`;
    case "safe_rollout_resumed":
      return `Resumed safe rollout “${String(a.safe_rollout)}” at ${share(a.percent)}`;
    case "safe_rollout_rolled_back":
      return `Rolled back safe rollout “${String(a.safe_rollout)}” (was at ${share(b.percent)})${because(a.reason)}`;
    case "safe_rollout_completed":
      return `Safe rollout “${String(a.safe_rollout)}” completed: the new value ships to everyone`;
    case "safe_rollout_stages_changed":
      return `Safe rollout “${String(a.safe_rollout)}” stages ${stagesText(b.stages)} → ${stagesText(a.stages)}`;
  }
  return e.type;
}

/** The flag-event log: who changed what, when; newest first. */
export function EventsPage() {
  const ws = useWorkspace();
  const [params, setParams] = useSearchState(KEYS);
  const events = usePaged(
    (cursor, signal) =>
      api.listEvents(
        ws.project,
        {
          flag: params.flag,
          environment: params.environment,
          type: params.type,
          actor: params.actor,
          since: params.since,
          until: params.until,
          cursor,
          limit: 50,
        },
        signal,
      ),
    [ws.project, params.flag, params.environment, params.type, params.actor, params.since, params.until],
  );
  const filtered = KEYS.some((k) => params[k]);

  useEffect(() => {
    document.title = "Events log · Waypost";
  }, []);

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>Events log</h1>
          <p className="muted">Every change to this project’s flags, newest first. Use it to connect a bug report to a flag change.</p>
        </div>
      </div>
      <Filters params={params} setParams={setParams} error={events.error} />
      {filtered && (
        <p>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => setParams({ flag: "", environment: "", type: "", actor: "", since: "", until: "" }, false)}>
            Clear filters
          </button>
        </p>
      )}
      <ErrorBanner error={events.error} onRetry={events.reload} labels={{ since: "From", until: "Until", type: "Type", environment: "Environment", flag: "Flag" }} />
      {events.loading && events.items.length === 0 ? (
        <Loading label="Loading events…" />
      ) : events.items.length === 0 && !events.error ? (
        <p className="empty">{filtered ? "No events match these filters." : "No events yet. Create or change a flag and it shows up here."}</p>
      ) : (
        <ol className="event-list" aria-label="Events" aria-busy={events.loading} data-busy={events.loading || undefined}>
          {events.items.map((e) => (
            <EventRow key={e.id} event={e} />
          ))}
        </ol>
      )}
      {events.hasMore && (
        <p>
          <button type="button" className="btn" onClick={events.loadMore} disabled={events.loadingMore}>
            {events.loadingMore ? "Loading…" : "Load more"}
          </button>
        </p>
      )}
      {!events.hasMore && events.items.length > 0 && <p className="muted small">That is the whole log{filtered ? " for these filters" : ""}.</p>}
    </div>
  );
}

function Filters({
  params,
  setParams,
  error,
}: {
  params: Record<(typeof KEYS)[number], string>;
  setParams: (p: Partial<Record<(typeof KEYS)[number], string>>, replace?: boolean) => void;
  error: unknown;
}) {
  const ws = useWorkspace();
  const [flag, setFlag] = useState(params.flag);
  const [actor, setActor] = useState(params.actor);
  useEffect(() => setFlag(params.flag), [params.flag]);
  useEffect(() => setActor(params.actor), [params.actor]);
  return (
    <form
      className="toolbar filters"
      role="search"
      aria-label="Filter events"
      onSubmit={(e) => {
        e.preventDefault();
        setParams({ flag: flag.trim(), actor: actor.trim() }, false);
      }}
    >
      <label className="stacked">
        <span>Flag key</span>
        <input value={flag} onChange={(e) => setFlag(e.target.value)} onBlur={() => flag.trim() !== params.flag && setParams({ flag: flag.trim() }, false)} placeholder="any" size={16} />
      </label>
      <label className="stacked">
        <span>Environment</span>
        <select value={params.environment} onChange={(e) => setParams({ environment: e.target.value }, false)}>
          <option value="">All (incl. flag-wide)</option>
          {ws.environments.map((env) => (
            <option key={env.key} value={env.key}>
              {env.name}
            </option>
          ))}
        </select>
      </label>
      <label className="stacked">
        <span>Type</span>
        <select value={params.type} onChange={(e) => setParams({ type: e.target.value }, false)}>
          <option value="">Any</option>
          {EVENT_TYPES.map((t) => (
            <option key={t} value={t}>
              {EVENT_LABELS[t]}
            </option>
          ))}
        </select>
      </label>
      <label className="stacked">
        <span>Actor</span>
        <input value={actor} onChange={(e) => setActor(e.target.value)} onBlur={() => actor.trim() !== params.actor && setParams({ actor: actor.trim() }, false)} placeholder="anyone" size={12} />
      </label>
      <label className={fieldError(error, "since") ? "stacked wide field-invalid" : "stacked wide"}>
        <span>From</span>
        <input type="datetime-local" value={rfc3339ToLocal(params.since)} aria-invalid={!!fieldError(error, "since")} onChange={(e) => setParams({ since: localToRFC3339(e.target.value) }, false)} />
      </label>
      <label className={fieldError(error, "until") ? "stacked wide field-invalid" : "stacked wide"}>
        <span>Until</span>
        <input type="datetime-local" value={rfc3339ToLocal(params.until)} aria-invalid={!!fieldError(error, "until")} onChange={(e) => setParams({ until: localToRFC3339(e.target.value) }, false)} />
      </label>
      <button type="submit" className="btn">
        Apply
      </button>
    </form>
  );
}

function EventRow({ event: e }: { event: FlagEvent }) {
  const ws = useWorkspace();
  const [open, setOpen] = useState(false);
  const rows = diff(e.before, e.after);
  const detailsId = `event-${e.id}-details`;
  const envName = e.environment ? (ws.environments.find((x) => x.key === e.environment)?.name ?? e.environment) : null;
  return (
    <li className={`event event-${e.type}`}>
      <div className="event-main">
        <span className={`event-type type-${e.type}`}>{EVENT_LABELS[e.type] ?? e.type}</span>
        <Link className="event-flag" to={`${base(ws.project, e.environment ?? ws.env)}/flags/${encodeURIComponent(e.flag)}`}>
          <code>{e.flag}</code>
        </Link>
        {envName && <span className={e.environment === "production" ? "env-chip prod" : "env-chip"}>{envName}</span>}
        <span className="event-summary">{eventSummary(e)}</span>
      </div>
      <div className="event-meta muted small">
        <time dateTime={e.created_at} title={dateTime(e.created_at)}>
          {relativeTime(e.created_at)}
        </time>{" "}
        by <strong>{e.actor}</strong>
        {e.source && e.source !== "api" && <> via {e.source}</>}
        {(rows.length > 0 || e.before != null || e.after != null) && (
          <button type="button" className="btn-link" aria-expanded={open} aria-controls={detailsId} onClick={() => setOpen(!open)}>
            {open ? "Hide changes" : "Show changes"}
          </button>
        )}
      </div>
      {open && (
        <div id={detailsId} className="event-details">
          {rows.length > 0 ? (
            <table className="table diff-table">
              <caption className="sr-only">Changes</caption>
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.path}>
                    <th scope="row">
                      <code>{r.path || "(value)"}</code>
                    </th>
                    <td className="diff-before">{r.before === undefined ? <span className="muted">—</span> : <code>{diffValue(r.path, r.before)}</code>}</td>
                    <td className="diff-after">{r.after === undefined ? <span className="muted">—</span> : <code>{diffValue(r.path, r.after)}</code>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p className="muted small">No field changed.</p>
          )}
          <details>
            <summary>Raw before / after</summary>
            <div className="raw-json">
              <pre aria-label="Before">{JSON.stringify(e.before, null, 2) ?? "null"}</pre>
              <pre aria-label="After">{JSON.stringify(e.after, null, 2) ?? "null"}</pre>
            </div>
          </details>
        </div>
      )}
    </li>
  );
}
