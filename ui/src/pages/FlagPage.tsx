import { useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { api } from "../api/endpoints";
import { ApiError } from "../api/client";
import type { Environment, Flag, FlagState } from "../api/types";
import { base, useWorkspace } from "../workspace";
import { useApi } from "../lib/useApi";
import { fieldError, focusField } from "../lib/errors";
import { dateTime, parseTags, plural, relativeTime, showValue } from "../lib/format";
import { normalize, summary, toWeights } from "../lib/rollout";
import { goSnippet, openFeatureGoSnippet, openFeatureWebSnippet } from "../lib/snippets";
import { EnvToggle } from "../components/EnvToggle";
import { ErrorBanner } from "../components/ErrorBanner";
import { Field } from "../components/Field";
import { Loading } from "../components/Loading";
import { RolloutEditor } from "../components/RolloutEditor";
import { VariantsEditor, fromDrafts, toDrafts, type VariantDraft } from "../components/VariantsEditor";
import { CopyButton } from "../components/CopyButton";
import { CodeBlock } from "../components/CodeBlock";
import { Tabs } from "../components/Tabs";
import { FlagExperiments } from "./experiments/FlagExperiments";
import { FlagSafeRollouts } from "./saferollouts/SafeRollouts";
import { ConfirmDialog } from "../components/ConfirmDialog";
import { useToast } from "../components/Toast";
import { AssignmentsPanel } from "./AssignmentsPanel";
import { FLAG_LABELS } from "./CreateFlagPage";
import { RulesPanel } from "./targeting/RulesPanel";
import { TestContextPanel } from "./targeting/TestContextPanel";

export function FlagPage() {
  const ws = useWorkspace();
  const { flag: key = "" } = useParams();
  const flag = useApi((s) => api.getFlag(ws.project, key, s), [ws.project, key]);
  // The rule the "test a context" panel matched, per environment; and whether the rules have unsaved edits.
  const [matched, setMatched] = useState<{ env: string; rule?: string }>({ env: "" });
  const [rulesDirty, setRulesDirty] = useState(false);

  useEffect(() => {
    document.title = `${flag.data?.name ?? key} · Waypost`;
  }, [flag.data?.name, key]);

  if (flag.error && !flag.data) {
    return (
      <div>
        <Crumbs flagKey={key} />
        <ErrorBanner error={flag.error} onRetry={flag.error instanceof ApiError && flag.error.status === 404 ? undefined : flag.reload} />
      </div>
    );
  }
  if (!flag.data) return <Loading label="Loading flag…" />;
  const f = flag.data;
  const setFlag = (nf: Flag) => flag.setData(nf);
  const setState = (s: FlagState) =>
    flag.setData((prev) => prev && { ...prev, environments: prev.environments.map((e) => (e.environment === s.environment ? s : e)) });
  const state = f.environments.find((s) => s.environment === ws.env);

  return (
    <div className="flag-page">
      <Crumbs flagKey={f.key} />
      <FlagHeader flag={f} onFlag={setFlag} />
      {f.archived_at && (
        <div className="banner banner-warn" role="note">
          <strong>Archived {relativeTime(f.archived_at)}.</strong>
          <span>SDKs do not receive this flag. Restore it to serve it again; until then its settings are read-only here.</span>
        </div>
      )}
      <EnvStrip flag={f} onState={setState} />
      {state ? (
        <>
          <TargetingPanel key={`${f.key}/${ws.env}`} flag={f} state={state} env={ws.environment} onState={setState} />
          <RulesPanel
            key={`rules/${f.key}/${ws.env}`}
            flag={f}
            state={state}
            env={ws.environment}
            onState={setState}
            matchedRuleId={matched.env === ws.env ? matched.rule : undefined}
            onDirty={setRulesDirty}
          />
          <TestContextPanel
            key={`test/${f.key}/${ws.env}`}
            flag={f}
            env={ws.environment}
            rulesDirty={rulesDirty}
            onResult={(r) => setMatched({ env: ws.env, rule: r?.rule_id })}
          />
          <AssignmentsPanel flag={f} env={ws.environment} state={state} onChanged={flag.reload} />
        </>
      ) : (
        <p className="muted">This flag has no state in {ws.environment.name}.</p>
      )}
      <FlagExperiments flag={f} />
      <FlagSafeRollouts flag={f} />
      <SettingsPanel flag={f} onFlag={setFlag} />
      <CodePanel flag={f} />
    </div>
  );
}

function Crumbs({ flagKey }: { flagKey: string }) {
  const ws = useWorkspace();
  return (
    <nav aria-label="Breadcrumb" className="breadcrumb">
      <Link to={ws.to("flags")}>Flags</Link> <span aria-hidden="true">/</span> <span aria-current="page">{flagKey}</span>
    </nav>
  );
}

function FlagHeader({ flag, onFlag }: { flag: Flag; onFlag: (f: Flag) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const [confirm, setConfirm] = useState(false);
  const archived = !!flag.archived_at;
  return (
    <div className="page-header">
      <div>
        <h1>{flag.name}</h1>
        <div className="flag-meta">
          <code className="key-chip">{flag.key}</code>
          <CopyButton text={flag.key} ariaLabel="Copy flag key" className="btn btn-small btn-ghost" />
          <span className="badge">{flag.kind}</span>
          {flag.tags.map((t) => (
            <Link key={t} className="tag" to={`${ws.to("flags")}?tag=${encodeURIComponent(t)}`}>
              {t}
            </Link>
          ))}
          {archived && <span className="badge badge-warn">archived</span>}
        </div>
        {flag.description && <p className="flag-description">{flag.description}</p>}
        <p className="muted small">
          Created <span title={dateTime(flag.created_at)}>{relativeTime(flag.created_at)}</span> · updated{" "}
          <span title={dateTime(flag.updated_at)}>{relativeTime(flag.updated_at)}</span> · version {flag.version} ·{" "}
          <Link to={`${ws.to("events")}?flag=${encodeURIComponent(flag.key)}`}>History</Link>
        </p>
      </div>
      <div className="btn-group">
        <button type="button" className={archived ? "btn btn-primary" : "btn btn-danger-outline"} onClick={() => setConfirm(true)}>
          {archived ? "Restore flag" : "Archive flag"}
        </button>
      </div>
      {confirm && (
        <ConfirmDialog
          title={archived ? `Restore “${flag.name}”?` : `Archive “${flag.name}”?`}
          confirmLabel={archived ? "Restore flag" : "Archive flag"}
          danger={!archived}
          onCancel={() => setConfirm(false)}
          onConfirm={async () => {
            const f = archived ? await api.restoreFlag(ws.project, flag.key) : await api.archiveFlag(ws.project, flag.key);
            onFlag(f);
            setConfirm(false);
            toast(`${f.key} ${archived ? "restored" : "archived"}`);
          }}
        >
          <p>
            {archived
              ? "The flag is served to SDKs again in every environment, with its saved state."
              : "SDKs stop receiving this flag in every environment and use the default value in your code. You can restore it later."}
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** Every environment at a glance; the selected one is edited below. */
function EnvStrip({ flag, onState }: { flag: Flag; onState: (s: FlagState) => void }) {
  const ws = useWorkspace();
  return (
    <section aria-label="Environments" className="env-strip">
      {ws.environments.map((e) => {
        const s = flag.environments.find((x) => x.environment === e.key);
        const selected = e.key === ws.env;
        return (
          <div key={e.key} className={["env-card", selected ? "selected" : "", e.key === "production" ? "prod" : ""].join(" ")}>
            <div className="env-card-head">
              {selected ? (
                <strong aria-current="true">{e.name}</strong>
              ) : (
                <Link to={`${base(ws.project, e.key)}/flags/${encodeURIComponent(flag.key)}`} aria-label={`Edit ${e.name}`}>
                  {e.name}
                </Link>
              )}
              {s && <EnvToggle project={ws.project} flagKey={flag.key} flagName={flag.name} env={e} state={s} onChanged={onState} disabled={!!flag.archived_at} />}
            </div>
            {s && (
              <div className="env-card-body muted small">
                {s.enabled ? summary(flag.variants, s.rollout) : `serving ${flag.variants.find((v) => v.key === s.off_variant)?.name ?? s.off_variant}`}
                {s.assignment_count > 0 && ` · ${plural(s.assignment_count, "assignment")}`}
              </div>
            )}
          </div>
        );
      })}
    </section>
  );
}

function TargetingPanel({ flag, state, env, onState }: { flag: Flag; state: FlagState; env: Environment; onState: (s: FlagState) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const baseWeights = normalize(flag.variants, state.rollout);
  const [weights, setWeights] = useState<number[] | null>(null);
  const [offVariant, setOffVariant] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  // A running experiment refused the rollout change (409 experiment_running).
  const [experimentRunning, setExperimentRunning] = useState<string | null>(null);
  const ref = useRef<HTMLElement>(null);

  // Variants edited elsewhere on the page: drop a draft that no longer fits.
  useEffect(() => {
    setWeights((w) => (w && w.length !== flag.variants.length ? null : w));
  }, [flag.variants.length]);

  const current = weights ?? baseWeights;
  const off = offVariant ?? state.off_variant;
  const rolloutDirty = weights !== null && weights.some((w, i) => w !== baseWeights[i]);
  const offDirty = offVariant !== null && offVariant !== state.off_variant;
  const dirty = rolloutDirty || offDirty;
  const readOnly = !!flag.archived_at;

  const save = async (newPhase = false) => {
    setBusy(true);
    setError(undefined);
    setConflict(false);
    try {
      const s = await api.updateState(ws.project, flag.key, env.key, {
        version: state.version,
        rollout: rolloutDirty ? toWeights(flag.variants, current) : undefined,
        off_variant: offDirty ? off : undefined,
        new_experiment_phase: newPhase || undefined,
      });
      onState(s);
      setWeights(null);
      setOffVariant(null);
      setConfirming(false);
      setExperimentRunning(null);
      toast(newPhase ? `Targeting saved in ${env.name}; the experiment continues in a new phase` : `Targeting saved in ${env.name}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.code === "experiment_running") {
        setExperimentRunning(e.message);
        setConfirming(false);
      } else if (e instanceof ApiError && e.isConflict && e.current) {
        onState(e.current as FlagState);
        setWeights(null);
        setOffVariant(null);
        setConflict(true);
        setConfirming(false);
      } else {
        setError(e);
        setConfirming(false);
        requestAnimationFrame(() => focusField(e, ref.current ?? document));
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" ref={ref} aria-labelledby="targeting-title">
      <div className="card-head">
        <h2 id="targeting-title">
          Targeting in <span className={env.key === "production" ? "env-name prod" : "env-name"}>{env.name}</span>
        </h2>
        <span className={state.enabled ? "status status-on" : "status"}>{state.enabled ? "On" : "Off"}</span>
      </div>
      <p className="muted small">
        While <strong>on</strong>, users get their custom assignment, else their share of the rollout (the same user always lands in the same variant). While{" "}
        <strong>off</strong>, everyone gets the off variant. State version {state.version}, changed {relativeTime(state.updated_at)}.
      </p>
      {conflict && (
        <div className="banner banner-warn" role="alert">
          <strong>Someone else changed this flag in {env.name}.</strong>
          <span>Your edits were not saved. The form now shows the current targeting; make your change again.</span>
        </div>
      )}
      {experimentRunning && (
        <div className="banner banner-warn" role="alert">
          <strong>An experiment is running on this flag in {env.name}.</strong>
          <span>{experimentRunning}</span>
          <span>
            Saving anyway ends the experiment&apos;s current phase and starts a new one with this rollout; results are then per phase.
          </span>
          <div className="form-actions">
            <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void save(true)}>
              Save as a new experiment phase
            </button>
            <button type="button" className="btn btn-ghost" disabled={busy} onClick={() => setExperimentRunning(null)}>
              Keep the current rollout
            </button>
          </div>
        </div>
      )}
      <ErrorBanner error={error} labels={{ rollout: "Rollout", off_variant: "Off variant", version: "Version" }} />
      <RolloutEditor
        variants={flag.variants}
        value={current}
        onChange={(w) => {
          setWeights(w);
          setConflict(false);
        }}
        disabled={busy || readOnly}
        error={fieldError(error, "rollout", { prefix: true })}
      />
      <Field label="Off variant" field="off_variant" error={fieldError(error, "off_variant")} hint="Served to everyone while the flag is off." className="off-variant">
        <select value={off} disabled={busy || readOnly} onChange={(e) => setOffVariant(e.target.value)}>
          {flag.variants.map((v) => (
            <option key={v.key} value={v.key}>
              {v.name} ({showValue(v.value)})
            </option>
          ))}
        </select>
      </Field>
      <div className="form-actions">
        <button
          type="button"
          className="btn btn-primary"
          disabled={!dirty || busy || readOnly}
          onClick={() => (env.key === "production" ? setConfirming(true) : void save(false))}
        >
          {busy ? "Saving…" : `Save targeting`}
        </button>
        <button
          type="button"
          className="btn btn-ghost"
          disabled={!dirty || busy}
          onClick={() => {
            setWeights(null);
            setOffVariant(null);
            setError(undefined);
          }}
        >
          Discard changes
        </button>
        {dirty && <span className="muted small">Unsaved changes</span>}
      </div>
      {confirming && (
        <ConfirmDialog
          title={`Change targeting in ${env.name}?`}
          confirmLabel={`Save in ${env.name}`}
          onCancel={() => setConfirming(false)}
          onConfirm={() => save(false)}
        >
          <ul className="change-list">
            {rolloutDirty && (
              <li>
                Rollout: {summary(flag.variants, toWeights(flag.variants, baseWeights))} → <strong>{summary(flag.variants, toWeights(flag.variants, current))}</strong>
              </li>
            )}
            {offDirty && (
              <li>
                Off variant: {state.off_variant} → <strong>{off}</strong>
              </li>
            )}
          </ul>
        </ConfirmDialog>
      )}
    </section>
  );
}

function SettingsPanel({ flag, onFlag }: { flag: Flag; onFlag: (f: Flag) => void }) {
  const ws = useWorkspace();
  const toast = useToast();
  const [name, setName] = useState(flag.name);
  const [description, setDescription] = useState(flag.description);
  const [tags, setTags] = useState(flag.tags.join(", "));
  const [variants, setVariants] = useState<VariantDraft[]>(() => toDrafts(flag.kind, flag.variants));
  const [error, setError] = useState<unknown>();
  const [conflict, setConflict] = useState(false);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLFormElement>(null);

  const reset = (f: Flag) => {
    setName(f.name);
    setDescription(f.description);
    setTags(f.tags.join(", "));
    setVariants(toDrafts(f.kind, f.variants));
  };

  const tagList = parseTags(tags);
  const variantsJSON = (() => {
    try {
      return JSON.stringify(fromDrafts(flag.kind, variants));
    } catch {
      return "invalid";
    }
  })();
  const changes = {
    name: name.trim() !== flag.name,
    description: description !== flag.description,
    tags: tagList.join(",") !== flag.tags.join(","),
    variants: variantsJSON !== JSON.stringify(flag.variants.map((v) => ({ key: v.key, name: v.name, value: v.value }))),
  };
  const dirty = Object.values(changes).some(Boolean);

  // Reflect changes made elsewhere (archive, another tab) while nothing is being edited.
  const lastVersion = useRef(flag.version);
  useEffect(() => {
    if (flag.version !== lastVersion.current) {
      lastVersion.current = flag.version;
      if (!dirty) reset(flag);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [flag]);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setConflict(false);
    try {
      const f = await api.updateFlag(ws.project, flag.key, {
        version: flag.version,
        name: changes.name ? name.trim() : undefined,
        description: changes.description ? description : undefined,
        tags: changes.tags ? tagList : undefined,
        variants: changes.variants ? fromDrafts(flag.kind, variants) : undefined,
      });
      lastVersion.current = f.version;
      onFlag(f);
      reset(f);
      toast("Flag saved");
    } catch (err) {
      if (err instanceof ApiError && err.isConflict && err.current) {
        const cur = err.current as Flag;
        lastVersion.current = cur.version;
        onFlag(cur);
        reset(cur);
        setConflict(true);
      } else {
        setError(err);
        requestAnimationFrame(() => focusField(err, ref.current ?? document));
      }
    } finally {
      setBusy(false);
    }
  };

  const readOnly = !!flag.archived_at;
  return (
    <section className="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Details and variants</h2>
      <form ref={ref} onSubmit={submit} noValidate className="form">
        {conflict && (
          <div className="banner banner-warn" role="alert">
            <strong>Someone else changed this flag while you were editing.</strong>
            <span>Your changes were not saved. The form now shows the current version ({flag.version}); make your changes again.</span>
          </div>
        )}
        <ErrorBanner error={error} labels={FLAG_LABELS} />
        <div className="grid-2">
          <Field label="Name" field="name" error={fieldError(error, "name")}>
            <input value={name} disabled={readOnly} maxLength={200} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label="Tags" field="tags" error={fieldError(error, "tags", { prefix: true })} hint="Separated by commas or spaces.">
            <input value={tags} disabled={readOnly} spellCheck={false} autoCapitalize="off" onChange={(e) => setTags(e.target.value)} />
          </Field>
        </div>
        <Field label="Description" field="description" error={fieldError(error, "description")}>
          <textarea value={description} disabled={readOnly} rows={3} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        <VariantsEditor kind={flag.kind} value={variants} onChange={setVariants} error={error} disabled={busy || readOnly} />
        <p className="muted small">
          A variant can be removed once no environment serves it: 0% rollout, not the off variant, and no custom assignments.
        </p>
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={!dirty || busy || readOnly}>
            {busy ? "Saving…" : "Save details"}
          </button>
          <button
            type="button"
            className="btn btn-ghost"
            disabled={!dirty || busy}
            onClick={() => {
              reset(flag);
              setError(undefined);
            }}
          >
            Discard changes
          </button>
          {dirty && <span className="muted small">Unsaved changes</span>}
        </div>
      </form>
    </section>
  );
}

function CodePanel({ flag }: { flag: Flag }) {
  const [tab, setTab] = useState("go");
  return (
    <section className="card" aria-labelledby="code-title">
      <h2 id="code-title">Use it in code</h2>
      <p className="muted small">
        Server SDKs evaluate locally with a <strong>server</strong> key; browsers ask the provider with a <strong>client</strong> key (OFREP). Create keys
        under SDK keys.
      </p>
      <Tabs
        label="Code samples"
        value={tab}
        onChange={setTab}
        tabs={[
          { id: "go", label: "Go SDK", panel: <CodeBlock code={goSnippet(flag)} label="Go SDK code" /> },
          { id: "of-go", label: "OpenFeature (Go)", panel: <CodeBlock code={openFeatureGoSnippet(flag)} label="OpenFeature Go code" /> },
          { id: "of-web", label: "OpenFeature (browser)", panel: <CodeBlock code={openFeatureWebSnippet(flag)} label="OpenFeature browser code" /> },
        ]}
      />
    </section>
  );
}
