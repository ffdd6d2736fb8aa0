import {
  compileFlagSet,
  evaluateFlag,
  typeMatches,
  EMPTY_SNAPSHOT,
  KIND_BOOLEAN,
  KIND_JSON,
  KIND_NUMBER,
  KIND_STRING,
  R_EXPERIMENT,
  REASONS,
  type CompiledFlag,
  type EvaluationDetail,
  type Snapshot,
  type ValueType,
  type WireFlag,
} from "./eval.js";
import { SSEParser, type SSEEvent } from "./sse.js";

/** Sent to the exposure hook the first time a user is evaluated inside an experiment. */
export interface ExposureEvent {
  flagKey: string;
  experimentKey: string;
  userId: string;
  variant: string;
  value: unknown;
  flagVersion: number;
  /** Milliseconds since the epoch (from the client's clock). */
  timestamp: number;
}

/** Emitted after a new flag set revision replaced the previous one. */
export interface ChangeEvent {
  /** Keys of flags added, changed or removed (sorted). */
  keys: string[];
  revision: number;
}

export type ConnectionState = "connecting" | "streaming" | "disconnected" | "failed" | "closed";

export interface Logger {
  debug?(msg: string, ...args: unknown[]): void;
  warn(msg: string, ...args: unknown[]): void;
  error(msg: string, ...args: unknown[]): void;
}

/** Timer functions, injectable for tests. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WaypostClientOptions {
  /** Server SDK key (`wps_...`). */
  sdkKey: string;
  /** Provider base URL. Default http://127.0.0.1:8081. */
  baseUrl?: string;
  /** Called once per user + experiment when an evaluation puts a user in an experiment. */
  onExposure?: (e: ExposureEvent) => void;
  /** How many user+experiment pairs the exposure dedupe remembers (FIFO). Default 100000. */
  exposureCacheSize?: number;
  /** Use the stream (default true). With false the client fetches /v1/flags once. */
  stream?: boolean;
  logger?: Logger;
  /** Injectable for tests. */
  fetch?: typeof fetch;
  timers?: Timers;
  random?: () => number;
  now?: () => number;
  /** Reconnect backoff: full jitter between 0 and min(maxMs, initialMs * 2^attempt). */
  backoff?: { initialMs?: number; maxMs?: number; resetAfterMs?: number };
  /** Reconnect when the stream sends no bytes for this long. Default 45000. */
  heartbeatTimeoutMs?: number;
  /** Timeout of GET /v1/flags and of the stream's response headers. Default 30000. */
  requestTimeoutMs?: number;
}

type Listener<T> = (arg: T) => void;

/** A final error: the key is unknown, revoked or not allowed (401/403). Not retried. */
export class WaypostAuthError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
    this.name = "WaypostAuthError";
  }
}

class RetryableError extends Error {}
class ReconnectSignal extends Error {}

const defaultLogger: Logger = {
  warn: (m, ...a) => console.warn("[waypost] " + m, ...a),
  error: (m, ...a) => console.error("[waypost] " + m, ...a),
};

const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function toUserId(u: unknown): string {
  if (typeof u === "string") return u;
  if (u === null || u === undefined) return "";
  if (typeof u === "object" && typeof (u as { targetingKey?: unknown }).targetingKey === "string") {
    return (u as { targetingKey: string }).targetingKey;
  }
  return String(u);
}

/**
 * Waypost server SDK: keeps the environment's flag set in sync with the
 * provider (GET /v1/flags, then the SSE stream) and evaluates locally.
 * Evaluations never throw and never wait for the network.
 */
export class WaypostClient {
  private snap: Snapshot = EMPTY_SNAPSHOT;
  private hasData = false;
  private etag = "";
  private readonly baseUrl: string;
  private readonly opts: WaypostClientOptions;
  private readonly log: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private readonly heartbeatMs: number;
  private readonly requestTimeoutMs: number;
  private readonly exposureLimit: number;
  private readonly exposed = new Map<string, true>();
  private readonly changeListeners = new Set<Listener<ChangeEvent>>();
  private readonly errorListeners = new Set<Listener<Error>>();
  private readonly stateListeners = new Set<Listener<ConnectionState>>();
  private _state: ConnectionState = "connecting";
  private closed = false;
  private abort: AbortController | null = null;
  private sleepTimer: unknown = null;
  private sleepResolve: (() => void) | null = null;
  private attempt = 0;
  private readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private rejectReady!: (e: Error) => void;
  private finalError: Error | null = null;

  constructor(options: WaypostClientOptions) {
    this.opts = options;
    this.baseUrl = (options.baseUrl ?? "http://127.0.0.1:8081").replace(/\/+$/, "");
    this.log = options.logger ?? defaultLogger;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timers = options.timers ?? realTimers;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.initialMs = options.backoff?.initialMs ?? 1000;
    this.maxMs = options.backoff?.maxMs ?? 30000;
    this.resetAfterMs = options.backoff?.resetAfterMs ?? 60000;
    this.heartbeatMs = options.heartbeatTimeoutMs ?? 45000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30000;
    this.exposureLimit = options.exposureCacheSize ?? 100000;
    this.readyPromise = new Promise<void>((res, rej) => {
      this.resolveReady = res;
      this.rejectReady = rej;
    });
    this.readyPromise.catch(() => {}); // a client nobody awaits must not crash the process
    if (!options.sdkKey) {
      this.fail(new WaypostAuthError("waypost: no sdkKey given", 0, "unauthorized"));
    } else {
      void this.run();
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /** Resolves once the first flag set is loaded; rejects on a final error (401/403, revoked key) or close(). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** True once a flag set has been loaded. */
  get initialized(): boolean {
    return this.hasData;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** Revision of the flag set in use (0 before the first one). */
  get revision(): number {
    return this.snap.revision;
  }

  /** The compiled flag set in use (immutable). */
  get snapshot(): Snapshot {
    return this.snap;
  }

  /** Stops syncing. Evaluations keep working on the last flag set. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort?.abort();
    this.wake();
    this.setState("closed");
    this.rejectReady(new Error("waypost: client closed"));
  }

  /** Listens for flag set changes; returns an unsubscribe function. */
  on(event: "change", fn: Listener<ChangeEvent>): () => void;
  /** Listens for errors (rejected flag sets, connection failures); returns an unsubscribe function. */
  on(event: "error", fn: Listener<Error>): () => void;
  on(event: "state", fn: Listener<ConnectionState>): () => void;
  on(event: "change" | "error" | "state", fn: Listener<never>): () => void {
    const set = (event === "change" ? this.changeListeners : event === "error" ? this.errorListeners : this.stateListeners) as Set<
      Listener<never>
    >;
    set.add(fn);
    return () => set.delete(fn);
  }

  // --------------------------------------------------------------- evaluation

  /** Boolean flag value for the user, or def (never throws). */
  getBoolean(key: string, userId: string, def: boolean): boolean {
    return this.get(key, userId, def, KIND_BOOLEAN) as boolean;
  }

  getString(key: string, userId: string, def: string): string {
    return this.get(key, userId, def, KIND_STRING) as string;
  }

  /** Number flag value (floating point). */
  getNumber(key: string, userId: string, def: number): number {
    return this.get(key, userId, def, KIND_NUMBER) as number;
  }

  /** Number flag value if the served value is integral, else def (TYPE_MISMATCH). */
  getInteger(key: string, userId: string, def: number): number {
    return this.get(key, userId, def, -1) as number;
  }

  /** JSON flag value. The returned value is deeply frozen and shared. */
  getJSON<T = unknown>(key: string, userId: string, def: T): T {
    return this.get(key, userId, def, KIND_JSON) as T;
  }

  getBooleanDetail(key: string, userId: string, def: boolean): EvaluationDetail<boolean> {
    return this.detail(key, userId, def, "boolean");
  }
  getStringDetail(key: string, userId: string, def: string): EvaluationDetail<string> {
    return this.detail(key, userId, def, "string");
  }
  getNumberDetail(key: string, userId: string, def: number): EvaluationDetail<number> {
    return this.detail(key, userId, def, "number");
  }
  getIntegerDetail(key: string, userId: string, def: number): EvaluationDetail<number> {
    return this.detail(key, userId, def, "integer");
  }
  getJSONDetail<T = unknown>(key: string, userId: string, def: T): EvaluationDetail<T> {
    return this.detail(key, userId, def, "json");
  }

  /** Evaluation with value, variant, reason, errorCode, experimentKey and flagVersion. */
  detail<T>(key: string, userId: string, def: T, type: ValueType): EvaluationDetail<T> {
    try {
      const uid = toUserId(userId);
      const cf = this.snap.flags.get(key);
      if (cf === undefined) {
        return { value: def, variant: "", reason: "ERROR", errorCode: "FLAG_NOT_FOUND", experimentKey: "", flagVersion: 0 };
      }
      const r = evaluateFlag(cf, uid);
      const i = r >>> 3;
      if (!typeMatches(cf, i, type)) {
        return { value: def, variant: "", reason: "ERROR", errorCode: "TYPE_MISMATCH", experimentKey: "", flagVersion: cf.version };
      }
      const exp = (r & 7) === R_EXPERIMENT;
      if (exp) this.expose(cf, uid, i);
      return {
        value: cf.values[i] as T,
        variant: cf.variantKeys[i],
        reason: REASONS[r & 7],
        errorCode: "",
        experimentKey: exp ? cf.expKey : "",
        flagVersion: cf.version,
      };
    } catch (e) {
      this.emitError(e);
      return { value: def, variant: "", reason: "ERROR", errorCode: "FLAG_NOT_FOUND", experimentKey: "", flagVersion: 0 };
    }
  }

  /**
   * Evaluates every flag for one user, in the shape of an OFREP bulk response
   * (`{flags:[{key,value,variant,reason,metadata}]}`): pass it as `bootstrap`
   * to @waypost/browser or <WaypostProvider> for server-side rendering. It
   * carries evaluated values only, never rules. It fires no exposures.
   */
  evaluateAll(userId: string): {
    flags: { key: string; value: unknown; variant: string; reason: string; metadata: { version: number; experimentKey?: string } }[];
  } {
    const uid = toUserId(userId);
    const flags = [];
    for (const cf of this.snap.flags.values()) {
      const r = evaluateFlag(cf, uid);
      const i = r >>> 3;
      const metadata: { version: number; experimentKey?: string } = { version: cf.version };
      if ((r & 7) === R_EXPERIMENT) metadata.experimentKey = cf.expKey;
      flags.push({ key: cf.key, value: cf.values[i], variant: cf.variantKeys[i], reason: REASONS[r & 7], metadata });
    }
    flags.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { flags };
  }

  // Hot path of the typed getters: no allocation unless an exposure fires.
  private get(key: string, userId: unknown, def: unknown, kind: number): unknown {
    try {
      const cf = this.snap.flags.get(key);
      if (cf === undefined) return def;
      const uid = typeof userId === "string" ? userId : toUserId(userId);
      const r = evaluateFlag(cf, uid);
      const i = r >>> 3;
      if (kind < 0) {
        if (cf.kind !== KIND_NUMBER || !cf.isInt[i]) return def;
      } else if (cf.kind !== kind) {
        return def;
      }
      if ((r & 7) === R_EXPERIMENT) this.expose(cf, uid, i);
      return cf.values[i];
    } catch (e) {
      this.emitError(e);
      return def;
    }
  }

  private expose(cf: CompiledFlag, userId: string, i: number): void {
    const hook = this.opts.onExposure;
    if (!hook) return;
    const k = cf.expKey + "\u0000" + userId;
    if (this.exposed.has(k)) return;
    this.exposed.set(k, true);
    if (this.exposed.size > this.exposureLimit) {
      const oldest = this.exposed.keys().next().value;
      if (oldest !== undefined) this.exposed.delete(oldest);
    }
    try {
      hook({
        flagKey: cf.key,
        experimentKey: cf.expKey,
        userId,
        variant: cf.variantKeys[i],
        value: cf.values[i],
        flagVersion: cf.version,
        timestamp: this.now(),
      });
    } catch (e) {
      this.log.warn("exposure hook threw", e);
    }
  }

  // ------------------------------------------------------------- flag updates

  /** Installs a new snapshot and notifies listeners of the changed keys. */
  private install(next: Snapshot): void {
    const prev = this.snap;
    const first = !this.hasData;
    this.snap = next;
    this.hasData = true;
    if (first) {
      this.resolveReady();
      return;
    }
    const keys: string[] = [];
    for (const [k, cf] of next.flags) {
      const old = prev.flags.get(k);
      if (old === undefined || old.fingerprint !== cf.fingerprint) keys.push(k);
    }
    for (const k of prev.flags.keys()) if (!next.flags.has(k)) keys.push(k);
    if (keys.length === 0) return;
    keys.sort();
    const ev: ChangeEvent = { keys, revision: next.revision };
    for (const fn of [...this.changeListeners]) {
      try {
        fn(ev);
      } catch (e) {
        this.log.warn("change listener threw", e);
      }
    }
  }

  /** Applies a full flag set unless it is older than ours. Invalid sets are rejected whole. */
  private applyPut(raw: unknown): void {
    const rev = (raw as { revision?: unknown })?.revision;
    if (this.hasData && typeof rev === "number" && rev < this.snap.revision) return;
    let next: Snapshot;
    try {
      next = compileFlagSet(raw);
    } catch (e) {
      this.emitError(e, "rejected flag set (keeping the previous one)");
      return;
    }
    this.install(next);
  }

  /** Applies a patch; throws ReconnectSignal when it does not apply to the revision we hold. */
  private applyPatch(raw: unknown): void {
    const p = raw as { revision?: unknown; baseRevision?: unknown; flags?: unknown; deleted?: unknown };
    if (typeof p?.revision !== "number" || typeof p.baseRevision !== "number") {
      throw new ReconnectSignal("malformed patch");
    }
    if (this.hasData && p.revision <= this.snap.revision) return; // old news
    if (!this.hasData || p.baseRevision !== this.snap.revision) {
      throw new ReconnectSignal(`patch base revision ${p.baseRevision} != held revision ${this.snap.revision}`);
    }
    const byKey = new Map<string, WireFlag>();
    for (const [k, cf] of this.snap.flags) byKey.set(k, cf.def as WireFlag);
    if (Array.isArray(p.deleted)) for (const k of p.deleted) byKey.delete(String(k));
    if (Array.isArray(p.flags)) {
      for (const f of p.flags as WireFlag[]) {
        if (f && typeof f.key === "string") byKey.set(f.key, f);
      }
    }
    let next: Snapshot;
    try {
      next = compileFlagSet({
        project: this.snap.project,
        environment: this.snap.environment,
        revision: p.revision,
        flags: [...byKey.values()],
      });
    } catch (e) {
      this.emitError(e, "rejected patch (keeping the previous flag set)");
      return;
    }
    this.install(next);
  }

  // --------------------------------------------------------------- connection

  private headers(extra?: Record<string, string>): Record<string, string> {
    return { Authorization: `Bearer ${this.opts.sdkKey}`, "User-Agent": "waypost-node", ...extra };
  }

  private setState(s: ConnectionState): void {
    if (this._state === s) return;
    this._state = s;
    for (const fn of [...this.stateListeners]) {
      try {
        fn(s);
      } catch {
        /* ignore */
      }
    }
  }

  private emitError(e: unknown, context?: string): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (context) this.log.warn(`${context}: ${err.message}`);
    for (const fn of [...this.errorListeners]) {
      try {
        fn(err);
      } catch {
        /* ignore */
      }
    }
  }

  private fail(err: Error): void {
    this.finalError = err;
    this.log.error(err.message);
    this.setState("failed");
    this.rejectReady(err);
    this.emitError(err);
  }

  /** Computes the next reconnect delay: full jitter over min(max, initial * 2^attempt). */
  nextBackoffMs(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * cap);
  }

  private async run(): Promise<void> {
    while (!this.closed && this.finalError === null) {
      let connectedAt = -1;
      try {
        this.setState(this.hasData ? "disconnected" : "connecting");
        await this.fetchFlags();
        if (this.opts.stream === false) return;
        await this.stream(() => {
          connectedAt = this.now();
          this.setState("streaming");
        });
      } catch (e) {
        if (this.closed) return;
        if (e instanceof WaypostAuthError) {
          this.fail(e);
          return;
        }
        const msg = e instanceof Error ? e.message : String(e);
        this.log.debug?.(`connection ended: ${msg}`);
        if (!(e instanceof ReconnectSignal)) this.emitError(e);
      }
      if (this.closed) return;
      this.setState("disconnected");
      if (connectedAt >= 0 && this.now() - connectedAt >= this.resetAfterMs) this.attempt = 0;
      await this.sleep(this.nextBackoffMs());
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepResolve = resolve;
      this.sleepTimer = this.timers.setTimeout(() => this.wake(), ms);
    });
  }

  private wake(): void {
    if (this.sleepTimer !== null) this.timers.clearTimeout(this.sleepTimer);
    this.sleepTimer = null;
    const r = this.sleepResolve;
    this.sleepResolve = null;
    r?.();
  }

  private checkStatus(res: Response, what: string): void {
    if (res.status === 401 || res.status === 403) {
      throw new WaypostAuthError(
        `waypost: ${what}: ${res.status} ${res.status === 401 ? "unauthorized (unknown or revoked key)" : "forbidden (not a server key?)"}`,
        res.status,
        res.status === 401 ? "unauthorized" : "forbidden",
      );
    }
    if (res.status !== 200 && res.status !== 304) throw new RetryableError(`waypost: ${what}: HTTP ${res.status}`);
  }

  private async fetchFlags(): Promise<void> {
    const ac = new AbortController();
    this.abort = ac;
    const t = this.timers.setTimeout(() => ac.abort(new Error("request timeout")), this.requestTimeoutMs);
    try {
      const res = await this.fetchFn(`${this.baseUrl}/v1/flags`, {
        headers: this.headers(this.etag ? { "If-None-Match": this.etag } : {}),
        signal: ac.signal,
      });
      this.checkStatus(res, "GET /v1/flags");
      if (res.status === 304) {
        await res.body?.cancel();
        return;
      }
      const body = await res.json();
      if (this.closed) return;
      this.applyPut(body);
      const etag = res.headers.get("etag");
      if (etag && this.snap.revision === (body as { revision?: number }).revision) this.etag = etag;
    } finally {
      this.timers.clearTimeout(t);
    }
  }

  private async stream(onConnected: () => void): Promise<void> {
    const ac = new AbortController();
    this.abort = ac;
    let watchdog: unknown = null;
    const arm = () => {
      if (watchdog !== null) this.timers.clearTimeout(watchdog);
      watchdog = this.timers.setTimeout(() => ac.abort(new ReconnectSignal("heartbeat timeout")), this.heartbeatMs);
    };
    const headerTimer = this.timers.setTimeout(() => ac.abort(new Error("request timeout")), this.requestTimeoutMs);
    let reconnect: Error | null = null;
    try {
      const extra: Record<string, string> = { Accept: "text/event-stream", "Cache-Control": "no-cache" };
      if (this.hasData) extra["Last-Event-ID"] = String(this.snap.revision);
      const res = await this.fetchFn(`${this.baseUrl}/v1/stream`, { headers: this.headers(extra), signal: ac.signal });
      this.timers.clearTimeout(headerTimer);
      this.checkStatus(res, "GET /v1/stream");
      if (res.status !== 200 || !res.body) throw new RetryableError("waypost: stream: no body");
      // Polling fallback: something on the way (a proxy) answered with
      // another content type. Every reconnection polls GET /v1/flags with
      // If-None-Match first (run), so the flags still follow changes at
      // the backoff's pace while streaming stays blocked.
      const ct = res.headers.get("content-type") ?? "";
      if (!/^text\/event-stream\b/i.test(ct)) {
        await res.body.cancel().catch(() => {});
        throw new ReconnectSignal(`stream blocked (content type ${JSON.stringify(ct)}); polling /v1/flags meanwhile`);
      }
      onConnected();
      arm();
      const parser = new SSEParser({
        onEvent: (ev) => {
          if (reconnect) return;
          try {
            this.handleEvent(ev);
          } catch (e) {
            reconnect = e as Error;
            ac.abort(e);
          }
        },
      });
      const decoder = new TextDecoder();
      const reader = res.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          arm();
          parser.push(decoder.decode(value, { stream: true }));
          if (reconnect) break;
        }
      } finally {
        parser.end();
        reader.cancel().catch(() => {});
      }
      if (reconnect) throw reconnect;
      throw new ReconnectSignal("stream closed by the provider");
    } catch (e) {
      if (reconnect) throw reconnect;
      const reason = ac.signal.aborted ? ac.signal.reason : undefined;
      if (reason instanceof Error && !(e instanceof WaypostAuthError)) throw reason;
      throw e;
    } finally {
      this.timers.clearTimeout(headerTimer);
      if (watchdog !== null) this.timers.clearTimeout(watchdog);
      ac.abort();
    }
  }

  private handleEvent(ev: SSEEvent): void {
    switch (ev.event) {
      case "put": {
        this.applyPut(JSON.parse(ev.data));
        break;
      }
      case "patch": {
        this.applyPatch(JSON.parse(ev.data));
        break;
      }
      case "error": {
        let code = "";
        try {
          code = String(JSON.parse(ev.data)?.code ?? "");
        } catch {
          /* ignore */
        }
        if (code === "key_revoked") throw new WaypostAuthError("waypost: SDK key revoked", 401, "key_revoked");
        throw new ReconnectSignal(`provider error event: ${ev.data}`);
      }
      default:
      // unknown events are ignored (forward compatibility)
    }
  }
}

export { REASONS };
