import { useEffect, useRef, useState } from "react";
import { api } from "../api/endpoints";
import type { SDKKey } from "../api/types";
import { useWorkspace } from "../workspace";
import { useApi } from "../lib/useApi";
import { fieldError, focusField } from "../lib/errors";
import { dateTime, relativeTime } from "../lib/format";
import { ErrorBanner } from "../components/ErrorBanner";
import { Field } from "../components/Field";
import { Loading } from "../components/Loading";
import { CopyButton } from "../components/CopyButton";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { useToast } from "../components/Toast";

/** SDK keys of the selected environment: create (secret shown once), list, revoke. */
export function SdkKeysPage() {
  const ws = useWorkspace();
  const keys = useApi((s) => api.listSDKKeys(ws.project, ws.env, s), [ws.project, ws.env]);
  const [created, setCreated] = useState<SDKKey | null>(null);
  const [revoking, setRevoking] = useState<SDKKey | null>(null);
  const [showRevoked, setShowRevoked] = useState(false);
  const toast = useToast();

  useEffect(() => {
    document.title = `SDK keys · ${ws.environment.name} · Waypost`;
    setCreated(null); // a secret never follows you to another environment
  }, [ws.environment.name, ws.env]);

  const items = keys.data?.items ?? [];
  const active = items.filter((k) => !k.revoked_at);
  const revoked = items.filter((k) => k.revoked_at);
  const shown = showRevoked ? items : active;

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>
            SDK keys for <span className={ws.env === "production" ? "env-name prod" : "env-name"}>{ws.environment.name}</span>
          </h1>
          <p className="muted">
            SDKs present a key to the flag provider (<code>Authorization: Bearer &lt;key&gt;</code>). A key belongs to one environment. Waypost stores only a
            hash: the secret is shown once, when you create it.
          </p>
        </div>
      </div>

      {created?.secret && <NewSecret sdkKey={created} onDone={() => setCreated(null)} />}

      <CreateKey
        onCreated={(k) => {
          setCreated(k);
          keys.setData((d) => d && { ...d, items: [{ ...k, secret: undefined }, ...d.items] });
        }}
      />

      <section className="card" aria-labelledby="keys-title">
        <div className="card-head">
          <h2 id="keys-title">Keys</h2>
          {revoked.length > 0 && (
            <label className="checkbox">
              <input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked(e.target.checked)} /> Show {revoked.length} revoked
            </label>
          )}
        </div>
        <ErrorBanner error={keys.error} onRetry={keys.reload} />
        {!keys.data && !keys.error ? (
          <Loading label="Loading keys…" />
        ) : shown.length === 0 ? (
          <p className="empty small">No {showRevoked ? "" : "active "}keys in {ws.environment.name} yet.</p>
        ) : (
          <div className="table-wrap">
            <table className="table keys-table">
              <caption className="sr-only">SDK keys for {ws.environment.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {shown.map((k) => (
                  <tr key={k.id} className={k.revoked_at ? "row-revoked" : undefined}>
                    <td>{k.name}</td>
                    <td>
                      <code>{k.prefix}…</code>
                    </td>
                    <td>
                      <span className={k.kind === "server" ? "badge" : "badge badge-info"}>{k.kind}</span>
                    </td>
                    <td>
                      <span title={dateTime(k.created_at)}>{relativeTime(k.created_at)}</span>
                    </td>
                    <td>{k.last_used_at ? <span title={dateTime(k.last_used_at)}>{relativeTime(k.last_used_at)}</span> : <span className="muted">never</span>}</td>
                    <td>
                      {k.revoked_at ? (
                        <span className="status status-revoked" title={dateTime(k.revoked_at)}>
                          Revoked {relativeTime(k.revoked_at)}
                        </span>
                      ) : (
                        <span className="status status-on">Active</span>
                      )}
                    </td>
                    <td className="actions">
                      {!k.revoked_at && (
                        <button type="button" className="btn btn-small btn-danger-outline" aria-label={`Revoke ${k.name}`} onClick={() => setRevoking(k)}>
                          Revoke
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      {revoking && (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          confirmLabel="Revoke key"
          danger
          onCancel={() => setRevoking(null)}
          onConfirm={async () => {
            const k = await api.revokeSDKKey(ws.project, ws.env, revoking.id);
            keys.setData((d) => d && { ...d, items: d.items.map((x) => (x.id === k.id ? k : x)) });
            setRevoking(null);
            toast(`Key ${k.name} revoked`);
          }}
        >
          <p>
            SDKs using <code>{revoking.prefix}…</code> are refused at once (their streams are closed) and keep serving their last known flags. This cannot
            be undone: create a new key and deploy it first.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function NewSecret({ sdkKey, onDone }: { sdkKey: SDKKey; onDone: () => void }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return (
    <section className="card secret-card" ref={ref} tabIndex={-1} aria-labelledby="secret-title" role="region">
      <h2 id="secret-title">Key “{sdkKey.name}” created: copy it now</h2>
      <p>
        <strong>You won’t see this secret again.</strong> Waypost keeps only its hash. Store it in your secret manager or your app’s configuration.
      </p>
      <div className="secret-row">
        <input readOnly value={sdkKey.secret} aria-label="New SDK key secret" className="mono secret" onFocus={(e) => e.target.select()} />
        <CopyButton text={sdkKey.secret ?? ""} label="Copy key" ariaLabel="Copy the new SDK key" className="btn btn-primary" />
      </div>
      <p className="muted small">
        {sdkKey.kind === "server"
          ? "Server key: full flag definitions, for back ends. Keep it out of browsers and mobile apps."
          : "Client key: evaluated results only (OFREP); safe to ship in a browser."}
      </p>
      <button type="button" className="btn" onClick={onDone}>
        I have stored it
      </button>
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: (k: SDKKey) => void }) {
  const ws = useWorkspace();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"server" | "client">("server");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLFormElement>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const k = await api.createSDKKey(ws.project, ws.env, { name: name.trim(), kind });
      setName("");
      onCreated(k);
    } catch (err) {
      setError(err);
      requestAnimationFrame(() => focusField(err, ref.current ?? document));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <form ref={ref} onSubmit={submit} className="form create-key" noValidate>
        <ErrorBanner error={error} labels={{ name: "Name", kind: "Kind" }} />
        <Field label="Name" field="name" error={fieldError(error, "name")} hint="Where it is used, e.g. “checkout-service” or “web app”.">
          <input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
        </Field>
        <fieldset data-field="kind" tabIndex={-1}>
          <legend className="field-label">Kind</legend>
          <div className="radio-cards">
            <label className={kind === "server" ? "radio-card checked" : "radio-card"}>
              <input type="radio" name="sdk-kind" value="server" checked={kind === "server"} onChange={() => setKind("server")} />
              <span>
                <strong>Server</strong> <span className="muted">back ends: full flag definitions, local evaluation</span>
              </span>
            </label>
            <label className={kind === "client" ? "radio-card checked" : "radio-card"}>
              <input type="radio" name="sdk-kind" value="client" checked={kind === "client"} onChange={() => setKind("client")} />
              <span>
                <strong>Client</strong> <span className="muted">browsers and apps: evaluated results only</span>
              </span>
            </label>
          </div>
          {fieldError(error, "kind") && <div className="field-error">{fieldError(error, "kind")}</div>}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : `Create ${kind} key for ${ws.environment.name}`}
          </button>
        </div>
      </form>
    </section>
  );
}
