// EventSender: batches exposure and metric events and POSTs them to the
// provider's /v1/events (the built-in events store), losing nothing by
// default: the queue grows with a burst up to a generous bound, a failing
// batch is retried with backoff and stays queued through an outage, and
// close() sends everything queued. Only events beyond the bound (the
// provider cannot keep up for a sustained time), refused batches (a 4xx
// other than 429) and what close() could not deliver are dropped: counted
// in `dropped`, with a rate-limited warning.
import type { ExposureEvent, Logger, Timers } from "./client.js";

export interface EventSenderOptions {
  /** Server SDK key (`wps_...`). */
  sdkKey: string;
  /** Provider base URL. Default http://127.0.0.1:8081. */
  baseUrl?: string;
  /** Most events per request (default and maximum 1000). */
  batchSize?: number;
  /** A partial batch is sent after this long. Default 2000. */
  flushIntervalMs?: number;
  /** Queue bound (default 500000 events); only events beyond it are dropped. */
  maxQueue?: number;
  /** Attempts per batch in one round (default 6); a batch still failing stays queued for the next round. */
  maxAttempts?: number;
  /** Retry backoff: full jitter between 0 and min(maxMs, initialMs * 2^attempt); a 429's Retry-After wins. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Timeout of one POST. Default 10000. */
  requestTimeoutMs?: number;
  logger?: Logger;
  /** Injectable for tests. */
  fetch?: typeof fetch;
  timers?: Timers;
  random?: () => number;
}

interface WireEvent {
  type: "exposure" | "metric";
  idempotencyKey: string;
  experimentKey?: string;
  userId: string;
  variant?: string;
  metric?: string;
  value?: number;
  timestamp: string;
}

const WARN_EVERY_MS = 10000;

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

class Refused extends Error {}

export class EventSender {
  private readonly url: string;
  private readonly opts: EventSenderOptions;
  private readonly log: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly timers: Timers;
  private readonly random: () => number;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly maxQueue: number;
  private readonly maxAttempts: number;
  private readonly initialMs: number;
  private readonly maxMs: number;
  // The queue: items[head..] are waiting (head advances instead of shift()).
  private items: WireEvent[] = [];
  private head = 0;
  private timer: unknown = null;
  private round: Promise<void> | null = null;
  private closing = false;
  private closed = false;
  private lastWarn = -Infinity;
  private _dropped = 0;
  private _sent = 0;
  private _inserted = 0;
  private _duplicates = 0;

  constructor(options: EventSenderOptions) {
    if (!options.sdkKey) throw new Error("waypost: EventSender needs sdkKey");
    this.opts = options;
    this.url = (options.baseUrl ?? "http://127.0.0.1:8081").replace(/\/+$/, "") + "/v1/events";
    this.log = options.logger ?? defaultLogger;
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timers = options.timers ?? realTimers;
    this.random = options.random ?? Math.random;
    this.batchSize = Math.min(Math.max(1, options.batchSize ?? 1000), 1000);
    this.intervalMs = options.flushIntervalMs ?? 2000;
    this.maxQueue = options.maxQueue ?? 500000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 6);
    this.initialMs = options.backoff?.initialMs ?? 500;
    this.maxMs = options.backoff?.maxMs ?? 30000;
  }

  /** Queues an exposure; pass it as the client's `onExposure`. */
  readonly exposure = (e: ExposureEvent): void => {
    this.offer({
      type: "exposure",
      idempotencyKey: "",
      experimentKey: e.experimentKey,
      userId: e.userId,
      variant: e.variant,
      timestamp: new Date(e.timestamp).toISOString(),
    });
  };

  /** Queues a metric event (value for revenue and duration metrics). */
  track(userId: string, metric: string, value?: number): void {
    const ev: WireEvent = { type: "metric", idempotencyKey: "", userId, metric, timestamp: new Date().toISOString() };
    if (value !== undefined) ev.value = value;
    this.offer(ev);
  }

  /** Events dropped: beyond maxQueue or after close, refused by the provider, or not delivered by close. */
  get dropped(): number {
    return this._dropped;
  }
  /** Events the provider accepted. */
  get sent(): number {
    return this._sent;
  }
  /** Of the accepted events, how many the provider stored as new and as duplicates (a retried batch). */
  get inserted(): number {
    return this._inserted;
  }
  get duplicates(): number {
    return this._duplicates;
  }
  /** Events queued, not yet sent. */
  get pending(): number {
    return this.items.length - this.head;
  }

  /** Sends everything queued so far; rejects if some of it could not be sent yet (it stays queued). */
  async flush(): Promise<void> {
    while (this.round) await this.round.catch(() => {});
    await this.startRound(false, false);
  }

  /**
   * Sends everything queued (each batch gets maxAttempts attempts) and stops.
   * Events still undelivered are counted in `dropped` and the promise
   * rejects saying how many. Close the client first so that no exposure
   * arrives afterwards.
   */
  async close(): Promise<void> {
    if (this.closed || this.closing) {
      while (this.round) await this.round.catch(() => {});
      return;
    }
    this.closing = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    while (this.round) await this.round.catch(() => {});
    await this.startRound(false, true).catch(() => {});
    this.closed = true;
    const left = this.pending;
    if (left > 0) {
      this.drop(left, "not delivered before close");
      this.items = [];
      this.head = 0;
      throw new Error(`waypost: ${left} events not delivered`);
    }
  }

  private offer(ev: WireEvent): void {
    if (this.closing || this.closed) {
      this.drop(1, "sender closed");
      return;
    }
    if (this.pending >= this.maxQueue) {
      this.drop(1, "queue full (maxQueue): the provider is not keeping up");
      return;
    }
    ev.idempotencyKey = globalThis.crypto.randomUUID();
    this.items.push(ev);
    if (this.pending >= this.batchSize) {
      if (!this.round) void this.startRound(true, false).catch(() => {});
    } else if (this.timer === null) {
      this.timer = this.timers.setTimeout(() => {
        this.timer = null;
        if (!this.round) void this.startRound(false, false).catch(() => {});
      }, this.intervalMs);
    }
  }

  private drop(n: number, reason: string): void {
    this._dropped += n;
    const now = Date.now();
    if (now - this.lastWarn >= WARN_EVERY_MS) {
      this.lastWarn = now;
      this.log.warn(`dropping events: ${reason}`, { droppedTotal: this._dropped });
    }
  }

  private take(n: number): WireEvent[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 65536 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  private putBack(batch: WireEvent[]): void {
    this.items = batch.concat(this.items.slice(this.head));
    this.head = 0;
  }

  private startRound(fullOnly: boolean, final: boolean): Promise<void> {
    const p = this.sendQueued(fullOnly, final).finally(() => {
      if (this.round === p) this.round = null;
      // More arrived meanwhile: a full batch goes now, a partial one on the interval.
      if (!this.closing && this.pending > 0) {
        if (this.pending >= this.batchSize && !this.round) void this.startRound(true, false).catch(() => {});
        else if (this.timer === null)
          this.timer = this.timers.setTimeout(() => {
            this.timer = null;
            if (!this.round) void this.startRound(false, false).catch(() => {});
          }, this.intervalMs);
      }
    });
    this.round = p;
    return p;
  }

  private async sendQueued(fullOnly: boolean, final: boolean): Promise<void> {
    let last: unknown = null;
    for (;;) {
      if (fullOnly && this.pending < this.batchSize) break;
      const batch = this.take(this.batchSize);
      if (batch.length === 0) break;
      try {
        await this.send(batch);
      } catch (e) {
        last = e;
        if (e instanceof Refused) continue;
        if (final) {
          this.drop(batch.length, "provider unreachable at close");
          this.log.error("events not delivered at close", e);
          continue;
        }
        this.putBack(batch);
        break;
      }
    }
    if (last !== null) throw last;
  }

  private async send(batch: WireEvent[]): Promise<void> {
    const body = JSON.stringify({ events: batch });
    let backoff = this.initialMs;
    for (let attempt = 1; ; attempt++) {
      let wait = 0;
      let err: Error;
      try {
        const res = await this.fetchFn(this.url, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.opts.sdkKey}` },
          body,
          signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 10000),
        });
        const text = await res.text();
        if (res.ok) {
          this._sent += batch.length;
          try {
            const r = JSON.parse(text) as { inserted?: number; duplicates?: number };
            this._inserted += r.inserted ?? 0;
            this._duplicates += r.duplicates ?? 0;
          } catch {
            // a 2xx without a body still means accepted
          }
          return;
        }
        if (res.status >= 400 && res.status < 500 && res.status !== 429) {
          this._dropped += batch.length;
          this.log.error(`events refused with ${res.status}`, text);
          throw new Refused(`waypost: events refused with ${res.status}: ${text}`);
        }
        const ra = Number(res.headers.get("Retry-After"));
        if (ra > 0) wait = ra * 1000;
        err = new Error(`provider answered ${res.status}: ${text}`);
      } catch (e) {
        if (e instanceof Refused) throw e;
        err = e instanceof Error ? e : new Error(String(e));
      }
      if (attempt >= this.maxAttempts) {
        this.log.warn(`events not delivered after ${attempt} attempts; kept queued`, err.message);
        throw err;
      }
      this.log.warn(`sending events failed (attempt ${attempt}); retrying`, err.message);
      if (wait <= 0) wait = this.random() * backoff;
      await new Promise<void>((r) => this.timers.setTimeout(r, Math.min(wait, this.maxMs)));
      backoff = Math.min(backoff * 2, this.maxMs);
    }
  }
}
