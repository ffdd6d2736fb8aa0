import type { FlagKind } from "../api/types";
import { ApiError } from "../api/client";
import { fieldError } from "../lib/errors";
import { slugify } from "../lib/format";
import { Field } from "./Field";

/** A variant as edited: the value is the text typed (a string flag's value is the text itself). */
export interface VariantDraft {
  key: string;
  name: string;
  value: string;
}

export function defaultVariants(kind: FlagKind): VariantDraft[] {
  switch (kind) {
    case "boolean":
      return [
        { key: "off", name: "Off", value: "false" },
        { key: "on", name: "On", value: "true" },
      ];
    case "string":
      return [
        { key: "control", name: "Control", value: "control" },
        { key: "treatment", name: "Treatment", value: "treatment" },
      ];
    case "number":
      return [
        { key: "control", name: "Control", value: "0" },
        { key: "treatment", name: "Treatment", value: "1" },
      ];
    case "json":
      return [
        { key: "control", name: "Control", value: "{}" },
        { key: "treatment", name: "Treatment", value: '{"enabled": true}' },
      ];
  }
}

/** Variants from the API to drafts. */
export function toDrafts(kind: FlagKind, vs: { key: string; name: string; value: unknown }[]): VariantDraft[] {
  return vs.map((v) => ({
    key: v.key,
    name: v.name,
    value: kind === "string" ? String(v.value) : kind === "json" ? JSON.stringify(v.value, null, 2) : JSON.stringify(v.value),
  }));
}

/** Drafts to API variants; a value that cannot be read throws an ApiError naming its field, like the API would. */
export function fromDrafts(kind: FlagKind, ds: VariantDraft[], field = "variants"): { key: string; name: string; value: unknown }[] {
  return ds.map((d, i) => {
    const f = `${field}[${i}].value`;
    let value: unknown;
    switch (kind) {
      case "boolean":
        value = d.value === "true";
        break;
      case "string":
        value = d.value;
        break;
      case "number": {
        const t = d.value.trim();
        const n = Number(t);
        if (t === "" || !Number.isFinite(n)) throw new ApiError(422, "invalid", "must be a number", f);
        value = n;
        break;
      }
      case "json":
        try {
          value = JSON.parse(d.value);
        } catch (e) {
          throw new ApiError(422, "invalid", `must be valid JSON (${(e as Error).message})`, f);
        }
        if (value === null) throw new ApiError(422, "invalid", "must be a JSON value other than null", f);
        break;
    }
    return { key: d.key.trim(), name: d.name.trim() || d.key.trim(), value };
  });
}

interface Props {
  kind: FlagKind;
  value: VariantDraft[];
  onChange: (next: VariantDraft[]) => void;
  error?: unknown;
  disabled?: boolean;
}

/** Edits a flag's variants with inputs typed by the flag kind. Boolean flags have fixed off/on variants (names editable). */
export function VariantsEditor({ kind, value, onChange, error, disabled }: Props) {
  const fixed = kind === "boolean";
  const set = (i: number, patch: Partial<VariantDraft>) => onChange(value.map((v, j) => (j === i ? { ...v, ...patch } : v)));
  const groupError = fieldError(error, "variants");
  return (
    <fieldset className="variants" data-field="variants" tabIndex={-1}>
      <legend className="field-label">Variants</legend>
      {fixed && <p className="field-hint">A boolean flag serves “Off” (false) or “On” (true); you can rename them.</p>}
      <div className="variant-rows">
        {value.map((v, i) => (
          <div className="variant-row" key={i}>
            <Field label={<>Key<span className="sr-only"> of variant {i + 1}</span></>} field={`variants[${i}].key`} error={fieldError(error, `variants[${i}].key`)} className="variant-key">
              <input
                value={v.key}
                disabled={disabled || fixed}
               
                spellCheck={false}
                autoCapitalize="off"
                onChange={(e) => set(i, { key: e.target.value })}
                onBlur={(e) => set(i, { key: slugify(e.target.value) || e.target.value })}
              />
            </Field>
            <Field label={<>Name<span className="sr-only"> of variant {i + 1}</span></>} field={`variants[${i}].name`} error={fieldError(error, `variants[${i}].name`)} className="variant-name">
              <input value={v.name} disabled={disabled} onChange={(e) => set(i, { name: e.target.value })} />
            </Field>
            <Field label={<>Value ({kind})<span className="sr-only"> of variant {i + 1}</span></>} field={`variants[${i}].value`} error={fieldError(error, `variants[${i}].value`)} className="variant-value">
              {kind === "boolean" ? (
                <input value={v.value} disabled />
              ) : kind === "json" ? (
                <textarea
                  value={v.value}
                  rows={Math.min(8, Math.max(2, v.value.split("\n").length))}
                  disabled={disabled}
                  spellCheck={false}
                 
                  className="mono"
                  onChange={(e) => set(i, { value: e.target.value })}
                />
              ) : (
                <input
                  value={v.value}
                  disabled={disabled}
                  inputMode={kind === "number" ? "decimal" : undefined}
                 
                  className={kind === "number" ? "mono" : undefined}
                  onChange={(e) => set(i, { value: e.target.value })}
                />
              )}
            </Field>
            {!fixed && (
              <button
                type="button"
                className="btn btn-small btn-ghost variant-remove"
                disabled={disabled || value.length <= 1}
                aria-label={`Remove variant ${v.key || i + 1}`}
                onClick={() => onChange(value.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            )}
          </div>
        ))}
      </div>
      {!fixed && (
        <button
          type="button"
          className="btn btn-small"
          disabled={disabled || value.length >= 100}
          onClick={() => {
            const n = value.length + 1;
            let key = `variant-${n}`;
            for (let k = n; value.some((v) => v.key === key); k++) key = `variant-${k}`;
            const blank = kind === "number" ? "0" : kind === "json" ? "{}" : "";
            onChange([...value, { key, name: `Variant ${n}`, value: blank }]);
          }}
        >
          + Add variant
        </button>
      )}
      {groupError && (
        <div className="field-error" role="alert">
          {groupError}
        </div>
      )}
    </fieldset>
  );
}
