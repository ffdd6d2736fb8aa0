import { useEffect, useMemo, useRef, useState } from "react";
import { Link } from "react-router";
import { api } from "../api/endpoints";
import type { Flag, FlagState } from "../api/types";
import { useWorkspace } from "../workspace";
import { usePaged } from "../lib/usePaged";
import { useSearchState } from "../lib/useSearchState";
import { relativeTime, dateTime, plural } from "../lib/format";
import { summary } from "../lib/rollout";
import { EnvToggle } from "../components/EnvToggle";
import { ErrorBanner } from "../components/ErrorBanner";
import { Loading } from "../components/Loading";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { useToast } from "../components/Toast";
import { useCan } from "../auth";

const KEYS = ["q", "tag", "status", "archived"] as const;

/** Every flag of the project with its state in the selected environment. */
export function FlagsPage() {
  const ws = useWorkspace();
  const canEdit = useCan(ws.project, "editor");
  const [params, setParams] = useSearchState(KEYS);
  const archived = params.archived === "true";
  const flags = usePaged(
    (cursor, signal) => api.listFlags(ws.project, { q: params.q, tag: params.tag, archived, cursor, limit: 100 }, signal),
    [ws.project, params.q, params.tag, archived],
  );
  const [pending, setPending] = useState<{ flag: Flag; action: "archive" | "restore" } | null>(null);
  const toast = useToast();

  useEffect(() => {
    document.title = `${archived ? "Archived flags" : "Flags"} · ${ws.environment.name} · Waypost`;
  }, [archived, ws.environment.name]);

  const stateOf = (f: Flag) => f.environments.find((s) => s.environment === ws.env);
  const shown = flags.items.filter((f) => {
    if (!params.status) return true;
    const s = stateOf(f);
    return params.status === "on" ? !!s?.enabled : !s?.enabled;
  });
  const knownTags = useMemo(() => [...new Set(flags.items.flatMap((f) => f.tags))].sort(), [flags.items]);
  const filtered = !!(params.q || params.tag || params.status);

  const setState = (key: string, s: FlagState) =>
    flags.setItems((items) =>
      items.map((x) => (x.key === key ? { ...x, environments: x.environments.map((e) => (e.environment === s.environment ? s : e)) } : x)),
    );

  return (
    <div>
      <div className="page-header">
        <div>
          <h1>{archived ? "Archived flags" : "Flags"}</h1>
          <p className="muted">
            {archived
              ? "Archived flags are not served to SDKs; SDKs fall back to their default value. Restore one to serve it again."
              : <>States shown for <strong>{ws.environment.name}</strong>. Switch environments at the top right.</>}
          </p>
        </div>
        {!archived &&
          (canEdit.ok ? (
            <Link to={ws.to("flags/new")} className="btn btn-primary">
              + New flag
            </Link>
          ) : (
            <button type="button" className="btn btn-primary" disabled title={canEdit.reason}>
              + New flag
            </button>
          ))}
      </div>

      <div className="toolbar" role="search">
        <SearchBox value={params.q} onChange={(q) => setParams({ q })} />
        <TagBox value={params.tag} known={knownTags} onChange={(tag) => setParams({ tag })} />
        <label className="inline-field">
          <span>Status</span>
          <select value={params.status} onChange={(e) => setParams({ status: e.target.value })} aria-label={`Status in ${ws.environment.name}`}>
            <option value="">Any</option>
            <option value="on">On in {ws.environment.name}</option>
            <option value="off">Off in {ws.environment.name}</option>
          </select>
        </label>
        <div className="segmented" role="group" aria-label="Which flags">
          <button type="button" aria-pressed={!archived} onClick={() => setParams({ archived: "" }, false)}>
            Active
          </button>
          <button type="button" aria-pressed={archived} onClick={() => setParams({ archived: "true" }, false)}>
            Archived
          </button>
        </div>
        {filtered && (
          <button type="button" className="btn btn-ghost btn-small" onClick={() => setParams({ q: "", tag: "", status: "" })}>
            Clear filters
          </button>
        )}
      </div>

      <ErrorBanner error={flags.error} onRetry={flags.reload} />
      {flags.loading && flags.items.length === 0 ? (
        <Loading label="Loading flags…" />
      ) : shown.length === 0 && !flags.error ? (
        <div className="empty">
          {filtered ? (
            <p>No flags match these filters.</p>
          ) : archived ? (
            <p>No archived flags.</p>
          ) : (
            <>
              <p>
                <strong>No flags yet.</strong> A flag lets you turn a feature on and off, or split users between variants, without deploying.
              </p>
              <Link to={ws.to("flags/new")} className="btn btn-primary">
                Create your first flag
              </Link>
            </>
          )}
        </div>
      ) : (
        <div className="table-wrap" aria-busy={flags.loading} data-busy={flags.loading || undefined}>
          <table className="table flags-table">
            <caption className="sr-only">
              {archived ? "Archived flags" : `Flags and their state in ${ws.environment.name}`}
            </caption>
            <thead>
              <tr>
                <th scope="col">Flag</th>
                <th scope="col">Tags</th>
                <th scope="col">{archived ? "Archived" : `Serving in ${ws.environment.name}`}</th>
                {!archived && <th scope="col">Status</th>}
                <th scope="col">Updated</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((f) => {
                const s = stateOf(f);
                return (
                  <tr key={f.key} className={s?.enabled ? "row-on" : undefined}>
                    <td>
                      <Link to={ws.to(`flags/${encodeURIComponent(f.key)}`)} className="flag-link">
                        {f.name}
                      </Link>
                      <div className="flag-sub">
                        <code>{f.key}</code>
                        {f.kind !== "boolean" && <span className="badge">{f.kind}</span>}
                      </div>
                      {f.description && <div className="flag-desc">{f.description}</div>}
                    </td>
                    <td>
                      <div className="tags">
                        {f.tags.map((t) => (
                          <button key={t} type="button" className="tag" onClick={() => setParams({ tag: t })} aria-label={`Filter by tag ${t}`}>
                            {t}
                          </button>
                        ))}
                      </div>
                    </td>
                    <td>
                      {archived ? (
                        <span title={dateTime(f.archived_at)}>{relativeTime(f.archived_at)}</span>
                      ) : s ? (
                        <span className={s.enabled ? "" : "muted"}>
                          {s.enabled ? summary(f.variants, s.rollout) : `${f.variants.find((v) => v.key === s.off_variant)?.name ?? s.off_variant} (off)`}
                          {s.assignment_count > 0 && <span className="muted"> · {plural(s.assignment_count, "assignment")}</span>}
                        </span>
                      ) : (
                        "—"
                      )}
                    </td>
                    {!archived && (
                      <td>
                        {s && (
                          <EnvToggle
                            project={ws.project}
                            flagKey={f.key}
                            flagName={f.name}
                            env={ws.environment}
                            state={s}
                            onChanged={(ns) => setState(f.key, ns)}
                          />
                        )}
                      </td>
                    )}
                    <td>
                      <span title={dateTime(f.updated_at)}>{relativeTime(f.updated_at)}</span>
                    </td>
                    <td className="actions">
                      <button
                        type="button"
                        className="btn btn-small btn-ghost"
                        aria-label={`${archived ? "Restore" : "Archive"} ${f.key}`}
                        onClick={() => setPending({ flag: f, action: archived ? "restore" : "archive" })}
                      >
                        {archived ? "Restore" : "Archive"}
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {params.status && flags.hasMore && <p className="muted">The status filter applies to the flags loaded so far.</p>}
      {flags.hasMore && (
        <p>
          <button type="button" className="btn" onClick={flags.loadMore} disabled={flags.loadingMore}>
            {flags.loadingMore ? "Loading…" : "Load more flags"}
          </button>
        </p>
      )}

      {pending && (
        <ConfirmDialog
          title={pending.action === "archive" ? `Archive “${pending.flag.name}”?` : `Restore “${pending.flag.name}”?`}
          confirmLabel={pending.action === "archive" ? "Archive flag" : "Restore flag"}
          danger={pending.action === "archive"}
          onCancel={() => setPending(null)}
          onConfirm={async () => {
            const f = pending.action === "archive" ? await api.archiveFlag(ws.project, pending.flag.key) : await api.restoreFlag(ws.project, pending.flag.key);
            flags.setItems((items) => items.filter((x) => x.key !== f.key));
            setPending(null);
            toast(`${f.key} ${pending.action === "archive" ? "archived" : "restored"}`);
          }}
        >
          {pending.action === "archive" ? (
            <p>
              SDKs stop receiving <code>{pending.flag.key}</code> in every environment and fall back to the default value in your code. You can restore it later.
            </p>
          ) : (
            <p>
              <code>{pending.flag.key}</code> is served again in every environment, with the state it had when archived.
            </p>
          )}
        </ConfirmDialog>
      )}
    </div>
  );
}

function useDebounced(value: string, onChange: (v: string) => void, delay = 250) {
  const [text, setText] = useState(value);
  const last = useRef(value);
  useEffect(() => {
    if (value !== last.current) {
      last.current = value;
      setText(value);
    }
  }, [value]);
  useEffect(() => {
    if (text === last.current) return;
    const t = setTimeout(() => {
      last.current = text;
      onChange(text);
    }, delay);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text]);
  return [text, setText] as const;
}

function SearchBox({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [text, setText] = useDebounced(value, onChange);
  return (
    <label className="inline-field search">
      <span className="sr-only">Search flags</span>
      <input type="search" placeholder="Search by key, name or description" value={text} onChange={(e) => setText(e.target.value)} aria-label="Search flags" />
    </label>
  );
}

function TagBox({ value, known, onChange }: { value: string; known: string[]; onChange: (v: string) => void }) {
  const [text, setText] = useDebounced(value, (v) => onChange(v.trim().toLowerCase()), 400);
  return (
    <label className="inline-field">
      <span>Tag</span>
      <input list="known-tags" value={text} onChange={(e) => setText(e.target.value)} placeholder="any" size={12} aria-label="Filter by tag" />
      <datalist id="known-tags">
        {known.map((t) => (
          <option key={t} value={t} />
        ))}
      </datalist>
    </label>
  );
}
