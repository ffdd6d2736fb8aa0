import { useRef, useState } from "react";
import { api } from "../api/endpoints";
import type { Assignment, Environment, Flag, FlagState } from "../api/types";
import { useWorkspace } from "../workspace";
import { usePaged } from "../lib/usePaged";
import { fieldError, focusField } from "../lib/errors";
import { dateTime, parseUserIds, plural, relativeTime } from "../lib/format";
import { ErrorBanner } from "../components/ErrorBanner";
import { Field } from "../components/Field";
import { Loading } from "../components/Loading";
import { useToast } from "../components/Toast";
import { variantColor } from "../components/RolloutEditor";

const BATCH = 10000; // the API's per-request limit

interface Props {
  flag: Flag;
  env: Environment;
  state: FlagState;
  /** Called after assignments changed (the flag's counts need a reload). */
  onChanged: () => void;
}

function defaultVariant(flag: Flag): string {
  if (flag.kind === "boolean") return "on";
  return (flag.variants[1] ?? flag.variants[0])?.key ?? "";
}

/** Custom assignments: users who always get a given variant in one environment while the flag is on. */
export function AssignmentsPanel({ flag, env, state, onChanged }: Props) {
  const ws = useWorkspace();
  const toast = useToast();
  const list = usePaged((cursor, signal) => api.listAssignments(ws.project, flag.key, env.key, cursor, 50, signal), [ws.project, flag.key, env.key]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [removeError, setRemoveError] = useState<unknown>();
  const [removing, setRemoving] = useState(false);
  const readOnly = !!flag.archived_at;
  const variantIndex = (k: string) => flag.variants.findIndex((v) => v.key === k);
  const variantName = (k: string) => flag.variants.find((v) => v.key === k)?.name ?? k;

  const changed = () => {
    list.reload();
    setSelected(new Set());
    onChanged();
  };

  const remove = async (ids: string[]) => {
    setRemoving(true);
    setRemoveError(undefined);
    try {
      let n = 0;
      for (let i = 0; i < ids.length; i += BATCH) n += (await api.removeAssignments(ws.project, flag.key, env.key, ids.slice(i, i + BATCH))).changed;
      toast(ids.length === 1 ? `Removed the assignment of ${ids[0]}` : `Removed ${plural(n, "assignment")}`);
      changed();
    } catch (e) {
      setRemoveError(e);
    } finally {
      setRemoving(false);
    }
  };

  const allShownSelected = list.items.length > 0 && list.items.every((a) => selected.has(a.user_id));
  return (
    <section className="card" aria-labelledby="assign-title">
      <div className="card-head">
        <h2 id="assign-title">
          Custom assignments in <span className={env.key === "production" ? "env-name prod" : "env-name"}>{env.name}</span>
        </h2>
        <span className="muted">{plural(state.assignment_count, "user")}</span>
      </div>
      <p className="muted small">
        These users always get the chosen variant while the flag is on, whatever the rollout. Useful for testers and for pinning customers.
      </p>

      {!readOnly && (
        <div className="assign-forms">
          <AddOne flag={flag} env={env} onDone={changed} />
          <AddMany flag={flag} env={env} onDone={changed} />
        </div>
      )}

      <ErrorBanner error={list.error ?? removeError} onRetry={list.error ? list.reload : undefined} />
      {list.loading && list.items.length === 0 ? (
        <Loading label="Loading assignments…" />
      ) : list.items.length === 0 ? (
        <p className="empty small">No custom assignments in {env.name}.</p>
      ) : (
        <>
          <div className="table-toolbar">
            <button
              type="button"
              className="btn btn-small btn-danger-outline"
              disabled={selected.size === 0 || removing || readOnly}
              onClick={() => remove([...selected])}
            >
              Remove selected ({selected.size})
            </button>
          </div>
          <div className="table-wrap" aria-busy={list.loading} data-busy={list.loading || undefined}>
            <table className="table assign-table">
              <caption className="sr-only">Custom assignments in {env.name}</caption>
              <thead>
                <tr>
                  <th scope="col" className="check">
                    <input
                      type="checkbox"
                      aria-label="Select all shown assignments"
                      checked={allShownSelected}
                      disabled={readOnly}
                      onChange={(e) => setSelected(e.target.checked ? new Set(list.items.map((a) => a.user_id)) : new Set())}
                    />
                  </th>
                  <th scope="col">User id</th>
                  <th scope="col">Variant</th>
                  <th scope="col">Added</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.items.map((a: Assignment) => (
                  <tr key={a.user_id}>
                    <td className="check">
                      <input
                        type="checkbox"
                        aria-label={`Select ${a.user_id}`}
                        disabled={readOnly}
                        checked={selected.has(a.user_id)}
                        onChange={(e) =>
                          setSelected((s) => {
                            const n = new Set(s);
                            if (e.target.checked) n.add(a.user_id);
                            else n.delete(a.user_id);
                            return n;
                          })
                        }
                      />
                    </td>
                    <td>
                      <code>{a.user_id}</code>
                    </td>
                    <td>
                      <span className="swatch" style={{ background: variantColor(variantIndex(a.variant), a.variant) }} aria-hidden="true" /> {variantName(a.variant)}
                    </td>
                    <td className="muted">{a.created_at ? <span title={dateTime(a.created_at)}>{relativeTime(a.created_at)}</span> : ""}</td>
                    <td className="actions">
                      <button
                        type="button"
                        className="btn btn-small btn-ghost"
                        aria-label={`Remove ${a.user_id}`}
                        disabled={removing || readOnly}
                        onClick={() => remove([a.user_id])}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {list.hasMore && (
            <p>
              <button type="button" className="btn btn-small" onClick={list.loadMore} disabled={list.loadingMore}>
                {list.loadingMore ? "Loading…" : "Load more"}
              </button>
            </p>
          )}
        </>
      )}
    </section>
  );
}

function VariantSelect({ flag, value, onChange, label, field, error }: { flag: Flag; value: string; onChange: (v: string) => void; label: string; field: string; error?: string }) {
  return (
    <Field label={label} field={field} error={error}>
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        {flag.variants.map((v) => (
          <option key={v.key} value={v.key}>
            {v.name}
          </option>
        ))}
      </select>
    </Field>
  );
}

function AddOne({ flag, env, onDone }: { flag: Flag; env: Environment; onDone: () => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const [userId, setUserId] = useState("");
  const [variant, setVariant] = useState(defaultVariant(flag));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLFormElement>(null);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api.setAssignments(ws.project, flag.key, env.key, [{ user_id: userId.trim(), variant }]);
      toast(`${userId.trim()} now gets ${flag.variants.find((v) => v.key === variant)?.name ?? variant} in ${env.name}`);
      setUserId("");
      onDone();
    } catch (err) {
      setError(err);
      requestAnimationFrame(() => focusField(err, ref.current ?? document));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form ref={ref} onSubmit={submit} className="assign-one" aria-label="Add one assignment" noValidate>
      <Field label="User id" field="assignments[0].user_id" error={fieldError(error, "assignments[0].user_id") ?? fieldError(error, "assignments")}>
        <input value={userId} onChange={(e) => setUserId(e.target.value)} placeholder="e.g. user-42" spellCheck={false} autoCapitalize="off" required />
      </Field>
      <VariantSelect flag={flag} value={variant} onChange={setVariant} label="Variant" field="assignments[0].variant" error={fieldError(error, "assignments[0].variant")} />
      <button type="submit" className="btn btn-primary" disabled={busy || !userId.trim()}>
        {busy ? "Adding…" : "Add"}
      </button>
      {error !== undefined && !fieldError(error, "assignments", { prefix: true }) && (
        <div className="span-all">
          <ErrorBanner error={error} />
        </div>
      )}
    </form>
  );
}

function AddMany({ flag, env, onDone }: { flag: Flag; env: Environment; onDone: () => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const [open, setOpen] = useState(false);
  const [text, setText] = useState("");
  const [variant, setVariant] = useState(defaultVariant(flag));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const ids = parseUserIds(text);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      let n = 0;
      for (let i = 0; i < ids.length; i += BATCH) {
        const chunk = ids.slice(i, i + BATCH).map((user_id) => ({ user_id, variant }));
        n += (await api.setAssignments(ws.project, flag.key, env.key, chunk)).changed;
      }
      toast(`Assigned ${plural(ids.length, "user")} to ${flag.variants.find((v) => v.key === variant)?.name ?? variant} (${n} changed)`);
      setText("");
      setOpen(false);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  // "assignments[3].user_id" → name the offending id.
  const m = error && typeof error === "object" && "field" in error ? /^assignments\[(\d+)\]/.exec(String((error as { field: string }).field)) : null;
  const badId = m ? ids[Number(m[1])] : undefined;

  if (!open) {
    return (
      <button type="button" className="btn" onClick={() => setOpen(true)} aria-expanded={false}>
        Paste many user ids…
      </button>
    );
  }
  return (
    <form onSubmit={submit} className="assign-many" aria-label="Add many assignments" noValidate>
      <Field
        label="User ids"
        field="assignments"
        hint={`One per line, or separated by commas or spaces. ${ids.length ? plural(ids.length, "distinct id") + "." : ""}`}
        error={error ? (badId ? `${badId}: ${(error as Error).message}` : fieldError(error, "assignments", { prefix: true })) : undefined}
      >
        <textarea value={text} rows={5} autoFocus spellCheck={false} className="mono" onChange={(e) => setText(e.target.value)} />
      </Field>
      <div className="row">
        <VariantSelect flag={flag} value={variant} onChange={setVariant} label="Assign them to" field="bulk-variant" />
        <button type="submit" className="btn btn-primary" disabled={busy || ids.length === 0}>
          {busy ? "Assigning…" : `Assign ${plural(ids.length, "user")}`}
        </button>
        <button type="button" className="btn btn-ghost" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      {error !== undefined && !fieldError(error, "assignments", { prefix: true }) && <ErrorBanner error={error} />}
    </form>
  );
}
