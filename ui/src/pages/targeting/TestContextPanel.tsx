import { useState } from "react";
import { tapi } from "../../api/endpoints";
import { ApiError } from "../../api/client";
import type { Environment, Evaluation, Flag } from "../../api/types";
import { useWorkspace } from "../../workspace";
import { fieldError } from "../../lib/errors";
import { showValue } from "../../lib/format";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Field } from "../../components/Field";

const REASONS: Record<string, string> = {
  TARGETING_MATCH: "a rule or a custom assignment matched",
  SPLIT: "the user's share of a percentage rollout",
  STATIC: "one variant serves everyone",
  DEFAULT: "nothing matched: the default rule served",
  DISABLED: "the flag is off in this environment",
  PREREQUISITE_FAILED: "a prerequisite flag did not serve an allowed variant",
  ERROR: "the flag could not be evaluated",
};

const EXAMPLE = '{\n  "targetingKey": "user-42",\n  "country": "CA",\n  "plan": "pro"\n}';

/** Parses the pasted context: a JSON object, or a message saying what is wrong. */
export function parseContext(text: string): { context: Record<string, unknown> } | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { error: `not valid JSON: ${(e as Error).message}` };
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { error: 'must be a JSON object, e.g. {"targetingKey": "user-42", "country": "CA"}' };
  return { context: v as Record<string, unknown> };
}

interface Props {
  flag: Flag;
  env: Environment;
  /** Called with each result (and undefined when cleared): the page highlights the matched rule. */
  onResult: (e: Evaluation | undefined) => void;
  /** The rules have unsaved edits (the server evaluates the saved ones). */
  rulesDirty?: boolean;
}

/** "Test a context": paste an evaluation context, see what this flag serves it in this environment and why. */
export function TestContextPanel({ flag, env, onResult, rulesDirty }: Props) {
  const ws = useWorkspace();
  const [text, setText] = useState(EXAMPLE);
  const [result, setResult] = useState<Evaluation>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const run = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    const parsed = parseContext(text);
    if ("error" in parsed) {
      setResult(undefined);
      onResult(undefined);
      setError(new ApiError(422, "invalid", parsed.error, "context"));
      return;
    }
    setBusy(true);
    try {
      const r = await tapi.evaluate(ws.project, env.key, flag.key, parsed.context);
      setResult(r);
      onResult(r);
    } catch (err) {
      setResult(undefined);
      onResult(undefined);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const ctxError = fieldError(error, "context", { prefix: true });
  const variant = result && flag.variants.find((v) => v.key === result.variant);
  return (
    <section className="card" aria-labelledby="test-context-title">
      <h2 id="test-context-title">Test a context</h2>
      <p className="muted small">
        Paste an evaluation context (<code>targetingKey</code> plus attributes) to see what this flag serves it in {env.name}, and why. The saved rules are
        evaluated.
      </p>
      <form onSubmit={run} noValidate>
        <Field label="Context (JSON)" field="context" error={ctxError}>
          <textarea className="mono" rows={6} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
        </Field>
        {!ctxError && <ErrorBanner error={error} />}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Evaluating…" : "Evaluate"}
          </button>
          {rulesDirty && <span className="muted small">You have unsaved rule changes: save them to test them.</span>}
        </div>
      </form>
      {result && (
        <dl className="eval-result" aria-label="Evaluation result" aria-live="polite">
          <dt>Value</dt>
          <dd>
            <code>{showValue(result.value)}</code>
          </dd>
          <dt>Variant</dt>
          <dd>{result.variant ? (variant ? `${variant.name} (${result.variant})` : result.variant) : "none"}</dd>
          <dt>Reason</dt>
          <dd>
            <code>{result.reason}</code> <span className="muted">{REASONS[result.reason] ?? ""}</span>
            {result.error_code && (
              <>
                {" "}
                <code>{result.error_code}</code>
              </>
            )}
          </dd>
          <dt>Matched rule</dt>
          <dd>
            {result.rule_id ? (
              <code>{result.rule_id}</code>
            ) : result.reason === "TARGETING_MATCH" ? (
              "a custom assignment"
            ) : (
              <span className="muted">none</span>
            )}
          </dd>
          {result.experiment_key && (
            <>
              <dt>Experiment</dt>
              <dd>
                <code>{result.experiment_key}</code>
              </dd>
            </>
          )}
          <dt>Flag version</dt>
          <dd className="muted">
            {result.flag_version} (environment revision {result.revision})
          </dd>
        </dl>
      )}
    </section>
  );
}
