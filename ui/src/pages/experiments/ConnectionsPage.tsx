import { useEffect, useRef, useState } from "react";
import { xapi } from "../../api/endpoints";
import type { Connection, SaveConnection } from "../../api/experimentTypes";
import { CONNECTION_KINDS, SSL_MODES } from "../../api/experimentTypes";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { fieldError, focusField } from "../../lib/errors";
import { dateTime, relativeTime, slugify } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Field } from "../../components/Field";
import { Loading } from "../../components/Loading";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { useToast } from "../../components/Toast";

const LABELS: Record<string, string> = {
  key: "Key",
  name: "Name",
  kind: "Engine",
  host: "Host",
  port: "Port",
  database: "Database",
  user: "User",
  password: "Password",
  ssl_mode: "SSL mode",
  exposures_query: "Exposures query",
  statement_timeout_ms: "Statement timeout",
};

const EXPOSURES_EXAMPLE = "SELECT experiment_key, user_id, variant, timestamp\nFROM exposures";

/** Where metric and exposure events are read from: the built-in store and the project's own PostgreSQL, ClickHouse or MySQL/MariaDB databases. */
export function ConnectionsPage() {
  const ws = useWorkspace();
  const list = useApi((s) => xapi.listConnections(ws.project, s), [ws.project]);
  const [editing, setEditing] = useState<Connection | "new" | null>(null);
  const [deleting, setDeleting] = useState<Connection | null>(null);
  const toast = useToast();
  useEffect(() => {
    document.title = "Events connections · Waypost";
  }, []);
  const items = list.data?.items ?? [];
  return (
    <div>
      <div className="page-header">
        <div>
          <h1>Events connections</h1>
          <p className="muted">
            Metrics and exposures are read from these databases, always in a read-only transaction with a statement timeout. Passwords are stored encrypted
            and never shown again.
          </p>
        </div>
        <button type="button" className="btn btn-primary" onClick={() => setEditing("new")}>
          New connection
        </button>
      </div>
      <ErrorBanner error={list.error} onRetry={list.reload} />
      {!list.data && !list.error && <Loading />}
      {editing && (
        <ConnectionForm
          key={editing === "new" ? "new" : editing.key}
          initial={editing === "new" ? undefined : editing}
          onCancel={() => setEditing(null)}
          onSaved={(c) => {
            setEditing(null);
            list.reload();
            toast(`Connection ${c.name} saved`);
          }}
        />
      )}
      {items.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">Where</th>
                <th scope="col">Timeout</th>
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <ConnectionRow key={c.key} c={c} onEdit={() => setEditing(c)} onDelete={() => setDeleting(c)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete “${deleting.name}”?`}
          confirmLabel="Delete connection"
          danger
          onCancel={() => setDeleting(null)}
          onConfirm={async () => {
            await xapi.deleteConnection(ws.project, deleting.key);
            setDeleting(null);
            list.reload();
            toast(`Connection ${deleting.name} deleted`);
          }}
        >
          <p>A connection used by metrics or experiments cannot be deleted.</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function ConnectionRow({ c, onEdit, onDelete }: { c: Connection; onEdit: () => void; onDelete: () => void }) {
  const ws = useWorkspace();
  const [state, setState] = useState<{ busy?: boolean; ok?: boolean; error?: unknown }>({});
  const builtin = c.kind === "builtin";
  const test = async () => {
    setState({ busy: true });
    try {
      await xapi.testConnection(ws.project, c.key);
      setState({ ok: true });
    } catch (e) {
      setState({ error: e });
    }
  };
  return (
    <tr>
      <th scope="row">
        <strong>{c.name}</strong>
        <div className="flag-sub">
          <code>{c.key}</code>
          {c.is_default && <span className="badge badge-info">project default</span>}
          {builtin && <span className="badge">built-in store</span>}
        </div>
      </th>
      <td>
        {builtin ? (
          <span className="muted">Waypost's own database (events sent to the provider's POST /v1/events)</span>
        ) : (
          <span className="mono small">
            {kindLabel(c.kind)} · {c.user}@{c.host}:{c.port}/{c.database} · ssl {c.ssl_mode}
            {c.has_password ? " · password stored" : ""}
          </span>
        )}
        <div aria-live="polite" className="inline-error">
          {state.ok && <span className="status status-on">Connection works</span>}
          {state.error !== undefined && <ErrorBanner error={state.error} title="Connection failed" labels={LABELS} />}
        </div>
      </td>
      <td>{(c.statement_timeout_ms / 1000).toLocaleString()} s</td>
      <td title={dateTime(c.updated_at)}>{relativeTime(c.updated_at)}</td>
      <td className="actions">
        <span className="btn-group">
          <button type="button" className="btn btn-small" onClick={test} disabled={state.busy} aria-label={`Test connection ${c.name}`}>
            {state.busy ? "Testing…" : "Test"}
          </button>
          <button type="button" className="btn btn-small" onClick={onEdit} aria-label={`Edit connection ${c.name}`}>
            Edit
          </button>
          {!builtin && (
            <button type="button" className="btn btn-small btn-danger-outline" onClick={onDelete} aria-label={`Delete connection ${c.name}`}>
              Delete
            </button>
          )}
        </span>
      </td>
    </tr>
  );
}

function kindLabel(kind: string): string {
  return CONNECTION_KINDS.find((k) => k.kind === kind)?.label ?? kind;
}

function ConnectionForm({ initial, onCancel, onSaved }: { initial?: Connection; onCancel: () => void; onSaved: (c: Connection) => void }) {
  const ws = useWorkspace();
  const builtin = initial?.kind === "builtin";
  const [name, setName] = useState(initial?.name ?? "");
  const [key, setKey] = useState(initial?.key ?? "");
  const [keyTouched, setKeyTouched] = useState(!!initial);
  const [kind, setKind] = useState(initial && !builtin ? initial.kind : "postgres");
  const [host, setHost] = useState(initial?.host ?? "");
  const [port, setPort] = useState(String(initial?.port ?? 5432));
  const changeKind = (next: string) => {
    // A port still at the old engine's default follows the engine.
    const oldDefault = CONNECTION_KINDS.find((k) => k.kind === kind)?.port;
    const newDefault = CONNECTION_KINDS.find((k) => k.kind === next)?.port;
    if (newDefault && (port === "" || Number(port) === oldDefault)) setPort(String(newDefault));
    setKind(next);
  };
  const [database, setDatabase] = useState(initial?.database ?? "");
  const [user, setUser] = useState(initial?.user ?? "");
  const [password, setPassword] = useState("");
  const [passwordAction, setPasswordAction] = useState<"keep" | "set" | "remove">(initial ? "keep" : "set");
  const [sslMode, setSslMode] = useState(initial?.ssl_mode || "prefer");
  const [exposures, setExposures] = useState(initial?.exposures_query ?? "");
  const [timeoutS, setTimeoutS] = useState(String((initial?.statement_timeout_ms ?? 60000) / 1000));
  const [isDefault, setIsDefault] = useState(initial?.is_default ?? false);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLFormElement>(null);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const timeout = Math.round(Number(timeoutS) * 1000);
    try {
      let c: Connection;
      if (builtin && initial) {
        c = await xapi.updateConnection(ws.project, initial.key, { statement_timeout_ms: timeout, is_default: isDefault });
      } else {
        const body: SaveConnection = {
          key: key.trim(),
          name: name.trim(),
          kind,
          host: host.trim(),
          port: Number(port) || 0,
          database: database.trim(),
          user: user.trim(),
          ssl_mode: sslMode,
          exposures_query: exposures,
          statement_timeout_ms: Number.isFinite(timeout) ? timeout : 0,
          is_default: isDefault,
        };
        if (passwordAction === "set") body.password = password;
        if (passwordAction === "remove") body.password = "";
        c = initial ? await xapi.updateConnection(ws.project, initial.key, body) : await xapi.createConnection(ws.project, body);
      }
      onSaved(c);
    } catch (err) {
      setError(err);
      requestAnimationFrame(() => focusField(err, ref.current ?? document));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="conn-form-title">
      <h2 id="conn-form-title">{initial ? `Edit “${initial.name}”` : "New events connection"}</h2>
      <form ref={ref} onSubmit={submit} noValidate className="form">
        <ErrorBanner error={error} labels={LABELS} />
        {builtin ? (
          <p className="muted">
            The built-in store keeps events sent to the provider (<code>POST /v1/events</code>) in Waypost's own database. Only its statement timeout and
            whether it is the default can change.
          </p>
        ) : (
          <>
            <div className="grid-2">
              <Field label="Name" field="name" error={fieldError(error, "name")}>
                <input
                  value={name}
                  autoFocus
                  onChange={(e) => {
                    setName(e.target.value);
                    if (!keyTouched) setKey(slugify(e.target.value));
                  }}
                />
              </Field>
              <Field label="Key" field="key" error={fieldError(error, "key")} hint={initial ? "Cannot be changed." : undefined}>
                <input
                  value={key}
                  className="mono"
                  readOnly={!!initial}
                  spellCheck={false}
                  autoCapitalize="off"
                  onChange={(e) => {
                    setKey(e.target.value);
                    setKeyTouched(true);
                  }}
                />
              </Field>
              <Field label="Engine" field="kind" error={fieldError(error, "kind")} hint="Waypost runs its statistics inside this database, in its SQL.">
                <select value={kind} onChange={(e) => changeKind(e.target.value)}>
                  {CONNECTION_KINDS.map((k) => (
                    <option key={k.kind} value={k.kind}>
                      {k.label}
                    </option>
                  ))}
                </select>
              </Field>
              <Field label="Host" field="host" error={fieldError(error, "host")}>
                <input value={host} spellCheck={false} autoCapitalize="off" onChange={(e) => setHost(e.target.value)} />
              </Field>
              <Field label="Port" field="port" error={fieldError(error, "port")}>
                <input inputMode="numeric" value={port} onChange={(e) => setPort(e.target.value)} />
              </Field>
              <Field label="Database" field="database" error={fieldError(error, "database")}>
                <input value={database} spellCheck={false} autoCapitalize="off" onChange={(e) => setDatabase(e.target.value)} />
              </Field>
              <Field label="User" field="user" error={fieldError(error, "user")}>
                <input value={user} spellCheck={false} autoCapitalize="off" autoComplete="off" onChange={(e) => setUser(e.target.value)} />
              </Field>
              {initial ? (
                <Field
                  label="Password"
                  field="password_action"
                  hint={initial.has_password ? "A password is stored (never shown)." : "No password is stored."}
                >
                  <select value={passwordAction} onChange={(e) => setPasswordAction(e.target.value as "keep" | "set" | "remove")}>
                    <option value="keep">Keep the stored password</option>
                    <option value="set">Set a new password</option>
                    <option value="remove">Remove the password</option>
                  </select>
                </Field>
              ) : null}
              {passwordAction === "set" && (
                <Field label={initial ? "New password" : "Password"} field="password" error={fieldError(error, "password")}>
                  <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
                </Field>
              )}
              <Field label="SSL mode" field="ssl_mode" error={fieldError(error, "ssl_mode")}>
                <select value={sslMode} onChange={(e) => setSslMode(e.target.value)}>
                  {SSL_MODES.map((m) => (
                    <option key={m} value={m}>
                      {m}
                    </option>
                  ))}
                </select>
              </Field>
            </div>
            <Field
              label="Exposures query"
              field="exposures_query"
              error={fieldError(error, "exposures_query")}
              hint={
                <>
                  Must return <code>experiment_key, user_id, variant, timestamp</code>, one row per exposure (duplicates are fine).
                </>
              }
            >
              <textarea className="mono sql" rows={4} spellCheck={false} placeholder={EXPOSURES_EXAMPLE} value={exposures} onChange={(e) => setExposures(e.target.value)} />
            </Field>
          </>
        )}
        <div className="grid-2">
          <Field label="Statement timeout (seconds)" field="statement_timeout_ms" error={fieldError(error, "statement_timeout_ms")} hint="From 0.1 to 3600.">
            <input inputMode="decimal" value={timeoutS} onChange={(e) => setTimeoutS(e.target.value)} />
          </Field>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} />
          The project's default connection (for metrics and experiments that name none)
        </label>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving and testing…" : initial ? "Save connection" : "Create connection"}
          </button>
          <button type="button" className="btn btn-ghost" onClick={onCancel}>
            Cancel
          </button>
        </div>
        {!builtin && <p className="muted small">Saving tests the connection and the exposures query; the server's error is shown if it fails.</p>}
      </form>
    </section>
  );
}
