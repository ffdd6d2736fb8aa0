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
  experiment?: { key: string; traffic: number } | null;
}

/** One environment's flag set as sent by the provider. */
export interface FlagSet {
  project: string;
  environment: string;
  revision: number;
  flags: WireFlag[];
}

/** OpenFeature resolution reasons used by Waypost. */
export type Reason = "ERROR" | "DISABLED" | "TARGETING_MATCH" | "SPLIT" | "STATIC" | "DEFAULT";
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
}

/** Thrown by compileFlagSet for a flag set that breaks the wire rules. */
export class ValidationError extends Error {
  readonly flag: string;
  readonly field: string;
  constructor(flag: string, field: string, msg: string) {
    super(flag ? `flag ${JSON.stringify(flag)}: ${field}: ${msg}` : field ? `${field}: ${msg}` : msg);
    this.name = "ValidationError";
    this.flag = flag;
    this.field = field;
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
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  project: "",
  environment: "",
  revision: 0,
  flags: new Map<string, CompiledFlag>(),
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
export function compileFlag(src: unknown, index = 0): CompiledFlag {
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

  if (!Array.isArray(def.rollout) || def.rollout.length !== variantKeys.length) {
    throw bad("rollout", `has ${Array.isArray(def.rollout) ? def.rollout.length : 0} entries, want one per variant (${variantKeys.length})`);
  }
  const cum = new Int32Array(def.rollout.length);
  let sum = 0;
  let stat = -1;
  def.rollout.forEach((w, i) => {
    if (!isObject(w) || typeof w.variant !== "string" || !index0.has(w.variant)) {
      throw bad(`rollout[${i}].variant`, `unknown variant ${JSON.stringify(isObject(w) ? w.variant : w)}`);
    }
    if (w.variant !== variantKeys[i]) throw bad(`rollout[${i}].variant`, `variant ${JSON.stringify(w.variant)} out of order, want ${JSON.stringify(variantKeys[i])}`);
    if (!isIntIn(w.weight, 0, BUCKETS)) throw bad(`rollout[${i}].weight`, `weight ${JSON.stringify(w.weight)} outside 0..${BUCKETS}`);
    sum += w.weight;
    cum[i] = sum;
    if (w.weight === BUCKETS) stat = i;
  });
  if (sum !== BUCKETS) throw bad("rollout", `weights sum to ${sum}, want ${BUCKETS}`);

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
  if (def.experiment != null) {
    const e = def.experiment;
    if (!isObject(e) || typeof e.key !== "string" || e.key === "") throw bad("experiment.key", "empty experiment key");
    if (!isIntIn(e.traffic, 0, BUCKETS)) throw bad("experiment.traffic", `traffic ${JSON.stringify(e.traffic)} outside 0..${BUCKETS}`);
    experiment = true;
    expKey = e.key;
    expTraffic = e.traffic;
    expHash = hashPrefix(def.salt + "." + e.key);
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
  const flags = new Map<string, CompiledFlag>();
  list.forEach((f, i) => {
    const cf = compileFlag(f, i);
    if (flags.has(cf.key)) throw new ValidationError(cf.key, "key", "duplicate flag key");
    flags.set(cf.key, cf);
  });
  return Object.freeze({
    project: typeof fs.project === "string" ? fs.project : "",
    environment: typeof fs.environment === "string" ? fs.environment : "",
    revision,
    flags,
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

export const REASONS: readonly Reason[] = ["ERROR", "DISABLED", "TARGETING_MATCH", "SPLIT", "STATIC", "DEFAULT", "SPLIT"];

function split(cf: CompiledFlag, userId: string): number {
  const b = bucketFrom(cf.rollout, userId);
  const cum = cf.cum;
  const n = cum.length;
  for (let i = 0; i < n; i++) {
    if (cum[i] > b) return i;
  }
  return n - 1; // unreachable: the last cumulative weight is 10000
}

/** Evaluation order rules 2..5 of docs/evaluation.md. */
export function evaluateFlag(cf: CompiledFlag, userId: string): number {
  if (!cf.enabled) return (cf.off << 3) | R_DISABLED;
  if (userId !== "" && cf.assignments !== null) {
    const i = cf.assignments.get(userId);
    if (i !== undefined) return (i << 3) | R_TARGETING_MATCH;
  }
  if (cf.experiment) {
    if (userId === "" || bucketFrom(cf.expHash, userId) >= cf.expTraffic) return (cf.off << 3) | R_DEFAULT;
    return (split(cf, userId) << 3) | R_EXPERIMENT;
  }
  if (cf.static >= 0) return (cf.static << 3) | R_STATIC;
  if (userId === "") return (cf.off << 3) | R_DEFAULT;
  return (split(cf, userId) << 3) | R_SPLIT;
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
export function evaluateDetail<T>(s: Snapshot, key: string, userId: string, type: ValueType, def: T): EvaluationDetail<T> {
  const cf = s.flags.get(key);
  if (cf === undefined) {
    return { value: def, variant: "", reason: "ERROR", errorCode: "FLAG_NOT_FOUND", experimentKey: "", flagVersion: 0 };
  }
  const r = evaluateFlag(cf, userId);
  const i = r >>> 3;
  if (!typeMatches(cf, i, type)) {
    return { value: def, variant: "", reason: "ERROR", errorCode: "TYPE_MISMATCH", experimentKey: "", flagVersion: cf.version };
  }
  return {
    value: cf.values[i] as T,
    variant: cf.variantKeys[i],
    reason: REASONS[r & 7],
    errorCode: "",
    experimentKey: (r & 7) === R_EXPERIMENT ? cf.expKey : "",
    flagVersion: cf.version,
  };
}
