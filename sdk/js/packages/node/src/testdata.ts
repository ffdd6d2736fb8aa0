// TestData: a test data source for applications that use @waypost/node,
// like LaunchDarkly's TestData. A test sets flag values and gets a real
// WaypostClient serving them, with no provider: the client's fetch is
// answered in memory (GET /v1/flags and a /v1/stream of put events), so
// later changes reach running clients and their "change" listeners.
import { WaypostClient, type WaypostClientOptions } from "./client.js";

interface WireFlag {
  key: string;
  kind: "boolean" | "string" | "number" | "json";
  variants: { key: string; value: unknown }[];
  enabled: boolean;
  offVariant: string;
  rollout: { variant: string; weight: number }[];
  salt: string;
  assignments: Record<string, string>;
  version: number;
}

const BUCKETS = 10000;

function kindOf(value: unknown): WireFlag["kind"] {
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "string") return "string";
  if (typeof value === "number" && Number.isFinite(value)) return "number";
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return "json";
  throw new TypeError(`TestData: unsupported flag value ${JSON.stringify(value)} (json flags hold objects)`);
}

const offValue = { boolean: false, string: "", number: 0, json: {} } as const;

export class TestData {
  private revision = 1;
  private readonly flags = new Map<string, WireFlag>();
  private readonly streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private readonly encoder = new TextEncoder();

  /** Serves value to everybody for flag key (creating it; a value of another kind replaces the flag). */
  set(key: string, value: unknown): this {
    return this.update(key, value, "");
  }

  /** Serves value to userId only (an individual assignment). */
  setForUser(key: string, userId: string, value: unknown): this {
    if (userId === "") throw new TypeError("TestData: setForUser needs a non-empty user id");
    return this.update(key, value, userId);
  }

  /** Turns flag key off: everybody gets the off variant, reason DISABLED. */
  disable(key: string): this {
    const f = this.flags.get(key);
    if (!f) throw new Error(`TestData: disable(${JSON.stringify(key)}): no such flag`);
    f.enabled = false;
    f.version++;
    return this.publish();
  }

  /** Deletes flag key (clients then answer FLAG_NOT_FOUND). */
  remove(key: string): this {
    this.flags.delete(key);
    return this.publish();
  }

  /** A client reading from this source; await client.ready() before evaluating. */
  client(options: Partial<WaypostClientOptions> = {}): WaypostClient {
    return new WaypostClient({ sdkKey: "wps_testdata", baseUrl: "http://waypost-testdata.invalid", ...options, fetch: this.fetch });
  }

  /** The flag set as the provider would send it. */
  flagSet(): { project: string; environment: string; revision: number; flags: WireFlag[] } {
    const flags = [...this.flags.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { project: "test", environment: "test", revision: this.revision, flags: structuredClone(flags) };
  }

  private update(key: string, value: unknown, userId: string): this {
    const kind = kindOf(value);
    let f = this.flags.get(key);
    if (!f || f.kind !== kind) {
      f = {
        key, kind, enabled: true, offVariant: "off", salt: `testdata.${key}`, assignments: {}, version: 0,
        variants: kind === "boolean" ? [{ key: "off", value: false }, { key: "on", value: true }] : [{ key: "off", value: offValue[kind] }],
        rollout: [],
      };
      f.rollout = f.variants.map((v, i) => ({ variant: v.key, weight: i === 0 ? BUCKETS : 0 }));
      this.flags.set(key, f);
    }
    f.version++;
    f.enabled = true;
    const json = JSON.stringify(value);
    let variant = f.variants.find((v) => JSON.stringify(v.value) === json)?.key;
    if (!variant) {
      variant = `v${f.variants.length}`;
      f.variants.push({ key: variant, value: structuredClone(value) });
      f.rollout.push({ variant, weight: 0 });
    }
    if (userId === "") {
      for (const r of f.rollout) r.weight = r.variant === variant ? BUCKETS : 0;
    } else {
      f.assignments = { ...f.assignments, [userId]: variant };
    }
    return this.publish();
  }

  private put(): Uint8Array {
    return this.encoder.encode(`event: put\nid: ${this.revision}\ndata: ${JSON.stringify(this.flagSet())}\n\n`);
  }

  private publish(): this {
    this.revision++;
    const ev = this.put();
    for (const s of this.streams) s.enqueue(ev);
    return this;
  }

  private readonly fetch = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const path = new URL(typeof input === "string" || input instanceof URL ? input : input.url).pathname;
    if (path === "/v1/flags") {
      return new Response(JSON.stringify(this.flagSet()), { status: 200, headers: { "Content-Type": "application/json", ETag: `"${this.revision}"` } });
    }
    if (path === "/v1/stream") {
      let ctrl: ReadableStreamDefaultController<Uint8Array> | null = null;
      const body = new ReadableStream<Uint8Array>({
        start: (c) => {
          ctrl = c;
          this.streams.add(c);
          c.enqueue(this.put());
        },
        cancel: () => {
          if (ctrl) this.streams.delete(ctrl);
        },
      });
      init?.signal?.addEventListener("abort", () => {
        if (!ctrl) return;
        this.streams.delete(ctrl);
        try {
          ctrl.close();
        } catch {
          /* already closed */
        }
      });
      return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
    }
    return new Response(null, { status: 404 });
  }) as typeof fetch;
}
