import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { xapi } from "../../api/endpoints";
import { ApiError } from "../../api/client";
import type { Metric, MetricType, QueryPreview, SaveMetric } from "../../api/experimentTypes";
import { METRIC_TYPES } from "../../api/experimentTypes";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { fieldError, focusField } from "../../lib/errors";
import { slugify } from "../../lib/format";
import { Field } from "../../components/Field";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { useToast } from "../../components/Toast";
import { METRIC_TYPE_LABELS } from "./MetricsPage";

export const METRIC_LABELS: Record<string, string> = {
  key: "Key",
  name: "Name",
  description: "Description",
  type: "Type",
  sql: "SQL",
  connection: "Connection",
  conversion_window_hours: "Conversion window",
  direction: "Direction",
  cap: "Cap",
  "cap.kind": "Cap",
  "cap.value": "Cap value",
};

const SQL_EXAMPLE: Record<MetricType, string> = {
  binomial: "SELECT user_id, timestamp\nFROM events\nWHERE name = 'purchase'",
  count: "SELECT user_id, timestamp\nFROM events\nWHERE name = 'page_view'",
  duration: "SELECT user_id, timestamp, value\nFROM events\nWHERE name = 'session_seconds'",
  revenue: "SELECT user_id, timestamp, value\nFROM events\nWHERE name = 'purchase'",
};

// The built-in store: metric events sent to the provider's POST /v1/events.
const BUILTIN_EXAMPLE: Record<MetricType, string> = {
  binomial: `SELECT user_id, "timestamp"\nFROM events_metric\nWHERE metric = 'purchase'`,
  count: `SELECT user_id, "timestamp"\nFROM events_metric\nWHERE metric = 'page_view'`,
  duration: `SELECT user_id, "timestamp", value\nFROM events_metric\nWHERE metric = 'session_seconds'`,
  revenue: `SELECT user_id, "timestamp", value\nFROM events_metric\nWHERE metric = 'purchase'`,
};

const valued = (t: MetricType) => t === "duration" || t === "revenue";

/** Create (/metrics/new) or edit (/metrics/:metric) a metric. */
export function MetricEditPage() {
  const ws = useWorkspace();
  const { metric: key } = useParams();
  const isNew = !key;
  const existing = useApi((s) => (key ? xapi.getMetric(ws.project, key, s) : Promise.resolve(undefined)), [ws.project, key]);
  useEffect(() => {
    document.title = `${isNew ? "New metric" : `Metric ${key}`} · Waypost`;
  }, [isNew, key]);
  if (existing.error) return <ErrorBanner error={existing.error} onRetry={existing.reload} />;
  if (!isNew && !existing.data) return <Loading />;
  return <MetricForm key={key ?? "new"} initial={existing.data} />;
}

function MetricForm({ initial }: { initial?: Metric }) {
  const ws = useWorkspace();
  const navigate = useNavigate();
  const toast = useToast();
  const connections = useApi((s) => xapi.listConnections(ws.project, s), [ws.project]);
  const [name, setName] = useState(initial?.name ?? "");
  const [key, setKey] = useState(initial?.key ?? "");
  const [keyTouched, setKeyTouched] = useState(!!initial);
  const [description, setDescription] = useState(initial?.description ?? "");
  const [type, setType] = useState<MetricType>(initial?.type ?? "binomial");
  const [sql, setSql] = useState(initial?.sql ?? "");
  const [connection, setConnection] = useState(initial?.connection ?? "");
  const [windowHours, setWindowHours] = useState(initial?.conversion_window_hours != null ? String(initial.conversion_window_hours) : "");
  const [direction, setDirection] = useState<"higher" | "lower">(initial?.direction ?? "higher");
  const [capKind, setCapKind] = useState<"" | "value" | "percentile">(initial?.cap?.kind ?? "");
  const [capValue, setCapValue] = useState(initial?.cap ? String(initial.cap.value) : "");
  const [guardrail, setGuardrail] = useState(initial?.guardrail ?? false);
  const [denType, setDenType] = useState<"" | "count" | "duration" | "revenue">(initial?.denominator?.type ?? "");
  const [denSql, setDenSql] = useState(initial?.denominator?.sql ?? "");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState<QueryPreview | null>(null);
  const [testError, setTestError] = useState<unknown>();
  const [testing, setTesting] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  const localError = (field: string, message: string) => new ApiError(422, "invalid", message, field);

  const body = (): SaveMetric | ApiError => {
    let w: number | null = null;
    if (windowHours.trim() !== "") {
      w = Number(windowHours);
      if (!Number.isFinite(w) || w <= 0) return localError("conversion_window_hours", "must be a positive number of hours, or empty for until the analysis end");
    }
    let cap: SaveMetric["cap"] = null;
    if (capKind && type !== "binomial") {
      const v = Number(capValue);
      if (capValue.trim() === "" || !Number.isFinite(v)) return localError("cap.value", "enter a number");
      cap = { kind: capKind, value: v };
    }
    const denominator = denType && type !== "binomial" ? { type: denType, sql: denSql } : null;
    return { key: key.trim(), name: name.trim(), description, type, sql, connection, conversion_window_hours: w, direction, cap, denominator, guardrail };
  };

  const fail = (err: unknown) => {
    setError(err);
    requestAnimationFrame(() => focusField(err, formRef.current ?? document));
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const b = body();
    if (b instanceof ApiError) return fail(b);
    setBusy(true);
    setError(undefined);
    try {
      const m = initial ? await xapi.updateMetric(ws.project, initial.key, b) : await xapi.createMetric(ws.project, b);
      toast(`Metric ${m.key} saved`);
      navigate(ws.to("metrics"));
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };

  const test = async () => {
    setTesting(true);
    setTestError(undefined);
    setPreview(null);
    try {
      setPreview(await xapi.testMetric(ws.project, { type, sql, connection, limit: 10 }));
    } catch (err) {
      setTestError(err);
    } finally {
      setTesting(false);
    }
  };

  const sqlError = fieldError(error, "sql") ?? fieldError(testError, "sql");
  const conns = connections.data?.items ?? [];
  const chosen = connection ? conns.find((c) => c.key === connection) : conns.find((c) => c.is_default);
  const example = chosen?.kind === "builtin" ? BUILTIN_EXAMPLE[type] : SQL_EXAMPLE[type];

  return (
    <div>
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link to={ws.to("metrics")}>Metrics</Link> <span aria-hidden="true">/</span> {initial ? initial.name : "New metric"}
      </nav>
      <h1>{initial ? `Edit metric “${initial.name}”` : "New metric"}</h1>
      <form ref={formRef} onSubmit={submit} noValidate className="card form">
        <ErrorBanner error={error} labels={METRIC_LABELS} />
        <div className="grid-2">
          <Field label="Name" field="name" error={fieldError(error, "name")}>
            <input
              value={name}
              autoFocus={!initial}
              maxLength={200}
              onChange={(e) => {
                setName(e.target.value);
                if (!keyTouched) setKey(slugify(e.target.value));
              }}
            />
          </Field>
          <Field label="Key" field="key" error={fieldError(error, "key")} hint={initial ? "Cannot be changed." : "Lower-case letters, digits, '.', '_' and '-'."}>
            <input
              value={key}
              className="mono"
              readOnly={!!initial}
              spellCheck={false}
              autoCapitalize="off"
              autoComplete="off"
              onChange={(e) => {
                setKey(e.target.value);
                setKeyTouched(true);
              }}
            />
          </Field>
          <Field label="Description" field="description" error={fieldError(error, "description")} className="span-all">
            <input value={description} onChange={(e) => setDescription(e.target.value)} />
          </Field>
          <Field label="Type" field="type" error={fieldError(error, "type")}>
            <select value={type} onChange={(e) => setType(e.target.value as MetricType)}>
              {METRIC_TYPES.map((t) => (
                <option key={t} value={t}>
                  {METRIC_TYPE_LABELS[t]}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Events connection" field="connection" error={fieldError(error, "connection")}>
            <select value={connection} onChange={(e) => setConnection(e.target.value)}>
              <option value="">Project default{conns.find((c) => c.is_default) ? ` (${conns.find((c) => c.is_default)!.name})` : ""}</option>
              {conns.map((c) => (
                <option key={c.key} value={c.key}>
                  {c.name}
                  {c.kind === "builtin" ? " (built-in store)" : ""}
                </option>
              ))}
            </select>
          </Field>
        </div>

        <div className="sql-editor">
          <Field label="SQL" field="sql" error={sqlError} hint={`Runs read-only, with the connection's statement timeout.`}>
            <textarea
              className="mono sql"
              rows={10}
              value={sql}
              spellCheck={false}
              placeholder={example}
              onChange={(e) => {
                setSql(e.target.value);
                // A message about the old text would mislead: clear it and the stale preview.
                if (fieldError(error, "sql")) setError(undefined);
                setTestError(undefined);
                setPreview(null);
              }}
            />
          </Field>
          <aside className="contract" aria-label="Query contract">
            <h2 className="small-heading">Query contract</h2>
            <p>One row per event, with these columns:</p>
            <ul>
              <li>
                <code>user_id</code> text: the id your SDK evaluates flags for
              </li>
              <li>
                <code>timestamp</code> timestamptz: when it happened
              </li>
              {valued(type) ? (
                <li>
                  <code>value</code> numeric: summed per user ({type})
                </li>
              ) : (
                <li className="muted">
                  no <code>value</code> column for {type} metrics
                </li>
              )}
            </ul>
            <p className="muted small">
              {type === "binomial"
                ? "A user converts if they have at least one event in the window."
                : type === "count"
                  ? "Each user's value is their number of events in the window."
                  : "Each user's value is the sum of value in the window."}{" "}
              Users without events count as 0. Waypost adds the join with exposures and the time window.
            </p>
            <pre className="code-block small">{example}</pre>
          </aside>
        </div>
        <div className="row">
          <button type="button" className="btn" onClick={test} disabled={testing || !sql.trim()}>
            {testing ? "Testing…" : "Test query"}
          </button>
          <span className="muted small">Shows the first rows and checks the columns, without saving.</span>
        </div>
        <QueryPreviewView preview={preview} error={testError} />

        <div className="grid-2">
          <Field
            label="Conversion window (hours)"
            field="conversion_window_hours"
            error={fieldError(error, "conversion_window_hours")}
            hint="Events count from a user's first exposure for this many hours. Empty: until the analysis end."
          >
            <input inputMode="decimal" value={windowHours} onChange={(e) => setWindowHours(e.target.value)} />
          </Field>
          <Field label="Better when the value is" field="direction" error={fieldError(error, "direction")}>
            <select value={direction} onChange={(e) => setDirection(e.target.value as "higher" | "lower")}>
              <option value="higher">Higher</option>
              <option value="lower">Lower</option>
            </select>
          </Field>
          {type !== "binomial" && (
            <>
              <Field label="Cap per-user values" field="cap.kind" error={fieldError(error, "cap.kind") ?? fieldError(error, "cap")}>
                <select value={capKind} onChange={(e) => setCapKind(e.target.value as "" | "value" | "percentile")}>
                  <option value="">No cap</option>
                  <option value="value">At an absolute value</option>
                  <option value="percentile">At a percentile</option>
                </select>
              </Field>
              {capKind && (
                <Field
                  label={capKind === "value" ? "Cap value" : "Cap percentile (0–1)"}
                  field="cap.value"
                  error={fieldError(error, "cap.value")}
                  hint={capKind === "percentile" ? "0.99 caps each user's value at the 99th percentile." : "Each user's value is capped at this."}
                >
                  <input inputMode="decimal" value={capValue} onChange={(e) => setCapValue(e.target.value)} />
                </Field>
              )}
              <Field
                label="Ratio: divide by"
                field="denominator.type"
                error={fieldError(error, "denominator.type") ?? fieldError(error, "denominator")}
                hint="A ratio metric (revenue per order) is Σ this metric / Σ the denominator per variant."
              >
                <select value={denType} onChange={(e) => setDenType(e.target.value as "" | "count" | "duration" | "revenue")}>
                  <option value="">Not a ratio</option>
                  <option value="count">Count of the denominator query&apos;s events</option>
                  <option value="revenue">Sum of the denominator query&apos;s value</option>
                </select>
              </Field>
              {denType && (
                <Field label="Denominator SQL" field="denominator.sql" error={fieldError(error, "denominator.sql")} hint='Returns user_id, "timestamp" (and value for a sum).'>
                  <textarea className="mono" rows={4} value={denSql} onChange={(e) => setDenSql(e.target.value)} spellCheck={false} />
                </Field>
              )}
            </>
          )}
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={guardrail} onChange={(e) => setGuardrail(e.target.checked)} data-field="guardrail" />
          Guardrail: a metric that must not get worse
        </label>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : initial ? "Save metric" : "Create metric"}
          </button>
          <Link to={ws.to("metrics")} className="btn btn-ghost">
            Cancel
          </Link>
          {initial && (
            <button type="button" className="btn btn-danger-outline" onClick={() => setDeleting(true)}>
              Delete metric
            </button>
          )}
        </div>
      </form>
      {deleting && initial && (
        <ConfirmDialog
          title={`Delete “${initial.name}”?`}
          confirmLabel="Delete metric"
          danger
          onCancel={() => setDeleting(false)}
          onConfirm={async () => {
            await xapi.deleteMetric(ws.project, initial.key);
            toast(`Metric ${initial.key} deleted`);
            navigate(ws.to("metrics"));
          }}
        >
          <p>A metric used by an experiment cannot be deleted.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** The result of "Test query": the column check and the first rows. */
export function QueryPreviewView({ preview, error }: { preview: QueryPreview | null; error: unknown }) {
  if (error !== undefined) return <ErrorBanner error={error} title="The query failed" labels={METRIC_LABELS} />;
  if (!preview) return null;
  return (
    <section className="query-preview" aria-label="Query test result" aria-live="polite">
      {preview.problems.length === 0 ? (
        <div className="banner banner-ok" role="status">
          <strong>Columns look right.</strong>
          <span>
            {preview.rows.length} row{preview.rows.length === 1 ? "" : "s"} shown · {Math.round(preview.duration_ms)} ms
          </span>
        </div>
      ) : (
        <div className="banner banner-warn" role="alert">
          <strong>Column check failed</strong>
          <ul>
            {preview.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        </div>
      )}
      {preview.columns.length > 0 && (
        <div className="table-wrap">
          <table className="table small">
            <thead>
              <tr>
                {preview.columns.map((c, i) => (
                  <th key={i} scope="col">
                    {c}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {preview.rows.length === 0 && (
                <tr>
                  <td colSpan={preview.columns.length} className="muted">
                    The query returned no rows.
                  </td>
                </tr>
              )}
              {preview.rows.map((r, i) => (
                <tr key={i}>
                  {r.map((v, j) => (
                    <td key={j} className="mono">
                      {typeof v === "string" ? v : JSON.stringify(v)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
