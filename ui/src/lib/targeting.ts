// Targeting rules in the editor: the operators of docs/evaluation.md with
// the type their values take, typed parsing of what people type, editor
// drafts (with stable React keys) to and from the wire format, and the
// mapping of an API error's field ("rules[1].clauses[0].values") to the
// rule and clause it is about.
import { ApiError } from "../api/client";
import type { Clause, ClauseValue, Operator, Rule, Variant, Weight } from "../api/types";

/** What a clause's values are: "scalar" (in/equals) takes strings, numbers or booleans. */
export type ValueKind = "scalar" | "string" | "regex" | "number" | "semver" | "date" | "segment" | "none";

export interface OperatorInfo {
  op: Operator;
  label: string;
  kind: ValueKind;
  /** Exactly one value (equals). */
  single?: boolean;
  /** Takes no attribute (in_segment). */
  noAttribute?: boolean;
  group: string;
}

/** Every clause operator of docs/evaluation.md, in the order the editor lists them. */
export const OPERATORS: OperatorInfo[] = [
  { op: "in", label: "is one of", kind: "scalar", group: "Any type" },
  { op: "equals", label: "equals", kind: "scalar", single: true, group: "Any type" },
  { op: "exists", label: "exists", kind: "none", group: "Any type" },
  { op: "contains", label: "contains", kind: "string", group: "Text" },
  { op: "starts_with", label: "starts with", kind: "string", group: "Text" },
  { op: "ends_with", label: "ends with", kind: "string", group: "Text" },
  { op: "matches", label: "matches regex", kind: "regex", group: "Text" },
  { op: "lt", label: "<", kind: "number", group: "Number" },
  { op: "lte", label: "≤", kind: "number", group: "Number" },
  { op: "gt", label: ">", kind: "number", group: "Number" },
  { op: "gte", label: "≥", kind: "number", group: "Number" },
  { op: "semver_eq", label: "version =", kind: "semver", group: "Semantic version" },
  { op: "semver_lt", label: "version <", kind: "semver", group: "Semantic version" },
  { op: "semver_lte", label: "version ≤", kind: "semver", group: "Semantic version" },
  { op: "semver_gt", label: "version >", kind: "semver", group: "Semantic version" },
  { op: "semver_gte", label: "version ≥", kind: "semver", group: "Semantic version" },
  { op: "before", label: "is before", kind: "date", group: "Date" },
  { op: "after", label: "is after", kind: "date", group: "Date" },
  { op: "in_segment", label: "is in segment", kind: "segment", noAttribute: true, group: "Segment" },
];

const BY_OP = new Map(OPERATORS.map((o) => [o.op, o]));

export function operatorInfo(op: string): OperatorInfo {
  return BY_OP.get(op as Operator) ?? { op: op as Operator, label: op, kind: "scalar", group: "Unknown" };
}

/** The type new values of an "in"/"equals" clause get. */
export type ScalarType = "string" | "number" | "boolean";

// semver.org 2.0.0 with minor and patch optional, no leading zeros, parts of at most 15 digits.
const NUM = "(?:0|[1-9]\\d{0,14})";
const PRE = "(?:0|[1-9]\\d{0,14}|\\d*[A-Za-z-][0-9A-Za-z-]*)";
const SEMVER = new RegExp(`^${NUM}(?:\\.${NUM}(?:\\.${NUM})?)?(?:-${PRE}(?:\\.${PRE})*)?(?:\\+[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?$`);
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function validDate(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d >= 1 && d <= days;
}

/** Parses one typed value for an operator kind: the JSON value to send, or a message saying why not. */
export function parseValue(text: string, kind: ValueKind, scalar: ScalarType = "string"): { value: ClauseValue } | { error: string } {
  const t = kind === "string" || (kind === "scalar" && scalar === "string") ? text : text.trim();
  switch (kind) {
    case "none":
      return { error: "this operator takes no values" };
    case "number":
      return parseNumber(t);
    case "scalar":
      if (scalar === "number") return parseNumber(t);
      if (scalar === "boolean") return t === "true" || t === "false" ? { value: t === "true" } : { error: `“${t}” is not true or false` };
      return { value: t };
    case "string":
      return { value: t };
    case "regex":
      if (t === "") return { error: "empty pattern" };
      if (new TextEncoder().encode(t).length > 256) return { error: "at most 256 bytes" };
      try {
        new RegExp(t, "su");
      } catch (e) {
        return { error: `not a valid regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, "")})` };
      }
      return { value: t };
    case "semver":
      return SEMVER.test(t) ? { value: t } : { error: `“${t}” is not a semantic version (e.g. 17.2 or 1.0.0-beta.2)` };
    case "date":
      if (/^-?\d+(\.\d+)?$/.test(t)) return { value: Number(t) };
      return validDate(t) ? { value: t } : { error: `“${t}” is not an RFC 3339 date-time (e.g. 2026-03-01T00:00:00Z) or Unix seconds` };
    case "segment":
      return t ? { value: t } : { error: "choose a segment" };
  }
}

function parseNumber(t: string): { value: number } | { error: string } {
  const n = t === "" ? NaN : Number(t);
  return Number.isFinite(n) ? { value: n } : { error: `“${t}” is not a number` };
}

/** The scalar type of existing values (the most common one; strings when none). */
export function scalarTypeOf(values: ClauseValue[]): ScalarType {
  if (values.length > 0 && values.every((v) => typeof v === "number")) return "number";
  if (values.length > 0 && values.every((v) => typeof v === "boolean")) return "boolean";
  return "string";
}

/** Values kept when the operator (or scalar type) changes: those that read as the new type. */
export function coerceValues(values: ClauseValue[], kind: ValueKind, scalar: ScalarType = "string"): ClauseValue[] {
  if (kind === "none") return [];
  const out: ClauseValue[] = [];
  for (const v of values) {
    const r = parseValue(String(v), kind, scalar);
    if ("value" in r && !out.some((x) => x === r.value)) out.push(r.value);
  }
  return out;
}

// ---- drafts -------------------------------------------------------------------

let seq = 0;
/** A key for React lists, stable across reorders. */
export const newKey = () => `k${++seq}`;

export interface ClauseDraft {
  key: string;
  attribute: string;
  op: Operator;
  values: ClauseValue[];
  negate: boolean;
  /** The type new values of in/equals get. */
  scalar: ScalarType;
}

export interface RuleDraft {
  key: string;
  id: string;
  clauses: ClauseDraft[];
  serve: "variant" | "rollout";
  variant: string;
  rollout: Weight[];
  bucketBy: string;
}

export function clauseDraft(c?: Clause): ClauseDraft {
  const values = c?.values ?? [];
  return {
    key: newKey(),
    attribute: c?.attribute ?? "",
    op: c?.op ?? "in",
    values: [...values],
    negate: !!c?.negate,
    scalar: scalarTypeOf(values),
  };
}

export function ruleDraft(r: Rule, defaultVariant = ""): RuleDraft {
  return {
    key: newKey(),
    id: r.id,
    clauses: (r.clauses ?? []).map(clauseDraft),
    serve: r.rollout && r.rollout.length > 0 ? "rollout" : "variant",
    variant: r.variant ?? defaultVariant,
    rollout: r.rollout ?? [],
    bucketBy: r.bucketBy ?? "",
  };
}

/** A rule id not used yet: rule-1, rule-2, … */
export function nextRuleId(rules: { id: string }[], base = "rule"): string {
  const used = new Set(rules.map((r) => r.id));
  for (let i = rules.length + 1; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

export function newRule(rules: RuleDraft[], defaultVariant: string): RuleDraft {
  return { ...ruleDraft({ id: nextRuleId(rules), clauses: [] }, defaultVariant), clauses: [clauseDraft()] };
}

export function toClause(c: ClauseDraft): Clause {
  const info = operatorInfo(c.op);
  const out: Clause = { op: c.op };
  if (!info.noAttribute) out.attribute = c.attribute.trim();
  if (info.kind !== "none") out.values = c.values;
  if (c.negate) out.negate = true;
  return out;
}

/** The wire rule; without variants (a segment rule) only id and clauses. */
export function toRule(r: RuleDraft, variants?: Variant[]): Rule {
  const out: Rule = { id: r.id.trim(), clauses: r.clauses.map(toClause) };
  if (!variants) return out;
  if (r.serve === "rollout") {
    out.rollout = r.rollout;
    if (r.bucketBy.trim()) out.bucketBy = r.bucketBy.trim();
  } else {
    out.variant = r.variant;
  }
  return out;
}

export function move<T>(list: T[], from: number, to: number): T[] {
  if (to < 0 || to >= list.length || from === to) return list;
  const out = list.slice();
  const [x] = out.splice(from, 1);
  out.splice(to, 0, x);
  return out;
}

// ---- errors -------------------------------------------------------------------

/** Where an API error points inside a rule list (prefix "rules") or a clause list (prefix "audience"). */
export interface RuleErrorPlace {
  rule?: number;
  clause?: number;
  /** The part of the rule or clause: "id", "variant", "rollout", "bucketBy", "clauses", "attribute", "op", "values", "negate". */
  part?: string;
  message: string;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Places err in a rule list: "rules[1].clauses[0].values[2]" → rule 1,
 * clause 0, values. A clause-level field whose message starts with
 * "values[0]: …" (the SDK compiler's form) is placed on the values too.
 * Undefined when err is not about the list.
 */
export function placeError(err: unknown, prefix: string, clausesOnly = false): RuleErrorPlace | undefined {
  if (!(err instanceof ApiError) || !err.field) return undefined;
  // Experiments may name the audience "experiment.audience[0]".
  const field = err.field.replace(/^experiment\./, "");
  let message = err.message.replace(/^rule "[^"]*": /, "");
  if (clausesOnly) {
    const m = new RegExp(`^${esc(prefix)}(?=$|[[.])(?:\\[(\\d+)\\](?:\\.([A-Za-z_]+))?)?`).exec(field);
    if (!m) return undefined;
    let part: string | undefined = m[2];
    if (!part && m[1] !== undefined) [part, message] = partFromMessage(message);
    return { clause: m[1] === undefined ? undefined : Number(m[1]), part, message };
  }
  const m = new RegExp(`^${esc(prefix)}(?=$|[[.])(?:\\[(\\d+)\\](?:\\.([A-Za-z_]+)(?:\\[(\\d+)\\](?:\\.([A-Za-z_]+))?)?)?)?`).exec(field);
  if (!m) return undefined;
  if (m[1] === undefined) return { message };
  const rule = Number(m[1]);
  if (m[2] === "clauses" && m[3] !== undefined) {
    let part: string | undefined = m[4];
    if (!part) [part, message] = partFromMessage(message);
    return { rule, clause: Number(m[3]), part, message };
  }
  return { rule, part: m[2], message };
}

function partFromMessage(message: string): [string | undefined, string] {
  return /^values\[\d+\]: /.test(message) ? ["values", message] : [undefined, message];
}

/** The error's field as the most specific data-field rendered in root (trimming ".x" and "[n]" from the end). */
export function focusPath(err: unknown, root: ParentNode = document): void {
  if (!(err instanceof ApiError) || !err.field) return;
  let f = err.field.replace(/^experiment\./, "");
  for (;;) {
    const el = root.querySelector<HTMLElement>(`[data-field="${f.replace(/(["\\])/g, "\\$1")}"]`);
    if (el) {
      el.focus();
      if (typeof el.scrollIntoView === "function") el.scrollIntoView({ block: "center", behavior: "smooth" });
      return;
    }
    const next = f.replace(/(\.[A-Za-z_]+|\[\d+\])$/, "");
    if (next === f || next === "") return;
    f = next;
  }
}

/** A value as the editor shows it in a chip: strings as typed, other JSON as JSON. */
export function showClauseValue(v: ClauseValue, quoteStrings = false): string {
  return typeof v === "string" && !quoteStrings ? v : JSON.stringify(v);
}

/** A one-line summary of a clause: country is one of CA, US. */
export function describeClause(c: Clause): string {
  const info = operatorInfo(c.op);
  const not = c.negate ? (c.op === "exists" ? "" : "not ") : "";
  const op = c.op === "exists" && c.negate ? "is absent" : `${not}${info.label}`;
  const vals = (c.values ?? []).map((v) => showClauseValue(v)).join(", ");
  return [info.noAttribute ? "" : c.attribute, op, vals].filter(Boolean).join(" ");
}
