// The project's notification webhooks (docs/safe-rollouts.md,
// "Notifications"): safe-rollout decisions are POSTed to each as
// Slack-compatible JSON, signed with its secret. Admins list, add, edit
// (URL, or a new secret), send a test to, and remove them.
import { useEffect, useState, type FormEvent } from "react";
import { rapi } from "../../api/endpoints";
import type { NotificationWebhook } from "../../api/safeRolloutTypes";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { dateTime } from "../../lib/format";
import { fieldError, focusField } from "../../lib/errors";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Field } from "../../components/Field";
import { Loading } from "../../components/Loading";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { useToast } from "../../components/Toast";

/** The page: the webhooks of the project, an add form, and per webhook edit, test and remove. */
export function NotificationWebhooksPage() {
  const ws = useWorkspace();
  const toast = useToast();
  const hooks = useApi((s) => rapi.listNotificationWebhooks(ws.project, s), [ws.project]);
  const [editing, setEditing] = useState<number | null>(null);
  const [removing, setRemoving] = useState<NotificationWebhook | null>(null);
  const [testErr, setTestErr] = useState<unknown>();
  const [testing, setTesting] = useState<number | null>(null);
  useEffect(() => {
    document.title = "Notifications · Waypost";
  }, []);

  const sendTest = async (w: NotificationWebhook) => {
    setTesting(w.id);
    setTestErr(undefined);
    try {
      const r = await rapi.testNotificationWebhook(ws.project, w.id);
      toast(`Test notification delivered to ${w.url} (HTTP ${r.status})`);
    } catch (e) {
      setTestErr(e);
    } finally {
      setTesting(null);
    }
  };
  const items = hooks.data?.items ?? [];
  return (
    <div>
      <div className="page-header">
        <div>
          <h1>Notifications</h1>
          <p className="muted">
            Safe rollouts announce every decision (started, advanced, regression, rolled back, paused, completed) to these webhooks: a Slack-compatible JSON
            body, signed with the webhook's secret (<code>X-Waypost-Signature</code>), retried until it is answered with 2xx. Retries carry the same{" "}
            <code>X-Waypost-Delivery</code> id.
          </p>
        </div>
      </div>
      <AddWebhook onAdded={(w) => hooks.setData((d) => d && { ...d, items: [...d.items, w] })} />
      <section className="card" aria-labelledby="hooks-title">
        <h2 id="hooks-title">Webhooks</h2>
        <ErrorBanner error={hooks.error} onRetry={hooks.reload} />
        <ErrorBanner error={testErr} />
        {!hooks.data && !hooks.error ? (
          <Loading label="Loading webhooks…" />
        ) : hooks.data && items.length === 0 ? (
          <p className="empty small">No webhooks yet: safe-rollout decisions are only logged.</p>
        ) : (
          <ul className="change-list">
            {items.map((w) =>
              editing === w.id ? (
                <li key={w.id}>
                  <EditWebhook
                    hook={w}
                    onCancel={() => setEditing(null)}
                    onSaved={(nw) => {
                      hooks.setData((d) => d && { ...d, items: d.items.map((x) => (x.id === nw.id ? nw : x)) });
                      setEditing(null);
                      toast("Webhook saved");
                    }}
                  />
                </li>
              ) : (
                <li key={w.id} aria-label={`Webhook ${w.url}`}>
                  <code>{w.url}</code> <span className="muted small">added {dateTime(w.created_at)}</span>{" "}
                  <span className="row">
                    <button type="button" className="btn btn-small" disabled={testing === w.id} onClick={() => sendTest(w)}>
                      {testing === w.id ? "Sending…" : "Send test"}
                    </button>
                    <button type="button" className="btn btn-small" onClick={() => setEditing(w.id)}>
                      Edit
                    </button>
                    <button type="button" className="btn btn-small btn-danger" onClick={() => setRemoving(w)}>
                      Remove
                    </button>
                  </span>
                </li>
              ),
            )}
          </ul>
        )}
      </section>
      {removing && (
        <ConfirmDialog
          title="Remove this webhook?"
          confirmLabel="Remove webhook"
          danger
          onCancel={() => setRemoving(null)}
          onConfirm={async () => {
            await rapi.deleteNotificationWebhook(ws.project, removing.id);
            hooks.setData((d) => d && { ...d, items: d.items.filter((x) => x.id !== removing.id) });
            setRemoving(null);
            toast("Webhook removed");
          }}
        >
          <p>
            <code>{removing.url}</code> gets no more notifications, including those still being retried.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function AddWebhook({ onAdded }: { onAdded: (w: NotificationWebhook) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const [url, setUrl] = useState("");
  const [secret, setSecret] = useState("");
  const [err, setErr] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      const w = await rapi.createNotificationWebhook(ws.project, { url: url.trim(), secret });
      setUrl("");
      setSecret("");
      onAdded(w);
      toast(`Webhook ${w.url} added`);
    } catch (e) {
      setErr(e);
      focusField(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="add-hook-title">
      <h2 id="add-hook-title">Add a webhook</h2>
      <form onSubmit={submit} className="stack" aria-label="Add a webhook">
        <Field label="URL" field="url" error={fieldError(err, "url")} hint="http(s); a Slack incoming-webhook URL works.">
          <input value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://hooks.slack.com/services/…" />
        </Field>
        <Field label="Signing secret" field="secret" error={fieldError(err, "secret")} hint="16 to 200 characters; never shown again.">
          <input type="password" autoComplete="new-password" value={secret} onChange={(e) => setSecret(e.target.value)} />
        </Field>
        <ErrorBanner error={err && !fieldError(err, "url") && !fieldError(err, "secret") ? err : undefined} />
        <div className="row">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            Add webhook
          </button>
        </div>
      </form>
    </section>
  );
}

/** Edit one webhook: its URL, and a new secret only when one is typed. */
function EditWebhook({ hook, onCancel, onSaved }: { hook: NotificationWebhook; onCancel: () => void; onSaved: (w: NotificationWebhook) => void }) {
  const ws = useWorkspace();
  const [url, setUrl] = useState(hook.url);
  const [secret, setSecret] = useState("");
  const [err, setErr] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      const body: { url?: string; secret?: string } = {};
      if (url.trim() !== hook.url) body.url = url.trim();
      if (secret) body.secret = secret;
      if (!body.url && !body.secret) {
        onCancel();
        return;
      }
      onSaved(await rapi.updateNotificationWebhook(ws.project, hook.id, body));
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit} className="stack" aria-label={`Edit webhook ${hook.url}`}>
      <Field label="URL" field="url" error={fieldError(err, "url")}>
        <input value={url} onChange={(e) => setUrl(e.target.value)} />
      </Field>
      <Field label="New signing secret" field="secret" error={fieldError(err, "secret")} hint="Leave empty to keep the current one.">
        <input type="password" autoComplete="new-password" value={secret} onChange={(e) => setSecret(e.target.value)} />
      </Field>
      <ErrorBanner error={err && !fieldError(err, "url") && !fieldError(err, "secret") ? err : undefined} />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Save webhook
        </button>
        <button type="button" className="btn" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
