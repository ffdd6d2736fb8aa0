import { ApiError } from "../../api/client";
import type { Flag, Prerequisite } from "../../api/types";
import "./targeting.css";

interface Props {
  value: Prerequisite[];
  onChange: (p: Prerequisite[]) => void;
  /** The flag being edited (it cannot require itself). */
  flagKey: string;
  /** The project's flags, with their variants. */
  flags: Flag[];
  error?: unknown;
  disabled?: boolean;
}

/** Flags that must serve one of the chosen variants (to the same context) before this flag is evaluated. */
export function PrerequisitesEditor({ value, onChange, flagKey, flags, error, disabled }: Props) {
  const others = flags.filter((f) => f.key !== flagKey && !f.archived_at);
  const m = error instanceof ApiError ? /^prerequisites(?:\[(\d+)\])?/.exec(error.field) : null;
  const at = m && m[1] !== undefined ? Number(m[1]) : undefined;
  const set = (i: number, p: Prerequisite) => onChange(value.map((x, k) => (k === i ? p : x)));
  return (
    <div className="prereqs" data-field="prerequisites" tabIndex={-1}>
      {value.length === 0 && <p className="muted small">No prerequisites.</p>}
      {value.map((p, i) => {
        const f = flags.find((x) => x.key === p.flag);
        const err = at === i ? (error as ApiError).message : undefined;
        return (
          <div key={i} className={err ? "prereq-row clause-invalid" : "prereq-row"} role="group" aria-label={`Prerequisite ${i + 1}`} data-field={`prerequisites[${i}]`} tabIndex={-1}>
            <select
              aria-label="Prerequisite flag"
              data-field={`prerequisites[${i}].flag`}
              value={p.flag}
              disabled={disabled}
              aria-invalid={err ? true : undefined}
              onChange={(e) => {
                const nf = flags.find((x) => x.key === e.target.value);
                set(i, { flag: e.target.value, variants: nf ? [nf.kind === "boolean" ? "on" : nf.variants[0]?.key].filter(Boolean) : [] });
              }}
            >
              <option value="">Choose a flag…</option>
              {p.flag && !others.some((o) => o.key === p.flag) && <option value={p.flag}>{p.flag}</option>}
              {others.map((o) => (
                <option key={o.key} value={o.key}>
                  {o.name} ({o.key})
                </option>
              ))}
            </select>
            <span className="muted small">serves</span>
            <span className="prereq-variants" role="group" aria-label="Allowed variants" data-field={`prerequisites[${i}].variants`} tabIndex={-1}>
              {(f?.variants ?? p.variants.map((k) => ({ key: k, name: k }))).map((v) => (
                <label key={v.key} className="checkbox">
                  <input
                    type="checkbox"
                    checked={p.variants.includes(v.key)}
                    disabled={disabled}
                    onChange={(e) => set(i, { ...p, variants: e.target.checked ? [...p.variants, v.key] : p.variants.filter((x) => x !== v.key) })}
                  />
                  {v.name}
                </label>
              ))}
            </span>
            <button type="button" className="btn btn-small btn-ghost" aria-label={`Remove prerequisite ${i + 1}`} disabled={disabled} onClick={() => onChange(value.filter((_, k) => k !== i))}>
              Remove
            </button>
            {err && (
              <div className="field-error span-all" role="alert">
                {err}
              </div>
            )}
          </div>
        );
      })}
      {m && at === undefined && (
        <div className="field-error" role="alert">
          {(error as ApiError).message}
        </div>
      )}
      <button type="button" className="btn btn-small" disabled={disabled || others.length === 0} onClick={() => onChange([...value, { flag: "", variants: [] }])}>
        + Add prerequisite
      </button>
    </div>
  );
}
