// @waypost/browser: evaluated flags for one user context via the provider's
// OFREP bulk endpoint (POST /ofrep/v1/evaluate/flags) with a client key.
// Rules never reach the browser. Live updates come from the OFREP change
// stream (eventStreams, `refetchEvaluation`), re-fetched with If-None-Match.
// Values are cached in localStorage per provider + context, and can be
// bootstrapped from server-side rendering.

/** OpenFeature evaluation context; `targetingKey` is the user id. */
export interface EvaluationContext {
  targetingKey?: string;
  [attribute: string]: unknown;
}

/** One evaluated flag as OFREP returns it (success or error entry). */
export interface FlagResult {
  key: string;
  value?: unknown;
  variant?: string;
  reason?: string;
  errorCode?: string;
  errorDetails?: string;
  metadata?: Record<string, unknown>;
}

/** Evaluated values for SSR: an OFREP bulk response body, e.g. @waypost/node's `evaluateAll(userId)`. */
export interface Bootstrap {
  flags: FlagResult[];
}

export type ValueType = "boolean" | "string" | "number" | "integer" | "json";

export interface EvaluationDetail<T> {
  value: T;
  variant: string;
  reason: string;
  errorCode: string;
  /** Set when the provider reports the user inside a running experiment. */
  experimentKey: string;
  flagVersion: number;
  /** Id of the targeting rule that decided (the provider's metadata.ruleId), "" if none. */
  ruleId: string;
}

/** Where the values currently served came from. */
export type Source = "none" | "bootstrap" | "cache" | "network";

export interface ChangeEvent {
  /** Keys whose value, variant, reason or error changed (sorted). */
  keys: string[];
  source: Source;
}

export interface Logger {
  warn(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
}

export interface WaypostBrowserOptions {
  /** Provider base URL, e.g. https://flags.example.com. */
  baseUrl: string;
  /** Client SDK key (`wpc_...`). */
  clientKey: string;
  /** Initial context. */
  context?: EvaluationContext;
  /** Evaluated values from server-side rendering: served before anything else. */
  bootstrap?: Bootstrap;
  /** Persistent cache; default `localStorage` when available, `null` disables. */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  /** How many contexts to keep cached per browser. Default 10. */
  cacheEntries?: number;
  /** Open the change stream (default true). */
  stream?: boolean;
  /** Start fetching at once (default: true when `window` exists, i.e. not during SSR). */
  autoStart?: boolean;
  logger?: Logger;
  fetch?: typeof fetch;
  EventSource?: typeof EventSource;
  /** Retry backoff after failed fetches: full jitter up to min(maxMs, initialMs * 2^n). */
  backoff?: { initialMs?: number; maxMs?: number };
}

type Listener<T> = (arg: T) => void;

export class WaypostAuthError extends Error {
  constructor(readonly status: number) {
    super(`waypost: OFREP ${status}: ${status === 401 ? "unknown or revoked client key" : "forbidden"}`);
    this.name = "WaypostAuthError";
  }
}

const PREFIX = "waypost:v1:";

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return "[" + v.map(stableStringify).join(",") + "]";
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return (
      "{" +
      Object.keys(o)
        .filter((k) => o[k] !== undefined)
        .sort()
        .map((k) => JSON.stringify(k) + ":" + stableStringify(o[k]))
        .join(",") +
      "}"
    );
  }
  return JSON.stringify(v) ?? "null";
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function sameResult(a: FlagResult, b: FlagResult): boolean {
  return stableStringify(a) === stableStringify(b);
}

/** Checks an evaluated entry against a getter type and returns the detail. */
export function resolveFlag<T>(entry: FlagResult | undefined, def: T, type: ValueType, ready = true): EvaluationDetail<T> {
  if (entry === undefined) {
    return { value: def, variant: "", reason: "ERROR", errorCode: ready ? "FLAG_NOT_FOUND" : "PROVIDER_NOT_READY", experimentKey: "", flagVersion: 0, ruleId: "" };
  }
  const version = typeof entry.metadata?.version === "number" ? entry.metadata.version : 0;
  if (entry.errorCode || !("value" in entry)) {
    return { value: def, variant: "", reason: "ERROR", errorCode: entry.errorCode || "GENERAL", experimentKey: "", flagVersion: version, ruleId: "" };
  }
  const v = entry.value;
  const ok =
    type === "json" ||
    (type === "boolean" && typeof v === "boolean") ||
    (type === "string" && typeof v === "string") ||
    (type === "number" && typeof v === "number") ||
    (type === "integer" && typeof v === "number" && Number.isInteger(v) && Math.abs(v) <= 9223372036854775807);
  if (!ok) return { value: def, variant: "", reason: "ERROR", errorCode: "TYPE_MISMATCH", experimentKey: "", flagVersion: version, ruleId: "" };
  const exp = entry.metadata?.experimentKey;
  const rule = entry.metadata?.ruleId;
  return {
    value: v as T,
    variant: entry.variant ?? "",
    reason: entry.reason ?? "STATIC",
    errorCode: "",
    experimentKey: typeof exp === "string" ? exp : "",
    flagVersion: version,
    ruleId: typeof rule === "string" ? rule : "",
  };
}

/** The getter type that matches a default value (for React hooks). */
export function typeOfDefault(def: unknown): ValueType {
  switch (typeof def) {
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "number":
      return "number";
    default:
      return "json";
  }
}

/**
 * Waypost browser client. Evaluations are synchronous and never throw:
 * before any value is known they return the caller's default.
 */
export class WaypostBrowserClient {
  private readonly baseUrl: string;
  private readonly opts: WaypostBrowserOptions;
  private readonly log: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  private ctx: EvaluationContext;
  private flags = new Map<string, FlagResult>();
  private etag = "";
  private _source: Source = "none";
  private seq = 0;
  private inflight: Promise<void> | null = null;
  private es: EventSource | null = null;
  private esUrl = "";
  private esOpened = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private started = false;
  private closed = false;
  private failed: Error | null = null;
  private readonly listeners = new Set<Listener<ChangeEvent>>();
  private readonly errorListeners = new Set<Listener<Error>>();
  private readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private netReady = false;

  constructor(options: WaypostBrowserOptions) {
    this.opts = options;
    this.baseUrl = String(options.baseUrl ?? "").replace(/\/+$/, "");
    this.log = options.logger ?? { warn: (m, ...a) => console.warn("[waypost] " + m, ...a), error: (m, ...a) => console.error("[waypost] " + m, ...a) };
    this.fetchFn = options.fetch ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
    this.storage = options.storage !== undefined ? options.storage : safeLocalStorage();
    this.ctx = { ...(options.context ?? {}) };
    this.readyPromise = new Promise<void>((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.readyPromise.catch(() => {});
    if (options.bootstrap) this.bootstrap(options.bootstrap);
    else this.loadCache();
    if (options.autoStart ?? typeof window !== "undefined") this.start();
  }

  // ------------------------------------------------------------ public API

  /** Starts fetching (automatic in browsers unless autoStart is false). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.refetch(true);
  }

  /** Resolves when the provider has answered once for the current context; rejects on 401/403 or close(). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  get context(): EvaluationContext {
    return { ...this.ctx };
  }

  /** Where the served values come from. */
  get source(): Source {
    return this._source;
  }

  /**
   * Serves SSR values (an OFREP bulk body) until the network answers. Ignored
   * once the provider has answered.
   */
  bootstrap(b: Bootstrap): void {
    if (this.netReady || !b || !Array.isArray(b.flags)) return;
    this.replace(b.flags, "bootstrap");
  }

  /** Switches user: serves that context's cached values (if any), then fetches. */
  async setContext(ctx: EvaluationContext): Promise<void> {
    this.ctx = { ...ctx };
    this.seq++;
    this.etag = "";
    this.netReady = false;
    if (!this.loadCache()) this.replace([], "none");
    if (!this.started || this.closed) return;
    await this.refetch(true);
  }

  getBoolean(key: string, def: boolean): boolean {
    return this.detail(key, def, "boolean").value;
  }
  getString(key: string, def: string): string {
    return this.detail(key, def, "string").value;
  }
  getNumber(key: string, def: number): number {
    return this.detail(key, def, "number").value;
  }
  getInteger(key: string, def: number): number {
    return this.detail(key, def, "integer").value;
  }
  getJSON<T = unknown>(key: string, def: T): T {
    return this.detail(key, def, "json").value;
  }
  getBooleanDetail(key: string, def: boolean): EvaluationDetail<boolean> {
    return this.detail(key, def, "boolean");
  }
  getStringDetail(key: string, def: string): EvaluationDetail<string> {
    return this.detail(key, def, "string");
  }
  getNumberDetail(key: string, def: number): EvaluationDetail<number> {
    return this.detail(key, def, "number");
  }
  getIntegerDetail(key: string, def: number): EvaluationDetail<number> {
    return this.detail(key, def, "integer");
  }
  getJSONDetail<T = unknown>(key: string, def: T): EvaluationDetail<T> {
    return this.detail(key, def, "json");
  }

  detail<T>(key: string, def: T, type: ValueType): EvaluationDetail<T> {
    try {
      return resolveFlag(this.flags.get(key), def, type, this._source !== "none");
    } catch {
      return { value: def, variant: "", reason: "ERROR", errorCode: "GENERAL", experimentKey: "", flagVersion: 0, ruleId: "" };
    }
  }

  /** The raw evaluated entry of a flag; the same object until that flag changes. */
  getFlag(key: string): FlagResult | undefined {
    return this.flags.get(key);
  }

  /** Keys of all evaluated flags. */
  keys(): string[] {
    return [...this.flags.keys()].sort();
  }

  /** Listens for changed keys; returns an unsubscribe function. */
  on(event: "change", fn: Listener<ChangeEvent>): () => void;
  on(event: "error", fn: Listener<Error>): () => void;
  on(event: "change" | "error", fn: Listener<never>): () => void {
    const set = (event === "change" ? this.listeners : this.errorListeners) as Set<Listener<never>>;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Stops the stream and retries; served values stay. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.es?.close();
    this.es = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.rejectReady(new Error("waypost: client closed"));
  }

  // -------------------------------------------------------------- internals

  private cacheKey(ctx = this.ctx): string {
    return PREFIX + fnv1a(this.baseUrl + "|" + this.opts.clientKey) + ":" + stableStringify(ctx);
  }

  /** Loads cached values for the current context; true if found. */
  private loadCache(): boolean {
    if (!this.storage) return false;
    try {
      const raw = this.storage.getItem(this.cacheKey());
      if (!raw) return false;
      const c = JSON.parse(raw) as { etag?: string; flags?: FlagResult[] };
      if (!Array.isArray(c.flags)) return false;
      this.etag = typeof c.etag === "string" ? c.etag : "";
      this.replace(c.flags, "cache");
      return true;
    } catch {
      return false;
    }
  }

  private saveCache(): void {
    if (!this.storage) return;
    try {
      const key = this.cacheKey();
      this.storage.setItem(key, JSON.stringify({ etag: this.etag, flags: [...this.flags.values()], savedAt: Date.now() }));
      const indexKey = PREFIX + "index";
      let index: string[] = [];
      try {
        index = JSON.parse(this.storage.getItem(indexKey) ?? "[]");
        if (!Array.isArray(index)) index = [];
      } catch {
        index = [];
      }
      index = [key, ...index.filter((k) => k !== key)];
      const max = this.opts.cacheEntries ?? 10;
      for (const old of index.slice(max)) this.storage.removeItem(old);
      this.storage.setItem(indexKey, JSON.stringify(index.slice(0, max)));
    } catch (e) {
      this.log.warn("could not write the flag cache", e);
    }
  }

  /** Replaces all entries, keeping the object of each unchanged flag, and notifies. */
  private replace(list: FlagResult[], source: Source): void {
    const next = new Map<string, FlagResult>();
    const changed: string[] = [];
    for (const f of list) {
      if (!f || typeof f.key !== "string") continue;
      const old = this.flags.get(f.key);
      if (old !== undefined && sameResult(old, f)) next.set(f.key, old);
      else {
        next.set(f.key, Object.freeze({ ...f }));
        changed.push(f.key);
      }
    }
    for (const k of this.flags.keys()) if (!next.has(k)) changed.push(k);
    this.flags = next;
    const sourceChanged = this._source !== source;
    this._source = source;
    if (changed.length === 0 && !sourceChanged) return;
    const ev: ChangeEvent = { keys: changed.sort(), source };
    for (const fn of [...this.listeners]) {
      try {
        fn(ev);
      } catch (e) {
        this.log.warn("change listener threw", e);
      }
    }
  }

  private emitError(e: Error): void {
    for (const fn of [...this.errorListeners]) {
      try {
        fn(e);
      } catch {
        /* ignore */
      }
    }
  }

  /** Fetches the bulk evaluation; concurrent calls for the same context share one request. */
  private refetch(useEtag: boolean): Promise<void> {
    if (this.closed || this.failed) return Promise.resolve();
    if (this.inflight) {
      // One more fetch after the current one, so that a change notified
      // while a request was in flight is not missed.
      const after = this.inflight.then(() => this.refetch(useEtag));
      return after;
    }
    const p = this.doFetch(useEtag).finally(() => {
      if (this.inflight === p) this.inflight = null;
    });
    this.inflight = p;
    return p;
  }

  private async doFetch(useEtag: boolean): Promise<void> {
    const seq = this.seq;
    const ctx = this.ctx;
    const headers: Record<string, string> = { "Content-Type": "application/json", Authorization: `Bearer ${this.opts.clientKey}` };
    if (useEtag && this.etag) headers["If-None-Match"] = this.etag;
    let res: Response;
    try {
      res = await this.fetchFn(`${this.baseUrl}/ofrep/v1/evaluate/flags`, {
        method: "POST",
        headers,
        body: JSON.stringify({ context: ctx }),
        cache: "no-store",
      });
    } catch (e) {
      this.retryLater(e as Error);
      return;
    }
    if (seq !== this.seq || this.closed) return; // context changed meanwhile
    if (res.status === 401 || res.status === 403) {
      const err = new WaypostAuthError(res.status);
      this.failed = err;
      this.log.error(err.message);
      this.es?.close();
      this.rejectReady(err);
      this.emitError(err);
      return;
    }
    if (res.status === 304) {
      this.attempt = 0;
      this.markReady(this._source === "cache" ? "network" : this._source);
      return;
    }
    if (res.status !== 200) {
      this.retryLater(new Error(`waypost: OFREP bulk evaluation: HTTP ${res.status}`));
      return;
    }
    let body: { flags?: FlagResult[]; eventStreams?: EventStreamEntry[] };
    try {
      body = await res.json();
    } catch (e) {
      this.retryLater(e as Error);
      return;
    }
    if (seq !== this.seq || this.closed) return;
    this.attempt = 0;
    this.etag = res.headers.get("etag") ?? "";
    this.replace(Array.isArray(body.flags) ? body.flags : [], "network");
    this.saveCache();
    this.markReady("network");
    const url = (body.eventStreams ?? []).map(streamUrl).find((u) => u !== "");
    if (url) this.openStream(url);
  }

  private markReady(source: Source): void {
    this._source = source === "none" ? "network" : source;
    this.netReady = true;
    this.resolveReady();
  }

  private retryLater(err: Error): void {
    if (this.closed) return;
    this.log.warn(`flag fetch failed, serving ${this._source === "none" ? "defaults" : this._source + " values"}: ${err.message}`);
    this.emitError(err);
    if (this.retryTimer) return;
    const cap = Math.min(this.opts.backoff?.maxMs ?? 30000, (this.opts.backoff?.initialMs ?? 1000) * 2 ** Math.min(this.attempt++, 30));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.refetch(true);
    }, Math.floor(Math.random() * cap));
  }

  private openStream(rawUrl: string): void {
    if (this.opts.stream === false || this.closed) return;
    const ES = this.opts.EventSource ?? (typeof EventSource !== "undefined" ? EventSource : undefined);
    if (!ES) return;
    const u = new URL(rawUrl, this.baseUrl + "/");
    if (!u.searchParams.has("sdk_key")) u.searchParams.set("sdk_key", this.opts.clientKey);
    const url = u.toString();
    if (this.es && this.esUrl === url && this.es.readyState !== 2) return;
    this.es?.close();
    this.esUrl = url;
    this.esOpened = false;
    const es = new ES(url);
    this.es = es;
    es.onopen = () => {
      // After any reconnect, re-fetch in full (changes may have been missed).
      if (this.esOpened) void this.refetch(false);
      this.esOpened = true;
    };
    es.onmessage = (ev: MessageEvent) => {
      try {
        const d = JSON.parse(String(ev.data));
        if (d && d.type === "refetchEvaluation") void this.refetch(true);
      } catch {
        /* not ours */
      }
    };
  }
}

/** An OFREP eventStreams entry (ADR-0008): an absolute url, or an endpoint resolved against the base URL. */
interface EventStreamEntry {
  type?: string;
  url?: string;
  endpoint?: { origin?: string; requestUri?: string };
}

/** The SSE URL of an entry ("" when it is not an SSE stream we can open); openStream resolves relative ones. */
function streamUrl(s: EventStreamEntry | null | undefined): string {
  if (!s || s.type !== "sse") return "";
  if (typeof s.url === "string" && s.url !== "") return s.url;
  const uri = s.endpoint?.requestUri;
  if (typeof uri !== "string" || uri === "") return "";
  return typeof s.endpoint?.origin === "string" && s.endpoint.origin !== "" ? new URL(uri, s.endpoint.origin).toString() : uri;
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage !== "undefined" ? localStorage : null;
  } catch {
    return null; // e.g. disabled cookies
  }
}
