import { useEffect, useMemo, useRef, useState } from "react";
import { Link } from "react-router";
import { api, tapi } from "../../api/endpoints";
import { ApiError } from "../../api/client";
import type { Environment, Flag, FlagState, FlagTargeting, Prerequisite } from "../../api/types";
import { useWorkspace } from "../../workspace";
import { useApi } from "../../lib/useApi";
import { focusPath, placeError, ruleDraft, toRule, type RuleDraft } from "../../lib/targeting";
import { plural } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Loading } from "../../components/Loading";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { useToast } from "../../components/Toast";
import { RulesEditor } from "../../components/targeting/RulesEditor";
import { PrerequisitesEditor } from "../../components/targeting/PrerequisitesEditor";

interface Props {
  flag: Flag;
  state: FlagState;
  env: Environment;
  /** The saved targeting bumps the state's version: the page keeps it in step. */
  onState: (s: FlagState) => void;
  /** The rule the "test a context" panel matched. */
  matchedRuleId?: string;
  /** Tells the page whether there are unsaved rule edits (the test panel evaluates saved rules). */
  onDirty?: (dirty: boolean) => void;
}

/** The variant a new rule serves: "on" for booleans, else the second variant. */
export function defaultServe(flag: Flag): string {
  if (flag.kind === "boolean") return "on";
  return (flag.variants[1] ?? flag.variants[0])?.key ?? "";
}

/** A flag's prerequisites and ordered rules in one environment, saved together with the state's version. */
export function RulesPanel({ flag, state, env, onState, matchedRuleId, onDirty }: Props) {
  const ws = useWorkspace();
  const toast = useToast();
  const targeting = useApi((s) => tapi.getTargeting(ws.project, flag.key, env.key, s), [ws.project, flag.key, env.key]);
  const attributes = useApi((s) => tapi.attributes(ws.project, env.key, s), [ws.project, env.key]);
  const segments = useApi((s) => tapi.listSegments(ws.project, env.key, s), [ws.project, env.key]);
  const flags = useApi((s) => api.listFlags(ws.project, { limit: 200 }, s), [ws.project]);
  const [rules, setRules] = useState<RuleDraft[] | null>(null);
  const [prereqs, setPrereqs] = useState<Prerequisite[] | null>(null);
  const [base, setBase] = useState<FlagTargeting | null>(null);
  const [error, setError] = useState<unknown>();
  const [conflict, setConflict] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const ref = useRef<HTMLElement>(null);
  const readOnly = !!flag.archived_at;
  const serve = defaultServe(flag);

  const load = (t: FlagTargeting) => {
    setBase(t);
    setRules(t.rules.map((r) => ruleDraft(r, serve)));
    setPrereqs(t.prerequisites);
  };
  useEffect(() => {
    if (targeting.data) load(targeting.data);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [targeting.data]);

  const wire = useMemo(
    () => (rules && prereqs ? { rules: rules.map((r) => toRule(r, flag.variants)), prerequisites: prereqs.filter((p) => p.flag !== "" || p.variants.length > 0) } : null),
    [rules, prereqs, flag.variants],
  );
  const dirty = !!(wire && base && JSON.stringify(wire) !== JSON.stringify({ rules: base.rules, prerequisites: base.prerequisites }));
  useEffect(() => onDirty?.(dirty), [dirty, onDirty]);

  const save = async (version?: number) => {
    if (!wire || !base) return;
    setBusy(true);
    setError(undefined);
    try {
      const t = await tapi.updateTargeting(ws.project, flag.key, env.key, { ...wire, version: version ?? Math.max(base.version, state.version) });
      load(t);
      setConflict(null);
      onState({ ...state, version: t.version });
      toast(`Rules saved in ${env.name}`);
    } catch (e) {
      if (e instanceof ApiError && e.isConflict) {
        const cur = (e.current as { version?: number } | undefined)?.version;
        setConflict(typeof cur === "number" ? cur : -1);
      } else {
        setError(e);
        requestAnimationFrame(() => focusPath(e, ref.current ?? document));
      }
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };

  // An error not about a rule or prerequisite goes in the banner.
  const placed = placeError(error, "rules") !== undefined || (error instanceof ApiError && /^prerequisites/.test(error.field));
  const segmentOptions = (segments.data?.segments ?? []).map((s) => ({ key: s.key, name: s.name }));

  return (
    <section className="card" ref={ref} aria-labelledby="rules-title">
      <div className="card-head">
        <h2 id="rules-title">
          Rules in <span className={env.key === "production" ? "env-name prod" : "env-name"}>{env.name}</span>
        </h2>
        {base && <span className="muted small">{plural(base.rules.length, "rule")}</span>}
      </div>
      <p className="muted small">
        While the flag is on: prerequisites first, then custom assignments, then the rules in order (the first whose conditions all match decides), then the
        default rollout above. Conditions can use <Link to={ws.to("segments")}>segments</Link>.
      </p>
      <ErrorBanner error={targeting.error} onRetry={targeting.reload} />
      {conflict !== null && (
        <div className="banner banner-warn" role="alert">
          <strong>Someone else changed this flag in {env.name}.</strong>
          <span>Your rules were not saved. Load the current ones (your edits are lost), or save yours over them.</span>
          <div className="form-actions">
            <button
              type="button"
              className="btn"
              disabled={busy}
              onClick={() => {
                setConflict(null);
                targeting.reload();
              }}
            >
              Load the current rules
            </button>
            {conflict >= 0 && (
              <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void save(conflict)}>
                Save mine over theirs
              </button>
            )}
          </div>
        </div>
      )}
      {!placed && <ErrorBanner error={error} labels={{ rules: "Rules", prerequisites: "Prerequisites", version: "Version" }} />}
      {!rules || !prereqs ? (
        !targeting.error && <Loading label="Loading rules…" />
      ) : (
        <>
          <h3 className="small-heading">Prerequisites</h3>
          <PrerequisitesEditor value={prereqs} onChange={setPrereqs} flagKey={flag.key} flags={flags.data?.items ?? []} error={error} disabled={busy || readOnly} />
          <h3 className="small-heading">Rules</h3>
          <RulesEditor
            rules={rules}
            onChange={setRules}
            variants={flag.variants}
            defaultVariant={serve}
            attributes={attributes.data?.attributes}
            segments={segmentOptions}
            error={error}
            disabled={busy || readOnly}
            matchedRuleId={matchedRuleId}
          />
          <div className="form-actions">
            <button
              type="button"
              className="btn btn-primary"
              disabled={!dirty || busy || readOnly}
              onClick={() => (env.key === "production" ? setConfirming(true) : void save())}
            >
              {busy ? "Saving…" : "Save rules"}
            </button>
            <button
              type="button"
              className="btn btn-ghost"
              disabled={!dirty || busy}
              onClick={() => {
                if (base) load(base);
                setError(undefined);
              }}
            >
              Discard changes
            </button>
            {dirty && <span className="muted small">Unsaved changes</span>}
          </div>
        </>
      )}
      {confirming && wire && base && (
        <ConfirmDialog title={`Change the rules in ${env.name}?`} confirmLabel={`Save in ${env.name}`} onCancel={() => setConfirming(false)} onConfirm={() => save()}>
          <ul className="change-list">
            <li>
              Rules: {base.rules.map((r) => r.id).join(", ") || "none"} → <strong>{wire.rules.map((r) => r.id).join(", ") || "none"}</strong>
            </li>
            <li>
              Prerequisites: {base.prerequisites.map((p) => p.flag).join(", ") || "none"} → <strong>{wire.prerequisites.map((p) => p.flag).join(", ") || "none"}</strong>
            </li>
          </ul>
        </ConfirmDialog>
      )}
    </section>
  );
}
