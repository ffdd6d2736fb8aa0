// Local flag evaluation, normative spec: docs/evaluation.md.
// The reference implementation is the Go package sdk/eval; the shared vectors
// in sdk/testdata/evaluation-cases.json pin the behaviour.

/** Flag kinds of the wire format. */
export type FlagKind = "boolean" | "string" | "number" | "json";

/** A flag in wire format (docs/evaluation.md). */
export interface WireFlag {
  key: string;
  kind: FlagKind;
  variants: { key: string; value: unknown }[];
  enabled: boolean;
  offVariant: string;
  rollout: { variant: string; weight: number }[];
  salt: string;
  assignments?: Record<string, string> | null;
  version: number;
  experiment?: WireExperiment | null;
  /** Prerequisite flags and the variants they must serve. */
  prerequisites?: { flag: string; variants: string[] }[] | null;
  /** Targeting rules, tried in order; the first match decides. */
  rules?: WireRule[] | null;
}

/** A running experiment, with an optional audience and layer. */
export interface WireExperiment {
  key: string;
  traffic: number;
  audience?: WireClause[] | null;
  layer?: { key: string; start: number; end: number } | null;
  /** Variant served to contexts that do not enter (absent: the off variant). */
  fallback?: string | null;
}

/** One clause: `attribute op values`, optionally negated. */
export interface WireClause {
  attribute?: string;
  op: string;
  values?: unknown[] | null;
  negate?: boolean;
}

/** A targeting rule: serves `variant`, or a `rollout` bucketed by `bucketBy`. */
export interface WireRule {
  id: string;
  clauses: WireClause[];
  variant?: string;
  rollout?: { variant: string; weight: number }[] | null;
  bucketBy?: string;
}

/** A segment: excluded ids never belong, included ids always do, then rules. */
export interface WireSegment {
  key: string;
  included?: string[] | null;
  excluded?: string[] | null;
  rules?: WireRule[] | null;
  version?: number;
}

/** One environment's flag set as sent by the provider. */
export interface FlagSet {
  project: string;
  environment: string;
  revision: number;
  flags: WireFlag[];
  segments?: WireSegment[];
}

/**
 * OpenFeature evaluation context: `targetingKey` (the user id) plus flat
 * attributes (string, number, boolean, Date, arrays of those).
 */
export type EvaluationContext = { targetingKey?: string } & Record<string, unknown>;

/** OpenFeature resolution reasons used by Waypost. */
export type Reason = "ERROR" | "DISABLED" | "TARGETING_MATCH" | "SPLIT" | "STATIC" | "DEFAULT" | "PREREQUISITE_FAILED";
/** Error codes ("" = none). */
export type ErrorCode = "" | "FLAG_NOT_FOUND" | "TYPE_MISMATCH";

/** Getter types of docs/evaluation.md rule 6. */
export type ValueType = "boolean" | "string" | "number" | "integer" | "json";

/** The full outcome of one evaluation. */
export interface EvaluationDetail<T> {
  value: T;
  /** Served variant key, "" on error. */
  variant: string;
  reason: Reason;
  errorCode: ErrorCode;
  /** Set only when the user is inside a running experiment. */
  experimentKey: string;
  /** Version of the evaluated flag (0 if not found). */
  flagVersion: number;
  /** Id of the targeting rule that decided, "" if none. */
  ruleId: string;
}

/** Thrown by compileFlagSet for a flag set that breaks the wire rules. */
export class ValidationError extends Error {
  readonly flag: string;
  readonly field: string;
  readonly segment: string;
  constructor(flag: string, field: string, msg: string, segment = "") {
    super(
      segment
        ? `segment ${JSON.stringify(segment)}: ${field}: ${msg}`
        : flag
          ? `flag ${JSON.stringify(flag)}: ${field}: ${msg}`
          : field
            ? `${field}: ${msg}`
            : msg,
    );
    this.name = "ValidationError";
    this.flag = flag;
    this.field = field;
    this.segment = segment;
  }
}

// ---------------------------------------------------------------------------
// MurmurHash3_x86_32, streaming over the UTF-8 bytes of UTF-16 strings.

const C1 = 0xcc9e2d51 | 0;
const C2 = 0x1b873593 | 0;

/** Hash state after some bytes: see Go's murmur3 struct. Immutable once built. */
export interface HashPrefix {
  readonly h: number;
  readonly tail: number;
  readonly ntail: number;
  readonly len: number;
}

const EMPTY_PREFIX: HashPrefix = { h: 0, tail: 0, ntail: 0, len: 0 };

function mixBlock(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

// Scratch state for the streaming writer: module-level so that hashing
// allocates nothing. JavaScript is single-threaded, and nothing here yields.
let sH = 0;
let sTail = 0;
let sN = 0;
let sLen = 0;

/** Feeds the UTF-8 encoding of s (lone surrogates as U+FFFD, like TextEncoder). */
function writeString(s: string): void {
  let h = sH;
  let k = sTail;
  let n = sN;
  let len = sLen;
  const L = s.length;
  for (let i = 0; i < L; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      k |= c << (n << 3);
      len++;
      if (++n === 4) {
        h = mixBlock(h, k);
        k = 0;
        n = 0;
      }
      continue;
    }
    // Multi-byte: pack the bytes little-endian into `bytes`, count in `nb`.
    let bytes: number;
    let nb: number;
    if (c < 0x800) {
      bytes = (0xc0 | (c >>> 6)) | ((0x80 | (c & 0x3f)) << 8);
      nb = 2;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < L ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        bytes =
          (0xf0 | (cp >>> 18)) |
          ((0x80 | ((cp >>> 12) & 0x3f)) << 8) |
          ((0x80 | ((cp >>> 6) & 0x3f)) << 16) |
          ((0x80 | (cp & 0x3f)) << 24);
        nb = 4;
        i++;
      } else {
        c = 0xfffd; // lone surrogate: replacement character, as TextEncoder and Go do
        bytes = (0xe0 | (c >>> 12)) | ((0x80 | ((c >>> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
        nb = 3;
      }
    } else {
      bytes = (0xe0 | (c >>> 12)) | ((0x80 | ((c >>> 6) & 0x3f)) << 8) | ((0x80 | (c & 0x3f)) << 16);
      nb = 3;
    }
    len += nb;
    for (let j = 0; j < nb; j++) {
      k |= (bytes & 0xff) << (n << 3);
      bytes >>>= 8;
      if (++n === 4) {
        h = mixBlock(h, k);
        k = 0;
        n = 0;
      }
    }
  }
  sH = h;
  sTail = k;
  sN = n;
  sLen = len | 0;
}

function load(p: HashPrefix): void {
  sH = p.h;
  sTail = p.tail;
  sN = p.ntail;
  sLen = p.len;
}

function finish(): number {
  let h = sH;
  if (sN !== 0) {
    let k = Math.imul(sTail, C1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, C2);
  }
  return fmix(h, sLen);
}

/** MurmurHash3's final avalanche over the hash and the byte length. */
function fmix(h: number, len: number): number {
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Returns the hash state after the UTF-8 bytes of seed + ":". */
export function hashPrefix(seed: string): HashPrefix {
  load(EMPTY_PREFIX);
  writeString(seed);
  writeString(":");
  return Object.freeze({ h: sH, tail: sTail, ntail: sN, len: sLen });
}

/** MurmurHash3_x86_32 (seed 0) of the UTF-8 bytes of s. */
export function murmur3(s: string): number {
  load(EMPTY_PREFIX);
  writeString(s);
  return finish();
}

/** MurmurHash3_x86_32 (seed 0) of raw bytes (reference form, for tests). */
export function murmur3Bytes(bytes: Uint8Array): number {
  let h = 0;
  let i = 0;
  const n = bytes.length & ~3;
  for (; i < n; i += 4) {
    h = mixBlock(h, bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
  }
  let k = 0;
  switch (bytes.length & 3) {
    case 3:
      k ^= bytes[i + 2] << 16;
    // falls through
    case 2:
      k ^= bytes[i + 1] << 8;
    // falls through
    case 1: {
      k ^= bytes[i];
      k = Math.imul(k, C1);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, C2);
    }
  }
  return fmix(h, bytes.length);
}

/** Number of buckets; weights and traffic are basis points of it. */
export const BUCKETS = 10000;

function scale(h: number): number {
  return Math.floor((h * 10000) / 4294967296);
}

/** bucket(seed, id) = floor(murmur3(utf8(seed + ":" + id)) * 10000 / 2^32). */
export function bucket(seed: string, id: string): number {
  load(EMPTY_PREFIX);
  writeString(seed);
  writeString(":");
  writeString(id);
  return scale(finish());
}

/** bucket() continued from a precomputed prefix (the hot path; no allocation). */
export function bucketFrom(p: HashPrefix, s: string): number {
  load(p);
  writeString(s);
  return scale(finish());
}

// ---------------------------------------------------------------------------
// Compilation.

export const KIND_BOOLEAN = 0;
export const KIND_STRING = 1;
export const KIND_NUMBER = 2;
export const KIND_JSON = 3;

const KINDS: Record<string, number> = { boolean: KIND_BOOLEAN, string: KIND_STRING, number: KIND_NUMBER, json: KIND_JSON };

/** A validated flag with everything evaluation needs precomputed. Immutable. */
export interface CompiledFlag {
  readonly key: string;
  readonly kind: number;
  readonly enabled: boolean;
  readonly version: number;
  readonly variantKeys: readonly string[];
  readonly values: readonly unknown[];
  readonly isInt: readonly boolean[];
  readonly cum: Int32Array;
  readonly off: number;
  readonly static: number;
  readonly assignments: Map<string, number> | null;
  readonly rollout: HashPrefix;
  readonly experiment: boolean;
  readonly expKey: string;
  readonly expTraffic: number;
  readonly expHash: HashPrefix;
  readonly audience: readonly Clause[];
  /** Index of the variant served to experiment non-entrants. */
  readonly expOff: number;
  readonly layer: boolean;
  readonly layerStart: number;
  readonly layerEnd: number;
  readonly layerHash: HashPrefix;
  /** Prerequisites, linked to their flags by compileFlagSet. */
  readonly prereqs: Prereq[];
  readonly rules: readonly CompiledRule[];
  /** Rules or prerequisites: a 100% default rollout is DEFAULT, not STATIC. */
  readonly targeting: boolean;
  /** The wire definition (deep-frozen copy). */
  readonly def: Readonly<WireFlag>;
  /** Canonical JSON of def, to detect changes between revisions. */
  readonly fingerprint: string;
}

/** A compiled, immutable flag set. */
export interface Snapshot {
  readonly project: string;
  readonly environment: string;
  readonly revision: number;
  readonly flags: ReadonlyMap<string, CompiledFlag>;
  /** Wire segments of the set (deep-frozen), [] when none. */
  readonly segments: readonly WireSegment[];
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  project: "",
  environment: "",
  revision: 0,
  flags: new Map<string, CompiledFlag>(),
  segments: [],
});

const INT64_MIN = -9223372036854775808;
const INT64_LIMIT = 9223372036854775808;

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isIntIn(v: unknown, lo: number, hi: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return "[" + v.map(stableStringify).join(",") + "]";
  if (isObject(v)) {
    return (
      "{" +
      Object.keys(v)
        .sort()
        .filter((k) => v[k] !== undefined)
        .map((k) => JSON.stringify(k) + ":" + stableStringify(v[k]))
        .join(",") +
      "}"
    );
  }
  return JSON.stringify(v) ?? "null";
}

/** Validates one wire flag and precomputes its evaluation state. */
export function compileFlag(src: unknown, index = 0, segments: ReadonlyMap<string, CompiledSegment> = new Map()): CompiledFlag {
  if (!isObject(src)) throw new ValidationError("", `flags[${index}]`, "not an object");
  const key = src.key;
  if (typeof key !== "string" || key === "") throw new ValidationError("", `flags[${index}].key`, "empty flag key");
  const def = deepFreeze(JSON.parse(JSON.stringify(src)) as WireFlag);
  const bad = (field: string, msg: string) => new ValidationError(key, field, msg);

  const kind = typeof def.kind === "string" && Object.hasOwn(KINDS, def.kind) ? KINDS[def.kind] : -1;
  if (kind < 0) throw bad("kind", `unknown kind ${JSON.stringify(def.kind)}`);
  if (typeof def.salt !== "string" || def.salt === "") throw bad("salt", "empty salt");
  if (typeof def.enabled !== "boolean") throw bad("enabled", "not a boolean");
  if (def.version !== undefined && !isIntIn(def.version, -INT64_LIMIT, INT64_LIMIT)) throw bad("version", "not an integer");

  if (!Array.isArray(def.variants) || def.variants.length === 0) throw bad("variants", "no variants");
  const index0 = new Map<string, number>();
  const variantKeys: string[] = [];
  const values: unknown[] = [];
  const isInt: boolean[] = [];
  def.variants.forEach((v, i) => {
    if (!isObject(v) || typeof v.key !== "string" || v.key === "") throw bad(`variants[${i}].key`, "empty variant key");
    if (index0.has(v.key)) throw bad(`variants[${i}].key`, `duplicate variant key ${JSON.stringify(v.key)}`);
    if (!("value" in v) || v.value === undefined) throw bad(`variants[${i}].value`, `variant ${JSON.stringify(v.key)}: missing value`);
    const val = v.value;
    const ok =
      kind === KIND_JSON ||
      (kind === KIND_BOOLEAN && typeof val === "boolean") ||
      (kind === KIND_STRING && typeof val === "string") ||
      (kind === KIND_NUMBER && typeof val === "number" && Number.isFinite(val));
    if (!ok) throw bad(`variants[${i}].value`, `variant ${JSON.stringify(v.key)}: ${JSON.stringify(val)} is not a ${def.kind}`);
    index0.set(v.key, i);
    variantKeys.push(v.key);
    values.push(val);
    isInt.push(typeof val === "number" && Number.isInteger(val) && val >= INT64_MIN && val < INT64_LIMIT);
  });
  if (kind === KIND_BOOLEAN) {
    const on = index0.get("on");
    const off = index0.get("off");
    if (variantKeys.length !== 2 || on === undefined || off === undefined || values[on] !== true || values[off] !== false) {
      throw bad("variants", 'a boolean flag must have exactly the variants "off" (false) and "on" (true)');
    }
  }

  const off = typeof def.offVariant === "string" ? index0.get(def.offVariant) : undefined;
  if (off === undefined) throw bad("offVariant", `unknown variant ${JSON.stringify(def.offVariant)}`);

  const [cum, stat] = compileRollout(bad, "rollout", def.rollout, variantKeys, index0);

  let assignments: Map<string, number> | null = null;
  if (def.assignments != null) {
    if (!isObject(def.assignments)) throw bad("assignments", "not an object");
    for (const [user, variant] of Object.entries(def.assignments)) {
      if (user === "") throw bad("assignments", "empty user id");
      const i = typeof variant === "string" ? index0.get(variant) : undefined;
      if (i === undefined) throw bad("assignments", `user ${JSON.stringify(user)}: unknown variant ${JSON.stringify(variant)}`);
      (assignments ??= new Map()).set(user, i);
    }
  }

  let experiment = false;
  let expKey = "";
  let expTraffic = 0;
  let expHash = EMPTY_PREFIX;
  let audience: Clause[] = [];
  let expOff = off;
  let layer = false;
  let layerStart = 0;
  let layerEnd = 0;
  let layerHash = EMPTY_PREFIX;
  if (def.experiment != null) {
    const e = def.experiment;
    if (!isObject(e) || typeof e.key !== "string" || e.key === "") throw bad("experiment.key", "empty experiment key");
    if (!isIntIn(e.traffic, 0, BUCKETS)) throw bad("experiment.traffic", `traffic ${JSON.stringify(e.traffic)} outside 0..${BUCKETS}`);
    experiment = true;
    expKey = e.key;
    expTraffic = e.traffic;
    expHash = hashPrefix(def.salt + "." + e.key);
    if (e.audience != null) {
      if (!Array.isArray(e.audience)) throw bad("experiment.audience", "not an array");
      audience = compileClauses(bad, e.audience, segments, "experiment.audience", true, "");
    }
    if (e.fallback != null && e.fallback !== "") {
      const fb = typeof e.fallback === "string" ? index0.get(e.fallback) : undefined;
      if (fb === undefined) throw bad("experiment.fallback", `unknown variant ${JSON.stringify(e.fallback)}`);
      expOff = fb;
    }
    if (e.layer != null) {
      const l = e.layer;
      if (!isObject(l) || typeof l.key !== "string" || l.key === "") throw bad("experiment.layer.key", "empty layer key");
      if (!isIntIn(l.start, 0, BUCKETS) || !isIntIn(l.end, 0, BUCKETS) || l.start >= l.end) {
        throw bad("experiment.layer", `range [${JSON.stringify(l.start)}, ${JSON.stringify(l.end)}) is not within 0..${BUCKETS} and non-empty`);
      }
      layer = true;
      layerStart = l.start;
      layerEnd = l.end;
      layerHash = hashPrefix("layer." + l.key);
    }
  }

  const prereqs: Prereq[] = [];
  if (def.prerequisites != null) {
    if (!Array.isArray(def.prerequisites)) throw bad("prerequisites", "not an array");
    def.prerequisites.forEach((p, i) => {
      const field = `prerequisites[${i}]`;
      if (!isObject(p) || typeof p.flag !== "string" || p.flag === "") throw bad(field + ".flag", "empty flag key");
      if (p.flag === key) throw bad(field + ".flag", "a flag cannot be its own prerequisite");
      if (!Array.isArray(p.variants) || p.variants.length === 0) throw bad(field + ".variants", "no variants");
      prereqs.push({ key: p.flag, variants: p.variants.map(String), flag: null, ok: [] });
    });
  }

  const rules: CompiledRule[] = [];
  if (def.rules != null) {
    if (!Array.isArray(def.rules)) throw bad("rules", "not an array");
    if (def.rules.length > MAX_RULES) throw bad("rules", `${def.rules.length} rules, at most ${MAX_RULES} allowed`);
    const ids = new Set<string>();
    def.rules.forEach((r, i) => {
      const field = `rules[${i}]`;
      if (!isObject(r)) throw bad(field, "not an object");
      checkRuleId(bad, field + ".id", r.id, ids);
      const id = r.id as string;
      const clauses = compileClauses(bad, r.clauses, segments, field + ".clauses", false, `rule ${JSON.stringify(id)}: `);
      const hasVariant = r.variant !== undefined && r.variant !== "";
      const hasRollout = r.rollout !== undefined && r.rollout !== null;
      const bucketBy = r.bucketBy === undefined ? "" : r.bucketBy;
      let variant = -1;
      let rcum: Int32Array = new Int32Array(0);
      let rstat = -1;
      if (hasVariant && hasRollout) throw bad(field, `rule ${JSON.stringify(id)}: serves a variant and a rollout, want one`);
      if (hasVariant) {
        const vi = typeof r.variant === "string" ? index0.get(r.variant) : undefined;
        if (vi === undefined) throw bad(field + ".variant", `rule ${JSON.stringify(id)}: unknown variant ${JSON.stringify(r.variant)}`);
        if (bucketBy !== "") throw bad(field + ".bucketBy", `rule ${JSON.stringify(id)}: bucketBy needs a rollout`);
        variant = vi;
      } else if (hasRollout) {
        const ruleBad = (f: string, msg: string) => bad(f, `rule ${JSON.stringify(id)}: ${msg}`);
        [rcum, rstat] = compileRollout(ruleBad, field + ".rollout", r.rollout, variantKeys, index0);
        if (bucketBy !== "") {
          const err = checkAttribute(bucketBy);
          if (err) throw bad(field + ".bucketBy", `rule ${JSON.stringify(id)}: ${err}`);
        }
      } else {
        throw bad(field, `rule ${JSON.stringify(id)}: serves nothing (set variant or rollout)`);
      }
      rules.push({
        id,
        clauses,
        variant,
        cum: rcum,
        static: rstat,
        bucketBy: bucketBy as string,
        byKey: bucketBy === "" || bucketBy === TARGETING_KEY,
      });
    });
  }

  return Object.freeze({
    key,
    kind,
    enabled: def.enabled,
    version: typeof def.version === "number" ? def.version : 0,
    variantKeys: Object.freeze(variantKeys),
    values: Object.freeze(values),
    isInt: Object.freeze(isInt),
    cum,
    off,
    static: stat,
    assignments,
    rollout: hashPrefix(def.salt),
    experiment,
    expKey,
    expTraffic,
    expHash,
    audience,
    expOff,
    layer,
    layerStart,
    layerEnd,
    layerHash,
    prereqs,
    rules,
    targeting: rules.length > 0 || prereqs.length > 0,
    def,
    fingerprint: stableStringify(def),
  });
}

/**
 * Validates a flag set and returns an immutable snapshot. Throws a
 * ValidationError for a set that breaks any rule: the whole set is
 * rejected, as the Go Compile does.
 */
export function compileFlagSet(fs: unknown): Snapshot {
  if (!isObject(fs)) throw new ValidationError("", "", "flag set is not an object");
  const revision = fs.revision ?? 0;
  if (!isIntIn(revision, -INT64_LIMIT, INT64_LIMIT)) throw new ValidationError("", "revision", "not an integer");
  const list = fs.flags ?? [];
  if (!Array.isArray(list)) throw new ValidationError("", "flags", "not an array");
  const wireSegments = fs.segments ?? [];
  if (!Array.isArray(wireSegments)) throw new ValidationError("", "segments", "not an array");
  const segments = compileSegments(wireSegments);
  const flags = new Map<string, CompiledFlag>();
  list.forEach((f, i) => {
    const cf = compileFlag(f, i, segments);
    if (flags.has(cf.key)) throw new ValidationError(cf.key, "key", "duplicate flag key");
    flags.set(cf.key, cf);
  });
  resolvePrerequisites(flags);
  return Object.freeze({
    project: typeof fs.project === "string" ? fs.project : "",
    environment: typeof fs.environment === "string" ? fs.environment : "",
    revision,
    flags,
    segments: deepFreeze(JSON.parse(JSON.stringify(wireSegments)) as WireSegment[]),
  });
}

/** Returns the wire flag set of a snapshot (flags in key order). */
export function snapshotToFlagSet(s: Snapshot): FlagSet {
  const keys = [...s.flags.keys()].sort();
  return {
    project: s.project,
    environment: s.environment,
    revision: s.revision,
    flags: keys.map((k) => s.flags.get(k)!.def as WireFlag),
    ...(s.segments.length > 0 ? { segments: s.segments as WireSegment[] } : {}),
  };
}

// ---------------------------------------------------------------------------
// Evaluation. evaluateFlag returns (variantIndex << 3) | reasonCode so that the
// hot path allocates nothing.

export const R_DISABLED = 1;
export const R_TARGETING_MATCH = 2;
export const R_SPLIT = 3;
export const R_STATIC = 4;
export const R_DEFAULT = 5;
/** SPLIT inside a running experiment: the result carries the experiment key. */
export const R_EXPERIMENT = 6;

/** A prerequisite failed: the off variant is served. */
export const R_PREREQUISITE_FAILED = 7;

export const REASONS: readonly Reason[] = ["ERROR", "DISABLED", "TARGETING_MATCH", "SPLIT", "STATIC", "DEFAULT", "SPLIT", "PREREQUISITE_FAILED"];

function split(cf: CompiledFlag, userId: string): number {
  return walk(cf.cum, bucketFrom(cf.rollout, userId));
}

function walk(cum: Int32Array, b: number): number {
  const n = cum.length;
  for (let i = 0; i < n; i++) {
    if (cum[i] > b) return i;
  }
  return n - 1; // unreachable: the last cumulative weight is 10000
}

// Index of the rule that decided the last evaluateFlag call (-1: none).
// Module-level so the hot path allocates nothing; JavaScript is single-threaded.
let lastRule = -1;

/** Id of the rule that decided the most recent evaluateFlag(cf, ...) call, "" if none. */
export function lastRuleId(cf: CompiledFlag): string {
  return lastRule >= 0 && lastRule < cf.rules.length ? cf.rules[lastRule].id : "";
}

/**
 * Evaluation order of docs/evaluation.md for a targeting key and optional
 * attributes (a flat object; its own `targetingKey` property is ignored in
 * favour of userId). Returns (variantIndex << 3) | reasonCode.
 */
export function evaluateFlag(cf: CompiledFlag, userId: string, attrs: Attributes | null = null): number {
  if (!cf.enabled) {
    lastRule = -1;
    return (cf.off << 3) | R_DISABLED;
  }
  const prereqs = cf.prereqs;
  for (let i = 0; i < prereqs.length; i++) {
    const p = prereqs[i];
    if (!p.ok[evaluateFlag(p.flag!, userId, attrs) >>> 3]) {
      lastRule = -1;
      return (cf.off << 3) | R_PREREQUISITE_FAILED;
    }
  }
  lastRule = -1;
  if (userId !== "" && cf.assignments !== null) {
    const i = cf.assignments.get(userId);
    if (i !== undefined) return (i << 3) | R_TARGETING_MATCH;
  }
  const rules = cf.rules;
  for (let ri = 0; ri < rules.length; ri++) {
    const r = rules[ri];
    if (!matchAll(r.clauses, userId, attrs)) continue;
    lastRule = ri;
    if (r.variant >= 0) return (r.variant << 3) | R_TARGETING_MATCH;
    if (r.static >= 0) return (r.static << 3) | R_TARGETING_MATCH;
    const b = ruleBucket(cf, r, userId, attrs);
    if (b < 0) return (cf.off << 3) | R_DEFAULT;
    return (walk(r.cum, b) << 3) | R_SPLIT;
  }
  if (cf.experiment) {
    if (userId === "" || !matchAll(cf.audience, userId, attrs)) return (cf.expOff << 3) | R_DEFAULT;
    if (cf.layer) {
      const lb = bucketFrom(cf.layerHash, userId);
      if (lb < cf.layerStart || lb >= cf.layerEnd) return (cf.expOff << 3) | R_DEFAULT;
    }
    if (bucketFrom(cf.expHash, userId) >= cf.expTraffic) return (cf.expOff << 3) | R_DEFAULT;
    return (split(cf, userId) << 3) | R_EXPERIMENT;
  }
  if (cf.static >= 0) return (cf.static << 3) | (cf.targeting ? R_DEFAULT : R_STATIC);
  if (userId === "") return (cf.off << 3) | R_DEFAULT;
  return (split(cf, userId) << 3) | R_SPLIT;
}

/** Bucket for a rule's rollout, or -1 when there is nothing to bucket by. */
function ruleBucket(cf: CompiledFlag, r: CompiledRule, userId: string, attrs: Attributes | null): number {
  if (r.byKey) return userId === "" ? -1 : bucketFrom(cf.rollout, userId);
  const v = attrs === null ? undefined : ownAttr(attrs, r.bucketBy);
  if (typeof v === "string") return v === "" ? -1 : bucketFrom(cf.rollout, v);
  if (typeof v === "number" && Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER) {
    return bucketFrom(cf.rollout, String(v));
  }
  return -1;
}

/** Does the getter type accept the served value (rule 6)? */
export function typeMatches(cf: CompiledFlag, variant: number, type: ValueType): boolean {
  switch (type) {
    case "boolean":
      return cf.kind === KIND_BOOLEAN;
    case "string":
      return cf.kind === KIND_STRING;
    case "number":
      return cf.kind === KIND_NUMBER;
    case "integer":
      return cf.kind === KIND_NUMBER && cf.isInt[variant];
    case "json":
      return cf.kind === KIND_JSON;
    default:
      return false;
  }
}

/** Full evaluation with the typed-getter check, as a detail object. */
export function evaluateDetail<T>(
  s: Snapshot,
  key: string,
  userOrContext: string | EvaluationContext,
  type: ValueType,
  def: T,
): EvaluationDetail<T> {
  const cf = s.flags.get(key);
  if (cf === undefined) {
    return { value: def, variant: "", reason: "ERROR", errorCode: "FLAG_NOT_FOUND", experimentKey: "", flagVersion: 0, ruleId: "" };
  }
  const [userId, attrs] = splitContext(userOrContext);
  const r = evaluateFlag(cf, userId, attrs);
  const i = r >>> 3;
  if (!typeMatches(cf, i, type)) {
    return { value: def, variant: "", reason: "ERROR", errorCode: "TYPE_MISMATCH", experimentKey: "", flagVersion: cf.version, ruleId: "" };
  }
  return {
    value: cf.values[i] as T,
    variant: cf.variantKeys[i],
    reason: REASONS[r & 7],
    errorCode: "",
    experimentKey: (r & 7) === R_EXPERIMENT ? cf.expKey : "",
    flagVersion: cf.version,
    ruleId: lastRuleId(cf),
  };
}

/** Splits a user id or an OpenFeature context into (targeting key, attributes). */
export function splitContext(u: unknown): [string, Attributes | null] {
  if (typeof u === "string") return [u, null];
  if (u !== null && typeof u === "object" && !Array.isArray(u)) {
    const tk = (u as { targetingKey?: unknown }).targetingKey;
    return [typeof tk === "string" ? tk : "", u as Attributes];
  }
  return [u === null || u === undefined ? "" : String(u), null];
}

// ---------------------------------------------------------------------------
// Targeting: clauses, segments, rules, prerequisites (docs/evaluation.md).

/** Context attributes: a flat object. */
export type Attributes = Record<string, unknown>;

export const TARGETING_KEY = "targetingKey";
export const MAX_ATTRIBUTE_LEN = 256;
export const MAX_RULE_ID_LEN = 64;
export const MAX_RULES = 200;
export const MAX_CLAUSES = 32;
export const MAX_CLAUSE_VALUES = 10000;
export const MAX_SEGMENT_KEYS = 200000;
export const MAX_REGEX_LEN = 256;
const SMALL_STRING_SET = 8;

const OP_IN = 1,
  OP_CONTAINS = 2,
  OP_STARTS_WITH = 3,
  OP_ENDS_WITH = 4,
  OP_MATCHES = 5,
  OP_LT = 6,
  OP_LTE = 7,
  OP_GT = 8,
  OP_GTE = 9,
  OP_SEMVER_EQ = 10,
  OP_SEMVER_LT = 11,
  OP_SEMVER_LTE = 12,
  OP_SEMVER_GT = 13,
  OP_SEMVER_GTE = 14,
  OP_BEFORE = 15,
  OP_AFTER = 16,
  OP_IN_SEGMENT = 17,
  OP_EXISTS = 18;

const OPS: Record<string, number> = {
  in: OP_IN,
  equals: OP_IN,
  contains: OP_CONTAINS,
  starts_with: OP_STARTS_WITH,
  ends_with: OP_ENDS_WITH,
  matches: OP_MATCHES,
  lt: OP_LT,
  lte: OP_LTE,
  gt: OP_GT,
  gte: OP_GTE,
  semver_eq: OP_SEMVER_EQ,
  semver_lt: OP_SEMVER_LT,
  semver_lte: OP_SEMVER_LTE,
  semver_gt: OP_SEMVER_GT,
  semver_gte: OP_SEMVER_GTE,
  before: OP_BEFORE,
  after: OP_AFTER,
  in_segment: OP_IN_SEGMENT,
  exists: OP_EXISTS,
};

/** Every clause operator. */
export const OPERATORS: readonly string[] = Object.freeze(Object.keys(OPS));

/** A parsed semantic version; pre is "" when none. */
interface Semver {
  major: number;
  minor: number;
  patch: number;
  pre: string;
}

/** A compiled clause. */
export interface Clause {
  readonly attr: string;
  readonly isKey: boolean;
  readonly op: number;
  readonly negate: boolean;
  readonly strSet: Set<string> | null;
  readonly strs: readonly string[];
  readonly nums: readonly number[];
  readonly hasTrue: boolean;
  readonly hasFalse: boolean;
  readonly res: readonly RegExp[];
  readonly vers: readonly Semver[];
  readonly segs: readonly CompiledSegment[];
}

export interface CompiledSegment {
  readonly key: string;
  readonly included: Set<string> | null;
  readonly excluded: Set<string> | null;
  readonly rules: readonly (readonly Clause[])[];
}

export interface CompiledRule {
  readonly id: string;
  readonly clauses: readonly Clause[];
  readonly variant: number;
  readonly cum: Int32Array;
  readonly static: number;
  readonly bucketBy: string;
  readonly byKey: boolean;
}

export interface Prereq {
  readonly key: string;
  readonly variants: readonly string[];
  flag: CompiledFlag | null;
  ok: boolean[];
}

type Bad = (field: string, msg: string) => ValidationError;

/** An own attribute value; prototype properties never count. */
function ownAttr(attrs: Attributes, name: string): unknown {
  const v = attrs[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  return Object.hasOwn(attrs, name) ? v : undefined;
}

function segmentContains(s: CompiledSegment, userId: string, attrs: Attributes | null): boolean {
  if (userId !== "") {
    if (s.excluded !== null && s.excluded.has(userId)) return false;
    if (s.included !== null && s.included.has(userId)) return true;
  }
  const rules = s.rules;
  for (let i = 0; i < rules.length; i++) {
    if (matchAll(rules[i], userId, attrs)) return true;
  }
  return false;
}

function matchAll(cs: readonly Clause[], userId: string, attrs: Attributes | null): boolean {
  for (let i = 0; i < cs.length; i++) {
    if (!matchClause(cs[i], userId, attrs)) return false;
  }
  return true;
}

/** A missing attribute never matches, negated or not; exists and in_segment excepted. */
function matchClause(c: Clause, userId: string, attrs: Attributes | null): boolean {
  if (c.op === OP_IN_SEGMENT) {
    const segs = c.segs;
    for (let i = 0; i < segs.length; i++) {
      if (segmentContains(segs[i], userId, attrs)) return !c.negate;
    }
    return c.negate;
  }
  if (c.op === OP_EXISTS) {
    const present = c.isKey ? userId !== "" : attrs !== null && ownAttr(attrs, c.attr) !== undefined;
    return present !== c.negate;
  }
  if (c.isKey) {
    if (userId === "") return false;
    return matchString(c, userId) !== c.negate;
  }
  if (attrs === null) return false;
  const v = ownAttr(attrs, c.attr);
  if (v === undefined) return false;
  return matchValue(c, v) !== c.negate;
}

function matchValue(c: Clause, v: unknown): boolean {
  if (typeof v === "string") return matchString(c, v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (e !== null && e !== undefined && !Array.isArray(e) && matchScalar(c, e)) return true;
    }
    return false;
  }
  return matchScalar(c, v);
}

function matchScalar(c: Clause, v: unknown): boolean {
  switch (typeof v) {
    case "string":
      return matchString(c, v);
    case "number":
      return matchNumber(c, v);
    case "boolean":
      return c.op === OP_IN && (v ? c.hasTrue : c.hasFalse);
  }
  if (v instanceof Date && (c.op === OP_BEFORE || c.op === OP_AFTER)) return matchDate(c, v.getTime() / 1000);
  return false;
}

function matchString(c: Clause, s: string): boolean {
  switch (c.op) {
    case OP_IN: {
      if (c.strSet !== null) return c.strSet.has(s);
      const strs = c.strs;
      for (let i = 0; i < strs.length; i++) if (strs[i] === s) return true;
      return false;
    }
    case OP_CONTAINS:
      for (let i = 0; i < c.strs.length; i++) if (s.includes(c.strs[i])) return true;
      return false;
    case OP_STARTS_WITH:
      for (let i = 0; i < c.strs.length; i++) if (s.startsWith(c.strs[i])) return true;
      return false;
    case OP_ENDS_WITH:
      for (let i = 0; i < c.strs.length; i++) if (s.endsWith(c.strs[i])) return true;
      return false;
    case OP_MATCHES:
      for (let i = 0; i < c.res.length; i++) if (c.res[i].test(s)) return true;
      return false;
    case OP_SEMVER_EQ:
    case OP_SEMVER_LT:
    case OP_SEMVER_LTE:
    case OP_SEMVER_GT:
    case OP_SEMVER_GTE: {
      const v = parseSemver(s);
      if (v === null) return false;
      for (let i = 0; i < c.vers.length; i++) if (cmpHolds(c.op, compareSemver(v, c.vers[i]))) return true;
      return false;
    }
    case OP_BEFORE:
    case OP_AFTER: {
      const d = parseRFC3339(s);
      return d === null ? false : matchDate(c, d);
    }
  }
  return false;
}

function matchNumber(c: Clause, f: number): boolean {
  switch (c.op) {
    case OP_IN:
      for (let i = 0; i < c.nums.length; i++) if (c.nums[i] === f) return true;
      return false;
    case OP_LT:
    case OP_LTE:
    case OP_GT:
    case OP_GTE:
      for (let i = 0; i < c.nums.length; i++) {
        const x = c.nums[i];
        if (cmpHolds(c.op, f < x ? -1 : f > x ? 1 : f === x ? 0 : 2)) return true;
      }
      return false;
    case OP_BEFORE:
    case OP_AFTER:
      return matchDate(c, f);
  }
  return false;
}

function matchDate(c: Clause, d: number): boolean {
  for (let i = 0; i < c.nums.length; i++) {
    const x = c.nums[i];
    if ((c.op === OP_BEFORE && d < x) || (c.op === OP_AFTER && d > x)) return true;
  }
  return false;
}

function cmpHolds(op: number, c: number): boolean {
  switch (op) {
    case OP_LT:
    case OP_SEMVER_LT:
      return c === -1;
    case OP_LTE:
    case OP_SEMVER_LTE:
      return c === -1 || c === 0;
    case OP_GT:
    case OP_SEMVER_GT:
      return c === 1;
    case OP_GTE:
    case OP_SEMVER_GTE:
      return c === 1 || c === 0;
    case OP_SEMVER_EQ:
      return c === 0;
  }
  return false;
}

// --- dates ------------------------------------------------------------------

function digitsAt(s: string, i: number, n: number): number {
  if (i < 0 || i + n > s.length) return -1;
  let v = 0;
  for (let j = i; j < i + n; j++) {
    const c = s.charCodeAt(j) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function daysFromCivil(y: number, m: number, d: number): number {
  if (m <= 2) y--;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** RFC 3339 date-time to Unix seconds, exactly as the Go reference (null if invalid). */
export function parseRFC3339(s: string): number | null {
  if (s.length < 20) return null;
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  const hour = digitsAt(s, 11, 2);
  const minute = digitsAt(s, 14, 2);
  const sec = digitsAt(s, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || sec < 0) return null;
  const t = s[10];
  if (s[4] !== "-" || s[7] !== "-" || (t !== "T" && t !== "t") || s[13] !== ":" || s[16] !== ":") return null;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59) return null;
  let i = 19;
  let frac = 0;
  let nfrac = 0;
  if (s[i] === ".") {
    i++;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) {
      if (nfrac === 9) return null;
      frac = frac * 10 + (s.charCodeAt(i) - 48);
      nfrac++;
      i++;
    }
    if (nfrac === 0) return null;
  }
  if (i >= s.length) return null;
  let offset = 0;
  const z = s[i];
  if (z === "Z" || z === "z") {
    i++;
  } else if (z === "+" || z === "-") {
    const oh = digitsAt(s, i + 1, 2);
    const om = digitsAt(s, i + 4, 2);
    if (oh < 0 || om < 0 || s[i + 3] !== ":" || oh > 23 || om > 59) return null;
    offset = oh * 3600 + om * 60;
    if (z === "-") offset = -offset;
    i += 6;
  } else {
    return null;
  }
  if (i !== s.length) return null;
  const secs = daysFromCivil(year, month, day) * 86400 + (hour * 3600 + minute * 60 + sec - offset);
  return secs + frac / 10 ** nfrac;
}

// --- semver -----------------------------------------------------------------

function numericIdentifier(s: string): number {
  if (s.length === 0 || s.length > 15 || (s.length > 1 && s[0] === "0")) return -1;
  let x = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

function validIdentifiers(s: string, pre: boolean): boolean {
  if (s === "") return false;
  const ids = s.split(".");
  for (const id of ids) {
    if (id === "") return false;
    let allDigits = true;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c >= 48 && c <= 57) continue;
      if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 45) allDigits = false;
      else return false;
    }
    if (pre && allDigits && numericIdentifier(id) < 0) return false;
  }
  return true;
}

/** Semantic version (minor and patch optional), or null. */
function parseSemver(s: string): Semver | null {
  let end = s.length;
  const plus = s.indexOf("+");
  if (plus >= 0) {
    if (!validIdentifiers(s.slice(plus + 1), false)) return null;
    end = plus;
  }
  let core = s.slice(0, end);
  let pre = "";
  const dash = core.indexOf("-");
  if (dash >= 0) {
    pre = core.slice(dash + 1);
    if (!validIdentifiers(pre, true)) return null;
    core = core.slice(0, dash);
  }
  const parts = core.split(".");
  if (parts.length > 3) return null;
  const nums = [0, 0, 0];
  for (let i = 0; i < parts.length; i++) {
    const x = numericIdentifier(parts[i]);
    if (x < 0) return null;
    nums[i] = x;
  }
  return { major: nums[0], minor: nums[1], patch: nums[2], pre };
}

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareSemver(a: Semver, b: Semver): number {
  let c = cmpNum(a.major, b.major) || cmpNum(a.minor, b.minor) || cmpNum(a.patch, b.patch);
  if (c !== 0) return c;
  if (a.pre === b.pre) return 0;
  if (a.pre === "") return 1;
  if (b.pre === "") return -1;
  const x = a.pre.split(".");
  const y = b.pre.split(".");
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const nx = numericIdentifier(x[i]);
    const ny = numericIdentifier(y[i]);
    if (nx >= 0 && ny >= 0) c = cmpNum(nx, ny);
    else if (nx >= 0) return -1;
    else if (ny >= 0) return 1;
    else c = x[i] < y[i] ? -1 : x[i] > y[i] ? 1 : 0;
    if (c !== 0) return c;
  }
  return cmpNum(x.length, y.length);
}

// --- regex ------------------------------------------------------------------

const SYNTAX_ESCAPES = "^$\\.*+?()[]{}|/dDwWnrtfv";

/** Same portable-subset check as the Go reference; returns an error message or "". */
export function portableRegex(p: string): string {
  let inClass = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      if (i + 1 === p.length) return "trailing backslash";
      const e = p[++i];
      if (SYNTAX_ESCAPES.includes(e)) continue;
      if (e === "b" || e === "B") {
        if (inClass) return `\\${e} inside a character class is not portable`;
        continue;
      }
      if (e === "-") {
        if (!inClass) return "\\- outside a character class is not portable";
        continue;
      }
      return `escape \\${e} is not portable`;
    } else if (c === "[") {
      if (inClass) return p[i + 1] === ":" ? "POSIX character classes are not portable" : "unescaped [ inside a character class is not portable";
      inClass = true;
      if (p[i + 1] === "^") i++;
      if (p[i + 1] === "]") return "a character class starting with ] is not portable";
    } else if (c === "]") {
      if (!inClass) return "unescaped ] outside a character class";
      inClass = false;
    } else if (c === "(") {
      if (!inClass && p[i + 1] === "?") {
        if (p[i + 2] === ":") {
          i += 2;
          continue;
        }
        return 'only "(?:" groups are portable';
      }
    } else if (c === "{") {
      if (inClass) continue;
      let j = i + 1;
      let n1 = 0;
      let v1 = 0;
      while (j < p.length && p[j] >= "0" && p[j] <= "9" && n1 < 5) {
        v1 = v1 * 10 + (p.charCodeAt(j) - 48);
        j++;
        n1++;
      }
      let v2 = 0;
      if (n1 > 0 && p[j] === ",") {
        j++;
        for (let n2 = 0; j < p.length && p[j] >= "0" && p[j] <= "9" && n2 < 5; n2++) {
          v2 = v2 * 10 + (p.charCodeAt(j) - 48);
          j++;
        }
      }
      if (n1 === 0 || j >= p.length || p[j] !== "}") return "{ must start a {n}, {n,} or {n,m} quantifier (escape a literal brace)";
      if (v1 > 1000 || v2 > 1000) return "repeat counts above 1000 are not allowed";
      i = j;
    } else if (c === "}") {
      if (!inClass) return "unescaped } (escape a literal brace)";
    }
  }
  return inClass ? "unterminated character class" : "";
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

function compileRegex(p: string): RegExp | string {
  const n = utf8Length(p);
  if (n > MAX_REGEX_LEN) return `pattern is ${n} bytes long, at most ${MAX_REGEX_LEN} allowed`;
  const err = portableRegex(p);
  if (err) return err;
  try {
    return new RegExp(p, "su");
  } catch (e) {
    return `invalid pattern: ${(e as Error).message}`;
  }
}

// --- compilation ------------------------------------------------------------

function checkAttribute(name: unknown): string {
  if (typeof name !== "string" || name === "") return "empty attribute name";
  const n = utf8Length(name);
  if (n > MAX_ATTRIBUTE_LEN) return `attribute name is ${n} bytes long, at most ${MAX_ATTRIBUTE_LEN} allowed`;
  return "";
}

function checkRuleId(bad: Bad, field: string, id: unknown, seen: Set<string>): void {
  if (typeof id !== "string" || id === "") throw bad(field, "empty rule id");
  const n = utf8Length(id);
  if (n > MAX_RULE_ID_LEN) throw bad(field, `rule id is ${n} bytes long, at most ${MAX_RULE_ID_LEN} allowed`);
  if (seen.has(id)) throw bad(field, `duplicate rule id ${JSON.stringify(id)}`);
  seen.add(id);
}

function compileRollout(bad: Bad, field: string, rollout: unknown, variantKeys: string[], index: Map<string, number>): [Int32Array, number] {
  if (!Array.isArray(rollout) || rollout.length !== variantKeys.length) {
    throw bad(field, `has ${Array.isArray(rollout) ? rollout.length : 0} entries, want one per variant (${variantKeys.length})`);
  }
  const cum = new Int32Array(rollout.length);
  let sum = 0;
  let stat = -1;
  rollout.forEach((w, i) => {
    if (!isObject(w) || typeof w.variant !== "string" || !index.has(w.variant)) {
      throw bad(`${field}[${i}].variant`, `unknown variant ${JSON.stringify(isObject(w) ? w.variant : w)}`);
    }
    if (w.variant !== variantKeys[i]) throw bad(`${field}[${i}].variant`, `variant ${JSON.stringify(w.variant)} out of order, want ${JSON.stringify(variantKeys[i])}`);
    if (!isIntIn(w.weight, 0, BUCKETS)) throw bad(`${field}[${i}].weight`, `weight ${JSON.stringify(w.weight)} outside 0..${BUCKETS}`);
    sum += w.weight;
    cum[i] = sum;
    if (w.weight === BUCKETS) stat = i;
  });
  if (sum !== BUCKETS) throw bad(field, `weights sum to ${sum}, want ${BUCKETS}`);
  return [cum, stat];
}

/** Compiles one clause; segments === null forbids in_segment. Returns the clause or an error message. */
function compileClause(src: unknown, segments: ReadonlyMap<string, CompiledSegment> | null): Clause | string {
  if (!isObject(src)) return "not an object";
  const opName = src.op;
  const op = typeof opName === "string" && Object.hasOwn(OPS, opName) ? OPS[opName] : 0;
  if (op === 0) return `unknown operator ${JSON.stringify(opName)}`;
  const attr = src.attribute === undefined ? "" : src.attribute;
  if (op === OP_IN_SEGMENT) {
    if (attr !== "") return "in_segment takes no attribute";
  } else {
    const err = checkAttribute(attr);
    if (err) return err;
  }
  if (src.negate !== undefined && typeof src.negate !== "boolean") return "negate is not a boolean";
  const values = src.values == null ? [] : src.values;
  if (!Array.isArray(values)) return "values is not an array";
  const n = values.length;
  const c = {
    attr: attr as string,
    isKey: attr === TARGETING_KEY,
    op,
    negate: src.negate === true,
    strSet: null as Set<string> | null,
    strs: [] as string[],
    nums: [] as number[],
    hasTrue: false,
    hasFalse: false,
    res: [] as RegExp[],
    vers: [] as Semver[],
    segs: [] as CompiledSegment[],
  };
  if (op === OP_EXISTS) {
    if (n !== 0) return "exists takes no values";
    return c;
  }
  if (n === 0) return "no values";
  if (n > MAX_CLAUSE_VALUES) return `${n} values, at most ${MAX_CLAUSE_VALUES} allowed (use a segment)`;
  if (opName === "equals" && n !== 1) return `equals takes exactly one value, got ${n}`;
  if (op === OP_IN_SEGMENT && segments === null) return "segment rules cannot use in_segment";
  const strs: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const t = typeof v;
    if (!(t === "string" || t === "boolean" || (t === "number" && Number.isFinite(v)))) {
      return t === "number" ? `values[${i}]: number ${JSON.stringify(v)} out of range` : `values[${i}]: ${JSON.stringify(v)} is not a string, number or boolean`;
    }
    const bad = (want: string) => `values[${i}]: ${opName} needs ${want}, got ${JSON.stringify(v)}`;
    switch (op) {
      case OP_IN:
        if (t === "string") strs.push(v as string);
        else if (t === "number") c.nums.push(v as number);
        else if (v) c.hasTrue = true;
        else c.hasFalse = true;
        break;
      case OP_CONTAINS:
      case OP_STARTS_WITH:
      case OP_ENDS_WITH:
        if (t !== "string") return bad("a string");
        c.strs.push(v as string);
        break;
      case OP_MATCHES: {
        if (t !== "string") return bad("a string");
        const re = compileRegex(v as string);
        if (typeof re === "string") return `values[${i}]: ${re}`;
        c.res.push(re);
        break;
      }
      case OP_LT:
      case OP_LTE:
      case OP_GT:
      case OP_GTE:
        if (t !== "number") return bad("a number");
        c.nums.push(v as number);
        break;
      case OP_SEMVER_EQ:
      case OP_SEMVER_LT:
      case OP_SEMVER_LTE:
      case OP_SEMVER_GT:
      case OP_SEMVER_GTE: {
        if (t !== "string") return bad("a version string");
        const sv = parseSemver(v as string);
        if (sv === null) return `values[${i}]: ${JSON.stringify(v)} is not a semantic version`;
        c.vers.push(sv);
        break;
      }
      case OP_BEFORE:
      case OP_AFTER: {
        if (t === "number") c.nums.push(v as number);
        else if (t === "string") {
          const d = parseRFC3339(v as string);
          if (d === null) return `values[${i}]: ${JSON.stringify(v)} is not an RFC 3339 date-time`;
          c.nums.push(d);
        } else return bad("an RFC 3339 date-time or Unix seconds");
        break;
      }
      case OP_IN_SEGMENT: {
        if (t !== "string") return bad("a segment key");
        const seg = segments!.get(v as string);
        if (seg === undefined) return `values[${i}]: unknown segment ${JSON.stringify(v)}`;
        c.segs.push(seg);
        break;
      }
    }
  }
  if (op === OP_IN) {
    if (strs.length > SMALL_STRING_SET) c.strSet = new Set(strs);
    else c.strs = strs;
  }
  return c;
}

function compileClauses(
  bad: Bad,
  src: unknown,
  segments: ReadonlyMap<string, CompiledSegment> | null,
  field: string,
  allowEmpty: boolean,
  prefix: string,
): Clause[] {
  if (src != null && !Array.isArray(src)) throw bad(field, prefix + "clauses is not an array");
  const list = (src ?? []) as unknown[];
  if (list.length === 0 && !allowEmpty) throw bad(field, prefix + "no clauses");
  if (list.length > MAX_CLAUSES) throw bad(field, `${prefix}${list.length} clauses, at most ${MAX_CLAUSES} allowed`);
  return list.map((cs, j) => {
    const c = compileClause(cs, segments);
    if (typeof c === "string") throw bad(`${field}[${j}]`, prefix + c);
    return c;
  });
}

function idSet(ids: unknown): Set<string> | null | string {
  if (ids == null) return null;
  if (!Array.isArray(ids)) return "not an array";
  if (ids.length === 0) return null;
  if (ids.length > MAX_SEGMENT_KEYS) return `${ids.length} ids, at most ${MAX_SEGMENT_KEYS} allowed`;
  const set = new Set<string>();
  for (const id of ids) {
    if (typeof id !== "string" || id === "") return "empty id";
    set.add(id);
  }
  return set;
}

function compileSegments(src: unknown[]): Map<string, CompiledSegment> {
  const out = new Map<string, CompiledSegment>();
  src.forEach((sg, i) => {
    if (!isObject(sg) || typeof sg.key !== "string" || sg.key === "") throw new ValidationError("", `segments[${i}].key`, "empty segment key");
    const key = sg.key;
    const bad: Bad = (f, msg) => new ValidationError("", f, msg, key);
    if (out.has(key)) throw bad("key", "duplicate segment key");
    const included = idSet(sg.included);
    if (typeof included === "string") throw bad("included", included);
    const excluded = idSet(sg.excluded);
    if (typeof excluded === "string") throw bad("excluded", excluded);
    const rules: Clause[][] = [];
    if (sg.rules != null) {
      if (!Array.isArray(sg.rules)) throw bad("rules", "not an array");
      if (sg.rules.length > MAX_RULES) throw bad("rules", `${sg.rules.length} rules, at most ${MAX_RULES} allowed`);
      const ids = new Set<string>();
      sg.rules.forEach((r: unknown, j: number) => {
        const rf = `rules[${j}]`;
        if (!isObject(r)) throw bad(rf, "not an object");
        checkRuleId(bad, rf + ".id", r.id, ids);
        const id = JSON.stringify(r.id);
        if ((r.variant !== undefined && r.variant !== "") || r.rollout != null || (r.bucketBy !== undefined && r.bucketBy !== "")) {
          throw bad(rf, `rule ${id}: a segment rule serves nothing (no variant, rollout or bucketBy)`);
        }
        rules.push(compileClauses(bad, r.clauses, null, rf + ".clauses", false, `rule ${id}: `));
      });
    }
    out.set(key, { key, included, excluded, rules });
  });
  return out;
}

/** Links prerequisites to their flags; refuses unknown flags/variants and cycles. */
function resolvePrerequisites(flags: Map<string, CompiledFlag>): void {
  const keys = [...flags.keys()].sort();
  for (const key of keys) {
    const cf = flags.get(key)!;
    cf.prereqs.forEach((p, i) => {
      const field = `prerequisites[${i}]`;
      const pf = flags.get(p.key);
      if (pf === undefined) throw new ValidationError(key, field + ".flag", `unknown flag ${JSON.stringify(p.key)}`);
      p.flag = pf;
      p.ok = pf.variantKeys.map(() => false);
      p.variants.forEach((v, j) => {
        const idx = pf.variantKeys.indexOf(v);
        if (idx < 0) throw new ValidationError(key, `${field}.variants[${j}]`, `flag ${JSON.stringify(p.key)} has no variant ${JSON.stringify(v)}`);
        p.ok[idx] = true;
      });
    });
  }
  const state = new Map<CompiledFlag, number>();
  const visit = (cf: CompiledFlag, path: string[]): void => {
    const st = state.get(cf);
    if (st === 1) throw new ValidationError(path[0], "prerequisites", `cycle ${[...path, cf.key].join(" -> ")}`);
    if (st === 2) return;
    state.set(cf, 1);
    for (const p of cf.prereqs) visit(p.flag!, [...path, cf.key]);
    state.set(cf, 2);
  };
  for (const key of keys) visit(flags.get(key)!, []);
}
