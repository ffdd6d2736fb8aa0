import { useId, useRef } from "react";
import type { AttributeSuggestion, Variant } from "../../api/types";
import { normalize, toWeights } from "../../lib/rollout";
import { move, newRule, placeError, type RuleDraft } from "../../lib/targeting";
import { RolloutEditor } from "../RolloutEditor";
import { AttributeList, ClausesEditor } from "./ClausesEditor";
import type { SegmentOption } from "./ValuesInput";
import "./targeting.css";

interface Props {
  rules: RuleDraft[];
  onChange: (rules: RuleDraft[]) => void;
  /** The flag's variants, for what a rule serves; absent for segment rules (which serve nothing). */
  variants?: Variant[];
  /** The variant a new rule serves. */
  defaultVariant?: string;
  attributes?: AttributeSuggestion[];
  segments?: SegmentOption[];
  /** The last save's error; messages about a rule or clause are shown on it. */
  error?: unknown;
  /** The API field of the list (default "rules"). */
  field?: string;
  disabled?: boolean;
  /** The rule that matched the "test a context" panel's context. */
  matchedRuleId?: string;
  /** Shown when there are no rules. */
  emptyText?: string;
}

/** Ordered targeting rules: the first whose conditions all match decides. Add, remove, reorder; each serves a variant or a rollout. */
export function RulesEditor({ rules, onChange, variants, defaultVariant = "", attributes, segments, error, field = "rules", disabled, matchedRuleId, emptyText = "No rules: everyone gets the default rollout." }: Props) {
  const attrList = useId();
  const root = useRef<HTMLDivElement>(null);
  const place = placeError(error, field);
  /** Moves rule i to j; focus follows the rule (its move button, or the other one at an end). */
  const reorder = (i: number, j: number, dir: "up" | "down") => {
    onChange(move(rules, i, j));
    requestAnimationFrame(() => {
      const q = (d: string) => root.current?.querySelector<HTMLButtonElement>(`[aria-label="Move rule ${j + 1} ${d}"]`);
      const b = q(dir);
      (b && !b.disabled ? b : q(dir === "up" ? "down" : "up"))?.focus();
    });
  };
  const set = (i: number, r: RuleDraft) => onChange(rules.map((x, k) => (k === i ? r : x)));
  const listError = place && place.rule === undefined ? place.message : undefined;
  return (
    <div className="rules" data-field={field} tabIndex={-1} ref={root}>
      <AttributeList id={attrList} attributes={attributes} />
      {rules.length === 0 && <p className="empty small">{emptyText}</p>}
      <ol className="rule-list" aria-label="Rules">
        {rules.map((r, i) => {
          const pe = place && place.rule === i ? place : undefined;
          const matched = !!matchedRuleId && r.id.trim() === matchedRuleId;
          const ruleField = `${field}[${i}]`;
          const on = (part: string) => (pe && pe.clause === undefined && pe.part === part ? pe.message : undefined);
          const ruleLevel = pe && pe.clause === undefined && (pe.part === undefined || !["id", "variant", "rollout", "bucketBy", "clauses"].includes(pe.part)) ? pe.message : undefined;
          return (
            <li key={r.key} className={["rule-card", matched ? "rule-matched" : "", pe ? "rule-invalid" : ""].join(" ").trim()} data-matched={matched || undefined}>
              <fieldset data-field={ruleField} tabIndex={-1}>
                <legend className="rule-legend">Rule {i + 1}</legend>
                <div className="rule-head">
                  <label className="inline-field rule-id">
                    <span className="muted small">id</span>
                    <input
                      aria-label={`Rule ${i + 1} id`}
                      data-field={`${ruleField}.id`}
                      className="mono"
                      value={r.id}
                      disabled={disabled}
                      spellCheck={false}
                      autoCapitalize="off"
                      aria-invalid={on("id") ? true : undefined}
                      onChange={(e) => set(i, { ...r, id: e.target.value })}
                    />
                  </label>
                  {matched && <span className="badge badge-info">Matched the test context</span>}
                  <span className="btn-group rule-actions">
                    <button type="button" className="btn btn-small" aria-label={`Move rule ${i + 1} up`} disabled={disabled || i === 0} onClick={() => reorder(i, i - 1, "up")}>
                      ↑
                    </button>
                    <button
                      type="button"
                      className="btn btn-small"
                      aria-label={`Move rule ${i + 1} down`}
                      disabled={disabled || i === rules.length - 1}
                      onClick={() => reorder(i, i + 1, "down")}
                    >
                      ↓
                    </button>
                    <button type="button" className="btn btn-small btn-danger-outline" aria-label={`Remove rule ${i + 1}`} disabled={disabled} onClick={() => onChange(rules.filter((_, k) => k !== i))}>
                      Remove
                    </button>
                  </span>
                </div>
                {on("id") && (
                  <div className="field-error" role="alert">
                    {on("id")}
                  </div>
                )}
                {ruleLevel && (
                  <div className="field-error" role="alert">
                    {ruleLevel}
                  </div>
                )}
                <ClausesEditor
                  clauses={r.clauses}
                  onChange={(clauses) => set(i, { ...r, clauses })}
                  field={`${ruleField}.clauses`}
                  error={pe && (pe.clause !== undefined || pe.part === "clauses") ? pe : undefined}
                  attributes={attributes}
                  segments={segments}
                  disabled={disabled}
                  attributeList={attrList}
                />
                {variants && <Serve rule={r} onChange={(nr) => set(i, nr)} variants={variants} field={ruleField} error={on} disabled={disabled} attributeList={attrList} />}
              </fieldset>
            </li>
          );
        })}
      </ol>
      {listError && (
        <div className="field-error" role="alert">
          {listError}
        </div>
      )}
      <button type="button" className="btn" disabled={disabled} onClick={() => onChange([...rules, newRule(rules, defaultVariant)])}>
        + Add rule
      </button>
    </div>
  );
}

function Serve({
  rule: r,
  onChange,
  variants,
  field,
  error,
  disabled,
  attributeList,
}: {
  rule: RuleDraft;
  onChange: (r: RuleDraft) => void;
  variants: Variant[];
  field: string;
  error: (part: string) => string | undefined;
  disabled?: boolean;
  attributeList: string;
}) {
  const weights = normalize(variants, r.rollout);
  return (
    <div className="rule-serve">
      <div className="segmented" role="group" aria-label="Serve">
        <button type="button" aria-pressed={r.serve === "variant"} disabled={disabled} onClick={() => onChange({ ...r, serve: "variant" })}>
          A variant
        </button>
        <button
          type="button"
          aria-pressed={r.serve === "rollout"}
          disabled={disabled}
          onClick={() => onChange({ ...r, serve: "rollout", rollout: r.rollout.length ? r.rollout : toWeights(variants, normalize(variants, [])) })}
        >
          A percentage rollout
        </button>
      </div>
      {r.serve === "variant" ? (
        <label className="inline-field">
          <span>serve</span>
          <select
            aria-label="Serve variant"
            data-field={`${field}.variant`}
            value={r.variant}
            disabled={disabled}
            aria-invalid={error("variant") ? true : undefined}
            onChange={(e) => onChange({ ...r, variant: e.target.value })}
          >
            {!variants.some((v) => v.key === r.variant) && <option value={r.variant}>{r.variant || "choose…"}</option>}
            {variants.map((v) => (
              <option key={v.key} value={v.key}>
                {v.name}
              </option>
            ))}
          </select>
        </label>
      ) : (
        <>
          <RolloutEditor
            legend="Rule rollout"
            field={`${field}.rollout`}
            variants={variants}
            value={weights}
            onChange={(w) => onChange({ ...r, rollout: toWeights(variants, w) })}
            disabled={disabled}
            error={error("rollout")}
          />
          <label className="inline-field">
            <span>Bucket by</span>
            <input
              aria-label="Bucket by attribute"
              data-field={`${field}.bucketBy`}
              list={attributeList}
              value={r.bucketBy}
              placeholder="targetingKey (default), or e.g. companyId"
              spellCheck={false}
              autoCapitalize="off"
              disabled={disabled}
              aria-invalid={error("bucketBy") ? true : undefined}
              onChange={(e) => onChange({ ...r, bucketBy: e.target.value })}
            />
          </label>
        </>
      )}
      {(error("variant") || error("bucketBy")) && (
        <div className="field-error" role="alert">
          {error("variant") ?? error("bucketBy")}
        </div>
      )}
    </div>
  );
}
