import { useState } from "react";
import type { Variant } from "../api/types";
import { TOTAL, even, parsePercent, percent, setWeight, allTo } from "../lib/rollout";

export const VARIANT_COLORS = ["#6366f1", "#10b981", "#f59e0b", "#ef4444", "#06b6d4", "#a855f7", "#84cc16", "#ec4899"];
const BOOLEAN_COLORS: Record<string, string> = { off: "#94a3b8", on: "#10b981" };

/** A variant's colour: boolean off/on are grey/green; others take the palette in order. */
export function variantColor(i: number, key?: string): string {
  if (key && key in BOOLEAN_COLORS) return BOOLEAN_COLORS[key];
  return VARIANT_COLORS[Math.max(0, i) % VARIANT_COLORS.length];
}

interface Props {
  variants: Variant[];
  /** Weights in basis points, in variant order; always sum to 10000. */
  value: number[];
  onChange: (next: number[]) => void;
  disabled?: boolean;
  error?: string;
  /** The group's legend (default "Rollout"). */
  legend?: string;
  /** The API field it edits (data-field, for error focus; default "rollout"). */
  field?: string;
}

/**
 * Edits how users are split over variants. Every change keeps the total at
 * exactly 100%: moving one variant takes from (or gives to) the others in
 * proportion to their shares.
 */
export function RolloutEditor({ variants, value, onChange, disabled, error, legend = "Rollout", field = "rollout" }: Props) {
  const total = value.reduce((a, b) => a + b, 0);
  const errorId = `${field}-error`;
  return (
    <fieldset className="rollout" data-field={field} tabIndex={-1} aria-describedby={error ? errorId : undefined}>
      <legend className="field-label">{legend}</legend>
      <div className="rollout-bar" aria-hidden="true">
        {variants.map((v, i) =>
          value[i] > 0 ? (
            <span key={v.key} style={{ width: `${value[i] / 100}%`, background: variantColor(i, v.key) }} title={`${v.name} ${percent(value[i])}%`} />
          ) : null,
        )}
      </div>
      <div className="rollout-rows">
        {variants.map((v, i) => (
          <div className="rollout-row" key={v.key}>
            <span className="swatch" style={{ background: variantColor(i, v.key) }} aria-hidden="true" />
            <span className="rollout-name" id={`${field}-name-${v.key}`}>
              {v.name}
              {v.name !== v.key && <code className="muted"> {v.key}</code>}
            </span>
            <input
              type="range"
              min={0}
              max={TOTAL}
              step={100}
              value={value[i] ?? 0}
              style={{ accentColor: variantColor(i, v.key) }}
              disabled={disabled || variants.length < 2}
              aria-label={`${v.name} share (slider)`}
              aria-valuetext={`${percent(value[i] ?? 0)}%`}
              onChange={(e) => onChange(setWeight(value, i, Number(e.target.value)))}
            />
            <PercentInput
              label={`${v.name} percent`}
              bp={value[i] ?? 0}
              disabled={disabled || variants.length < 2}
              onCommit={(bp) => onChange(setWeight(value, i, bp))}
            />
          </div>
        ))}
      </div>
      <div className="rollout-footer">
        <span className={total === TOTAL ? "muted" : "text-error"} aria-live="polite">
          Total {percent(total)}%
        </span>
        {variants.length > 1 && (
          <span className="btn-group">
            <button type="button" className="btn btn-small" disabled={disabled} onClick={() => onChange(even(variants.length))}>
              Split evenly
            </button>
            {variants.map((v, i) => (
              <button key={v.key} type="button" className="btn btn-small" disabled={disabled} onClick={() => onChange(allTo(variants.length, i))}>
                All {v.name}
              </button>
            ))}
          </span>
        )}
      </div>
      {error && (
        <div className="field-error" id={errorId} role="alert">
          {error}
        </div>
      )}
    </fieldset>
  );
}

function PercentInput({ bp, onCommit, label, disabled }: { bp: number; onCommit: (bp: number) => void; label: string; disabled?: boolean }) {
  const [draft, setDraft] = useState<string | null>(null);
  return (
    <span className="percent-input">
      <input
        type="text"
        inputMode="decimal"
        aria-label={label}
        disabled={disabled}
        value={draft ?? percent(bp)}
        onFocus={(e) => {
          setDraft(percent(bp));
          e.target.select();
        }}
        onBlur={() => setDraft(null)}
        onChange={(e) => {
          setDraft(e.target.value);
          const n = parsePercent(e.target.value);
          if (!Number.isNaN(n) && n >= 0 && n <= TOTAL) onCommit(n);
        }}
        onKeyDown={(e) => {
          const step = e.shiftKey ? 1000 : 100;
          if (e.key === "ArrowUp" || e.key === "ArrowDown") {
            e.preventDefault();
            const nb = Math.min(TOTAL, Math.max(0, bp + (e.key === "ArrowUp" ? step : -step)));
            setDraft(percent(nb));
            onCommit(nb);
          }
        }}
      />
      <span aria-hidden="true">%</span>
    </span>
  );
}
