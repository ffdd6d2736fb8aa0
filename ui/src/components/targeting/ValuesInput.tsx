import { useId, useState } from "react";
import type { ClauseValue, Operator } from "../../api/types";
import { operatorInfo, parseValue, showClauseValue, type ScalarType } from "../../lib/targeting";

export interface SegmentOption {
  key: string;
  name: string;
}

interface Props {
  op: Operator;
  scalar: ScalarType;
  values: ClauseValue[];
  onChange: (values: ClauseValue[]) => void;
  onScalar: (s: ScalarType) => void;
  /** The API field (data-field), e.g. rules[0].clauses[1].values. */
  field: string;
  /** The server's message about these values. */
  error?: string;
  /** Values seen for the attribute, offered while typing. */
  examples?: string[];
  segments?: SegmentOption[];
  disabled?: boolean;
}

const PLACEHOLDER: Record<string, string> = {
  string: "type a value, Enter",
  regex: "^[a-z]+@example\\.com$",
  number: "e.g. 42",
  semver: "e.g. 17.2 or 1.0.0-beta.2",
  date: "2026-03-01T00:00:00Z",
};

/**
 * A clause's values, typed by its operator: numbers for lt..gte, versions
 * for semver_*, RFC 3339 dates (or Unix seconds) for before/after, segment
 * keys for in_segment, strings, numbers or booleans for in/equals. Each
 * value becomes a chip when Enter is pressed, the field loses focus or
 * lines are pasted; a value that does not read as its type stays in the
 * field with the reason.
 */
export function ValuesInput({ op, scalar, values, onChange, onScalar, field, error, examples, segments, disabled }: Props) {
  const info = operatorInfo(op);
  const id = useId();
  const [text, setText] = useState("");
  const [local, setLocal] = useState<string>();
  const kind = info.kind;

  if (kind === "none") return <span className="muted small values-none">no values</span>;

  const add = (vs: ClauseValue[]) => {
    const next = values.slice();
    for (const v of vs) if (!next.some((x) => x === v)) next.push(v);
    onChange(next);
  };
  const remove = (i: number) => onChange(values.filter((_, j) => j !== i));

  /** Commits typed lines; keeps the ones that do not parse. */
  const commit = (raw: string) => {
    const lines = raw.split(/\r?\n/).filter((l) => l.trim() !== "");
    if (lines.length === 0) {
      setText("");
      setLocal(undefined);
      return;
    }
    const ok: ClauseValue[] = [];
    const bad: string[] = [];
    let why: string | undefined;
    for (const l of lines) {
      const r = parseValue(l, kind, scalar);
      if ("value" in r) ok.push(r.value);
      else {
        bad.push(l);
        why ??= r.error;
      }
    }
    if (ok.length) add(ok);
    setText(bad.join("\n"));
    setLocal(why);
  };

  const shown = local ?? error;
  const errId = `${id}-err`;
  const chips = (
    <ul className="chips" aria-label="Values">
      {values.map((v, i) => (
        <li key={`${typeof v}:${String(v)}`} className="chip">
          <span className={typeof v === "string" ? "" : "mono"}>{showClauseValue(v, kind === "scalar" && scalar !== "string")}</span>
          <button type="button" className="chip-remove" aria-label={`Remove value ${showClauseValue(v)}`} disabled={disabled} onClick={() => remove(i)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
  const errorLine = shown && (
    <div className="field-error" id={errId} role="alert">
      {shown}
    </div>
  );

  if (kind === "segment") {
    const left = (segments ?? []).filter((s) => !values.includes(s.key));
    return (
      <div className="values-input">
        {chips}
        <select
          aria-label="Add a segment"
          data-field={field}
          value=""
          disabled={disabled}
          aria-invalid={shown ? true : undefined}
          aria-describedby={shown ? errId : undefined}
          onChange={(e) => e.target.value && add([e.target.value])}
        >
          <option value="">{segments && segments.length === 0 ? "No segments in this environment" : "Add a segment…"}</option>
          {left.map((s) => (
            <option key={s.key} value={s.key}>
              {s.name} ({s.key})
            </option>
          ))}
        </select>
        {errorLine}
      </div>
    );
  }

  const typeSelect = kind === "scalar" && (
    <select
      aria-label="Value type"
      className="value-type"
      value={scalar}
      disabled={disabled}
      onChange={(e) => {
        setLocal(undefined);
        onScalar(e.target.value as ScalarType);
      }}
    >
      <option value="string">text</option>
      <option value="number">number</option>
      <option value="boolean">boolean</option>
    </select>
  );

  if (kind === "scalar" && scalar === "boolean") {
    return (
      <div className="values-input" role="group" aria-label="Values" data-field={field} tabIndex={-1}>
        {typeSelect}
        {[true, false].map((b) => (
          <label key={String(b)} className="checkbox">
            <input
              type="checkbox"
              checked={values.includes(b)}
              disabled={disabled}
              onChange={(e) => onChange(e.target.checked ? [...values.filter((v) => v !== b), b] : values.filter((v) => v !== b))}
            />
            {String(b)}
          </label>
        ))}
        {errorLine}
      </div>
    );
  }

  const full = info.single && values.length >= 1;
  const listId = `${id}-examples`;
  return (
    <div className="values-input">
      {typeSelect}
      {chips}
      {!full && (
        <input
          aria-label={info.single ? "Value" : "Add a value"}
          data-field={field}
          className={kind === "string" || kind === "scalar" ? "" : "mono"}
          list={examples && examples.length ? listId : undefined}
          value={text}
          placeholder={PLACEHOLDER[kind === "scalar" ? (scalar === "number" ? "number" : "string") : kind]}
          disabled={disabled}
          spellCheck={false}
          autoCapitalize="off"
          aria-invalid={shown ? true : undefined}
          aria-describedby={shown ? errId : undefined}
          onChange={(e) => {
            setText(e.target.value);
            setLocal(undefined);
          }}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              commit(text);
            } else if (e.key === "Backspace" && text === "" && values.length > 0) {
              remove(values.length - 1);
            }
          }}
          onBlur={() => commit(text)}
          onPaste={(e) => {
            const t = e.clipboardData.getData("text");
            if (/\n/.test(t)) {
              e.preventDefault();
              commit(t);
            }
          }}
        />
      )}
      {examples && examples.length > 0 && (
        <datalist id={listId}>
          {examples.map((x) => (
            <option key={x} value={x} />
          ))}
        </datalist>
      )}
      {errorLine}
    </div>
  );
}
