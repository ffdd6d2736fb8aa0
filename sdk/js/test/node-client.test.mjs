// @waypost/node: SSE parsing, connection, patches, reconnect/backoff,
// heartbeat, final errors, exposure dedupe — against a local fake provider.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { SSEParser, WaypostClient, WaypostAuthError } from "@waypost/node";
import { startFakeProvider, sampleFlagSet, modified } from "./fake-provider.mjs";
import { waitFor, delay } from "./helpers.mjs";

const quiet = { warn() {}, error() {}, debug() {} };

function parseAll(chunks) {
  const events = [];
  const retries = [];
  const comments = [];
  const p = new SSEParser({ onEvent: (e) => events.push(e), onRetry: (ms) => retries.push(ms), onComment: (c) => comments.push(c) });
  for (const c of chunks) p.push(c);
  p.end();
  return { events, retries, comments };
}

describe("SSE parser", () => {
  const stream =
    "\ufeffretry: 1000\n\n: ping\n\nevent: put\nid: 42\ndata: {\"a\":1}\n\n" +
    "event: patch\r\nid: 43\r\ndata: line1\r\ndata:line2\r\n\r\n" +
    "data: plain\r\rdata\n\nid: 4\u00004\nevent: x\ndata: y\n\nevent: nodata\n\nid\ndata: z\n\nevent: partial\ndata: never";
  const expected = [
    { event: "put", data: '{"a":1}', id: "42" },
    { event: "patch", data: "line1\nline2", id: "43" },
    { event: "message", data: "plain", id: "43" },
    { event: "message", data: "", id: "43" },
    { event: "x", data: "y", id: "43" }, // id with NUL ignored
    { event: "message", data: "z", id: "" }, // "id" with no value resets
  ];

  test("whole stream in one chunk", () => {
    const { events, retries, comments } = parseAll([stream]);
    assert.deepEqual(events, expected);
    assert.deepEqual(retries, [1000]);
    assert.deepEqual(comments, ["ping"]);
  });

  test("every possible chunking into single characters (split CRLF included)", () => {
    assert.deepEqual(parseAll([...stream]).events, expected);
  });

  test("random chunkings", () => {
    for (let i = 0; i < 200; i++) {
      const chunks = [];
      let pos = 0;
      while (pos < stream.length) {
        const n = 1 + Math.floor(Math.random() * 20);
        chunks.push(stream.slice(pos, pos + n));
        pos += n;
      }
      assert.deepEqual(parseAll(chunks).events, expected);
    }
  });

  test("large data line across many chunks", () => {
    const big = "x".repeat(1 << 20);
    const text = `event: put\ndata: ${big}\n\n`;
    const chunks = [];
    for (let i = 0; i < text.length; i += 1000) chunks.push(text.slice(i, i + 1000));
    const { events } = parseAll(chunks);
    assert.equal(events.length, 1);
    assert.equal(events[0].data.length, big.length);
  });

  test("retry must be digits; unknown fields ignored", () => {
    const { retries, events } = parseAll(["retry: 1s\nretry: 250\nfoo: bar\ndata: ok\n\n"]);
    assert.deepEqual(retries, [250]);
    assert.deepEqual(events, [{ event: "message", data: "ok", id: "" }]);
  });
});

function newClient(p, opts = {}) {
  return new WaypostClient({
    sdkKey: p.serverKey,
    baseUrl: p.url,
    logger: quiet,
    backoff: { initialMs: 5, maxMs: 20, resetAfterMs: 60000 },
    ...opts,
  });
}

describe("client against a local provider", () => {
  test("loads /v1/flags, then streams with Last-Event-ID; evaluates locally", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet(5) });
    t.after(() => p.close());
    const c = newClient(p);
    t.after(() => c.close());
    await c.ready();
    assert.equal(c.revision, 5);
    assert.equal(c.getBoolean("new-quote", "u1", false), true);
    assert.equal(c.getString("banner", "u1", "x"), "Hello");
    assert.deepEqual(c.getJSON("limits", "u1", null), { max: 10, tags: ["a"] });
    await waitFor(() => c.state === "streaming", { message: "streaming" });
    const flagsReq = p.requestsTo("/v1/flags")[0];
    assert.equal(flagsReq.headers.authorization, `Bearer ${p.serverKey}`);
    const streamReq = p.requestsTo("/v1/stream")[0];
    assert.equal(streamReq.headers["last-event-id"], "5");
  });

  test("put and patch update flags and notify change listeners with changed keys; old revisions ignored", async (t) => {
    const fs = sampleFlagSet(1);
    const p = await startFakeProvider({ flagSet: fs });
    t.after(() => p.close());
    const c = newClient(p);
    t.after(() => c.close());
    const changes = [];
    c.on("change", (e) => changes.push(e));
    await c.ready();
    await waitFor(() => c.state === "streaming");

    p.patch([modified(fs, "new-quote", { enabled: false, version: 2 })]);
    await waitFor(() => c.revision === 2, { message: "patch applied" });
    assert.equal(c.getBoolean("new-quote", "u1", true), false);
    assert.deepEqual(changes.at(-1), { keys: ["new-quote"], revision: 2 });

    p.patch([], ["banner"]);
    await waitFor(() => c.revision === 3);
    assert.equal(c.getStringDetail("banner", "u1", "dflt").errorCode, "FLAG_NOT_FOUND");
    assert.deepEqual(changes.at(-1).keys, ["banner"]);

    // An older put is ignored.
    p.raw(`event: put\nid: 1\ndata: ${JSON.stringify(fs)}\n\n`);
    p.ping();
    await delay(50);
    assert.equal(c.revision, 3);
    assert.equal(changes.length, 2);
    assert.equal(p.requestsTo("/v1/stream").length, 1, "no reconnect");
  });

  test("patch with a wrong base revision: drop the connection and reconnect (gets a put)", async (t) => {
    const fs = sampleFlagSet(1);
    const p = await startFakeProvider({ flagSet: fs });
    t.after(() => p.close());
    const c = newClient(p);
    t.after(() => c.close());
    await c.ready();
    await waitFor(() => c.state === "streaming");
    p.patch([modified(fs, "banner", { rollout: [{ variant: "a", weight: 0 }, { variant: "b", weight: 10000 }], version: 2 })], [], {
      baseRevision: 0,
    });
    // Wait for the reconnect itself: the value alone may already match.
    await waitFor(() => p.requestsTo("/v1/stream").length >= 2, { message: "a reconnect" });
    await waitFor(() => c.revision === 2, { message: "re-synced after reconnect" });
    assert.equal(c.getString("banner", "u1", ""), "Welcome");
  });

  /** A client streaming fs from a fake provider, with its error events and warnings recorded. */
  async function streamingClient(t, fs) {
    const p = await startFakeProvider({ flagSet: fs });
    t.after(() => p.close());
    const warnings = [];
    const c = newClient(p, { logger: { ...quiet, warn: (m) => warnings.push(m) } });
    t.after(() => c.close());
    const errors = [];
    c.on("error", (e) => errors.push(e));
    await c.ready();
    await waitFor(() => c.state === "streaming");
    return { p, c, errors, warnings };
  }

  test("an invalid flag set is rejected whole; the previous one keeps serving", async (t) => {
    const fs = sampleFlagSet(1);
    const { p, c, errors } = await streamingClient(t, fs);
    const bad = structuredClone(fs);
    bad.revision = 9;
    bad.flags[0].rollout[0].weight = 1; // sums to 10001
    p.raw(`event: put\nid: 9\ndata: ${JSON.stringify(bad)}\n\n`);
    await waitFor(() => errors.length > 0);
    assert.match(errors[0].message, /flag "new-quote": rollout: weights sum to 10001, want 10000/);
    assert.equal(c.revision, 1);
    assert.equal(c.getBoolean("new-quote", "u1", false), true);
  });

  test("a put and a patch with invalid targeting are rejected with the reason; the previous rules keep serving", async (t) => {
    const fs = sampleFlagSet(1);
    const banner = fs.flags.find((f) => f.key === "banner");
    banner.rules = [{ id: "canada", clauses: [{ attribute: "country", op: "in", values: ["CA"] }], variant: "b" }];
    const { p, c, errors, warnings } = await streamingClient(t, fs);
    const canadian = { targetingKey: "u1", country: "CA" };
    assert.equal(c.getString("banner", canadian, ""), "Welcome");

    // A put whose rule uses an operator the SDK does not know.
    const bad = structuredClone(fs);
    bad.revision = 9;
    bad.flags.find((f) => f.key === "banner").rules[0].clauses[0].op = "like";
    p.raw(`event: put\nid: 9\ndata: ${JSON.stringify(bad)}\n\n`);
    await waitFor(() => errors.length === 1, { message: "the put rejected" });
    assert.equal(errors[0].message, 'flag "banner": rules[0].clauses[0]: rule "canada": unknown operator "like"');
    assert.match(warnings.at(-1), /^rejected flag set \(keeping the previous one\): flag "banner": .*unknown operator "like"/);

    // A patch whose rule tests a non-portable regex and serves an unknown variant.
    const patched = modified(fs, "banner", {
      version: 2,
      rules: [{ id: "staff", clauses: [{ attribute: "email", op: "matches", values: ["(?i)@corp\\.com$"] }], variant: "b" }],
    });
    p.raw(`event: patch\nid: 2\ndata: ${JSON.stringify({ revision: 2, baseRevision: 1, flags: [patched], deleted: [] })}\n\n`);
    await waitFor(() => errors.length === 2, { message: "the patch rejected" });
    assert.equal(errors[1].message, 'flag "banner": rules[0].clauses[0]: rule "staff": values[0]: only "(?:" groups are portable');
    assert.match(warnings.at(-1), /^rejected patch \(keeping the previous flag set\): flag "banner": /);

    assert.equal(c.revision, 1);
    assert.equal(c.getString("banner", canadian, ""), "Welcome");
    assert.equal(c.getStringDetail("banner", canadian, "").ruleId, "canada");
    assert.equal(c.getString("banner", { targetingKey: "u1", email: "a@CORP.com" }, ""), "Hello");
    assert.equal(p.requestsTo("/v1/stream").length, 1, "no reconnect: the stream itself was fine");

    // The next valid patch applies.
    p.raw(`event: patch\nid: 2\ndata: ${JSON.stringify({ revision: 2, baseRevision: 1, flags: [{ ...patched, rules: [] }], deleted: [] })}\n\n`);
    await waitFor(() => c.revision === 2, { message: "a valid patch applied" });
    assert.equal(c.getString("banner", canadian, ""), "Hello");
    assert.equal(errors.length, 2);
  });

  test("401 is final: ready() rejects, no retry", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet() });
    t.after(() => p.close());
    const c = new WaypostClient({ sdkKey: "wps_unknown", baseUrl: p.url, logger: quiet, backoff: { initialMs: 1, maxMs: 2 } });
    t.after(() => c.close());
    await assert.rejects(c.ready(), (e) => e instanceof WaypostAuthError && e.status === 401);
    await delay(50);
    assert.equal(p.requestsTo("/v1/flags").length, 1);
    assert.equal(c.state, "failed");
    assert.equal(c.getBoolean("new-quote", "u1", false), false, "defaults served");
  });

  test("403 (client key on a server endpoint) is final", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet() });
    t.after(() => p.close());
    const c = new WaypostClient({ sdkKey: p.clientKey, baseUrl: p.url, logger: quiet, backoff: { initialMs: 1, maxMs: 2 } });
    t.after(() => c.close());
    await assert.rejects(c.ready(), (e) => e instanceof WaypostAuthError && e.status === 403);
    await delay(30);
    assert.equal(p.state.requests.length, 1);
  });

  test("key_revoked event is final; last known flags keep serving", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet() });
    t.after(() => p.close());
    const c = newClient(p);
    t.after(() => c.close());
    await c.ready();
    await waitFor(() => c.state === "streaming");
    p.revoke(p.serverKey);
    await waitFor(() => c.state === "failed", { message: "failed state" });
    await delay(50);
    assert.equal(p.requestsTo("/v1/stream").length, 1, "no reconnect after key_revoked");
    assert.equal(c.getBoolean("new-quote", "u1", false), true);
  });

  test("provider outage: keeps serving, retries with backoff, re-syncs with If-None-Match", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet(3) });
    t.after(() => p.close());
    const c = newClient(p);
    t.after(() => c.close());
    await c.ready();
    await waitFor(() => c.state === "streaming");
    p.state.intercept = () => ({ status: 503, body: { error: "down" } });
    p.dropStreams();
    await waitFor(() => p.requestsTo("/v1/flags").length >= 4, { message: "retries" });
    assert.equal(c.getBoolean("new-quote", "u1", false), true, "last known flags served while disconnected");
    assert.notEqual(c.state, "streaming");
    p.state.intercept = null;
    await waitFor(() => c.state === "streaming", { message: "reconnected" });
    const last = p.requestsTo("/v1/flags").at(-1);
    assert.equal(last.headers["if-none-match"], '"3"');
    assert.equal(p.requestsTo("/v1/stream").at(-1).headers["last-event-id"], "3");
  });

  test("heartbeat timeout: no bytes for heartbeatTimeoutMs -> reconnect; pings keep it alive", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet() });
    t.after(() => p.close());
    const c = newClient(p, { heartbeatTimeoutMs: 150 });
    t.after(() => c.close());
    await c.ready();
    await waitFor(() => c.state === "streaming");
    for (let i = 0; i < 5; i++) {
      await delay(60);
      p.ping();
    }
    assert.equal(p.requestsTo("/v1/stream").length, 1, "pings keep the stream");
    await waitFor(() => p.requestsTo("/v1/stream").length >= 2, { message: "reconnect after silence" });
  });

  test("a hanging request times out and is retried", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet() });
    t.after(() => p.close());
    let n = 0;
    p.state.intercept = (req, url) => (url.pathname === "/v1/flags" && n++ === 0 ? { hang: true } : undefined);
    const c = newClient(p, { requestTimeoutMs: 100 });
    t.after(() => c.close());
    await c.ready();
    assert.equal(p.requestsTo("/v1/flags").length, 2);
  });

  test("close() stops the connection; evaluations keep working", async (t) => {
    const p = await startFakeProvider({ flagSet: sampleFlagSet() });
    t.after(() => p.close());
    const c = newClient(p);
    await c.ready();
    await waitFor(() => c.state === "streaming");
    c.close();
    await waitFor(() => p.state.streams.size === 0, { message: "stream closed" });
    assert.equal(c.state, "closed");
    assert.equal(c.getBoolean("new-quote", "u", false), true);
  });
});

describe("reconnect backoff (injected clock, random and timers)", () => {
  // Fake timers: records every setTimeout; the test fires them.
  function fakeTimers() {
    let id = 0;
    const pending = new Map();
    return {
      pending,
      setTimeout(fn, ms) {
        pending.set(++id, { fn, ms });
        return id;
      },
      clearTimeout(h) {
        pending.delete(h);
      },
      /** Fires the one pending timer whose delay matches pred. */
      fire(pred) {
        for (const [k, v] of pending) {
          if (pred(v.ms)) {
            pending.delete(k);
            v.fn();
            return v.ms;
          }
        }
        return undefined;
      },
    };
  }

  test("full jitter, 1 s doubling to 30 s, reset after 60 s connected", async () => {
    let now = 0;
    const timers = fakeTimers();
    let mode = "fail";
    let streamCtl = null;
    const fetch = async (url, init) => {
      if (mode === "fail") return new Response("down", { status: 500 });
      if (url.endsWith("/v1/flags")) return new Response(JSON.stringify(sampleFlagSet()), { status: 200 });
      // A stream that stays open until the test ends it.
      const body = new ReadableStream({
        start(ctl) {
          streamCtl = ctl;
          init.signal.addEventListener("abort", () => ctl.error(init.signal.reason));
        },
      });
      return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
    };
    const c = new WaypostClient({
      sdkKey: "wps_x",
      fetch,
      timers,
      now: () => now,
      random: () => 0.999999,
      logger: quiet,
      requestTimeoutMs: 777777,
      heartbeatTimeoutMs: 888888,
    });
    const isBackoff = (ms) => ms !== 777777 && ms !== 888888;
    const delays = [];
    for (let i = 0; i < 8; i++) {
      await waitFor(() => [...timers.pending.values()].some((v) => isBackoff(v.ms)), { message: `backoff ${i}` });
      delays.push(timers.fire(isBackoff));
    }
    assert.deepEqual(delays, [999, 1999, 3999, 7999, 15999, 29999, 29999, 29999]);

    // Connect, stay 61 s, drop: the next delay starts again at <= 1 s.
    mode = "ok";
    await waitFor(() => c.state === "streaming", { message: "connected" });
    now += 61000;
    streamCtl.close();
    await waitFor(() => [...timers.pending.values()].some((v) => isBackoff(v.ms)));
    assert.equal(timers.fire(isBackoff), 999);

    // A short connection does not reset the attempt counter.
    await waitFor(() => c.state === "streaming");
    now += 1000;
    streamCtl.close();
    await waitFor(() => [...timers.pending.values()].some((v) => isBackoff(v.ms)));
    assert.equal(timers.fire(isBackoff), 1999);
    c.close();
  });

  test("jitter spans [0, cap)", () => {
    const seq = [0, 0.5, 0.25];
    let i = 0;
    const c = new WaypostClient({ sdkKey: "", logger: quiet, random: () => seq[i++] });
    assert.deepEqual([c.nextBackoffMs(), c.nextBackoffMs(), c.nextBackoffMs()], [0, 1000, 1000]);
    c.close();
  });
});

describe("exposures and robustness", () => {
  async function offlineClient(opts = {}, fs = sampleFlagSet()) {
    const c = new WaypostClient({
      sdkKey: "wps_x",
      stream: false,
      logger: quiet,
      fetch: async () => new Response(JSON.stringify(fs), { status: 200 }),
      ...opts,
    });
    await c.ready();
    return c;
  }

  test("exposure fires once per user+experiment, only with an experiment key", async () => {
    const seen = [];
    const c = await offlineClient({ onExposure: (e) => seen.push(e), now: () => 1234 });
    for (let i = 0; i < 3; i++) {
      c.getBoolean("exp", "alice", false);
      c.getBooleanDetail("exp", "alice", false);
      c.getBoolean("exp", "bob", false);
    }
    c.getBoolean("exp", "qa-user", false); // assigned: not in the experiment
    c.getBoolean("exp", "", false); // anonymous: not in the experiment
    c.getString("exp", "carol", "x"); // type mismatch: default, no exposure
    c.getBoolean("new-quote", "alice", false); // no experiment
    assert.deepEqual(
      seen.map((e) => [e.flagKey, e.experimentKey, e.userId, e.timestamp]),
      [
        ["exp", "exp-test", "alice", 1234],
        ["exp", "exp-test", "bob", 1234],
      ],
    );
    assert.equal(typeof seen[0].variant, "string");
    assert.equal(seen[0].value, seen[0].variant === "on");
    c.close();
  });

  test("exposure dedupe memory is bounded", async () => {
    const seen = [];
    const c = await offlineClient({ onExposure: (e) => seen.push(e.userId), exposureCacheSize: 2 });
    for (const u of ["a", "b", "c", "a"]) c.getBoolean("exp", u, false);
    assert.deepEqual(seen, ["a", "b", "c", "a"]); // "a" was evicted, so it fires again
    c.close();
  });

  test("a throwing exposure hook or listener never breaks evaluation", async () => {
    const c = await offlineClient({
      onExposure: () => {
        throw new Error("boom");
      },
    });
    assert.equal(typeof c.getBoolean("exp", "zed", false), "boolean");
    c.close();
  });

  test("evaluations never throw: missing flag, wrong type, odd user ids, before ready", async () => {
    const c = await offlineClient();
    assert.equal(c.getBoolean("nope", "u", true), true);
    assert.deepEqual(c.getBooleanDetail("nope", "u", true), {
      value: true,
      variant: "",
      reason: "ERROR",
      errorCode: "FLAG_NOT_FOUND",
      experimentKey: "",
      flagVersion: 0,
      ruleId: "",
    });
    const d = c.getNumberDetail("banner", "u", 7);
    assert.equal(d.value, 7);
    assert.equal(d.errorCode, "TYPE_MISMATCH");
    assert.equal(d.reason, "ERROR");
    assert.equal(c.getBoolean("new-quote", undefined, false), true);
    assert.equal(c.getBoolean("new-quote", null, false), true);
    assert.equal(c.getBoolean("new-quote", 42, false), true);
    assert.equal(c.getBoolean("new-quote", { targetingKey: "u" }, false), true);
    assert.equal(c.getBoolean(undefined, "u", false), false);
    c.close();

    const pending = new WaypostClient({ sdkKey: "wps_x", logger: quiet, fetch: () => new Promise(() => {}) });
    assert.equal(pending.getBoolean("new-quote", "u", false), false);
    assert.equal(pending.getBooleanDetail("new-quote", "u", false).errorCode, "FLAG_NOT_FOUND");
    pending.close();
    await assert.rejects(pending.ready(), /closed/);
  });

  test("JSON values are frozen (shared safely)", async () => {
    const c = await offlineClient();
    const v = c.getJSON("limits", "u", null);
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.tags));
    c.close();
  });

  test("evaluateAll gives an OFREP-shaped bootstrap without rules", async () => {
    const c = await offlineClient();
    const all = c.evaluateAll("alice");
    assert.deepEqual(
      all.flags.map((f) => f.key),
      ["banner", "exp", "limits", "new-quote"],
    );
    const s = JSON.stringify(all);
    assert.ok(!s.includes("salt") && !s.includes("qa-user") && !s.includes("rollout"));
    c.close();
  });
});
