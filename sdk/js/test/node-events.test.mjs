// @waypost/node EventSender against a local fake /v1/events: nothing is
// lost by default (bursts, outages, close), retries keep idempotency keys,
// refusals and overflow are counted and warned about once.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { EventSender, WaypostClient } from "@waypost/node";
import { sampleFlagSet } from "./fake-provider.mjs";

const quiet = { warn() {}, error() {}, debug() {} };

async function eventsServer() {
  const s = { keys: new Map(), requests: 0, failing: 0, status: 503 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      s.requests++;
      if (req.url !== "/v1/events" || req.headers.authorization !== "Bearer wps_t") {
        res.writeHead(401).end();
        return;
      }
      if (s.failing > 0) {
        s.failing--;
        res.writeHead(s.status).end("busy");
        return;
      }
      const { events } = JSON.parse(body);
      let inserted = 0;
      for (const e of events) {
        if (!s.keys.has(e.idempotencyKey)) inserted++;
        s.keys.set(e.idempotencyKey, e);
      }
      res.writeHead(202, { "Content-Type": "application/json" }).end(JSON.stringify({ inserted, duplicates: events.length - inserted }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  s.url = `http://127.0.0.1:${server.address().port}`;
  s.close = () => new Promise((r) => { server.close(r); server.closeAllConnections(); });
  return s;
}

const exposure = (i) => ({ flagKey: "f", experimentKey: "x", userId: `u${i}`, variant: "on", value: true, flagVersion: 1, timestamp: Date.now() });

test("close() sends everything queued: many full batches and a partial one", async () => {
  const srv = await eventsServer();
  const s = new EventSender({ sdkKey: "wps_t", baseUrl: srv.url, flushIntervalMs: 3600000, logger: quiet });
  const n = 25500;
  for (let i = 0; i < n; i++) s.exposure(exposure(i));
  await s.close();
  assert.equal(srv.keys.size, n);
  assert.equal(s.sent, n);
  assert.equal(s.inserted, n);
  assert.equal(s.dropped, 0);
  assert.equal(s.pending, 0);
  const first = [...srv.keys.values()][0];
  assert.deepEqual(Object.keys(first).sort(), ["experimentKey", "idempotencyKey", "timestamp", "type", "userId", "variant"]);
  s.track("late", "purchase");
  assert.equal(s.dropped, 1, "an event after close is counted as dropped");
  await srv.close();
});

test("a partial batch goes out on the interval", async () => {
  const srv = await eventsServer();
  const s = new EventSender({ sdkKey: "wps_t", baseUrl: srv.url, flushIntervalMs: 20, logger: quiet });
  s.track("u1", "purchase", 9.5);
  for (let i = 0; i < 200 && srv.keys.size === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const [e] = [...srv.keys.values()];
  assert.equal(e.metric, "purchase");
  assert.equal(e.value, 9.5);
  await s.close();
  await srv.close();
});

test("an outage longer than one round's attempts keeps the events (same keys), delivered when it ends", async () => {
  const srv = await eventsServer();
  srv.failing = 10;
  const s = new EventSender({ sdkKey: "wps_t", baseUrl: srv.url, flushIntervalMs: 3600000, maxAttempts: 2,
    backoff: { initialMs: 1, maxMs: 2 }, logger: quiet });
  for (let i = 0; i < 900; i++) s.exposure(exposure(i));
  for (let r = 0; r < 5; r++) {
    await assert.rejects(s.flush(), /503/);
    assert.equal(s.dropped, 0);
    assert.equal(s.pending, 900);
  }
  await s.flush();
  await s.close();
  assert.equal(srv.keys.size, 900);
  assert.equal(s.dropped, 0);
  assert.equal(srv.requests, 11);
  await srv.close();
});

test("a 4xx refusal drops the batch (not retried); 429 is retried", async () => {
  const srv = await eventsServer();
  srv.failing = 1;
  srv.status = 422;
  const s = new EventSender({ sdkKey: "wps_t", baseUrl: srv.url, flushIntervalMs: 3600000, backoff: { initialMs: 1, maxMs: 2 }, logger: quiet });
  s.track("u1", "purchase");
  await assert.rejects(s.flush(), /refused with 422/);
  assert.equal(s.dropped, 1);
  srv.failing = 2;
  srv.status = 429;
  s.track("u2", "purchase");
  await s.flush();
  assert.equal(s.sent, 1);
  assert.equal(srv.requests, 4);
  await s.close();
  await srv.close();
});

test("beyond maxQueue events are dropped, counted and warned about once", async () => {
  const srv = await eventsServer();
  const warnings = [];
  const s = new EventSender({ sdkKey: "wps_t", baseUrl: srv.url, flushIntervalMs: 3600000, maxQueue: 100,
    logger: { warn: (m) => warnings.push(m), error() {} } });
  for (let i = 0; i < 150; i++) s.track(`u${i}`, "purchase");
  assert.equal(s.dropped, 50);
  await s.close();
  assert.equal(srv.keys.size, 100);
  assert.equal(warnings.filter((w) => w.startsWith("dropping events")).length, 1);
  await srv.close();
});

test("close() gives up on an unreachable provider after the attempts, and says how many were lost", async () => {
  const srv = await eventsServer();
  srv.failing = 1e9;
  const s = new EventSender({ sdkKey: "wps_t", baseUrl: srv.url, flushIntervalMs: 3600000, maxAttempts: 3,
    backoff: { initialMs: 1, maxMs: 2 }, logger: quiet });
  for (let i = 0; i < 10; i++) s.track(`u${i}`, "purchase");
  await s.close(); // the final round drops the batch after its attempts
  assert.equal(s.dropped, 10);
  assert.equal(srv.requests, 3);
  await srv.close();
});

test("as the client's onExposure: one exposure per user, all delivered on close", async () => {
  const srv = await eventsServer();
  const fs = sampleFlagSet();
  const s = new EventSender({ sdkKey: "wps_t", baseUrl: srv.url, logger: quiet });
  const client = new WaypostClient({ sdkKey: "wps_x", stream: false, logger: quiet, onExposure: s.exposure,
    fetch: async () => new Response(JSON.stringify(fs), { status: 200 }) });
  await client.ready();
  for (let round = 0; round < 3; round++) for (let i = 0; i < 3000; i++) client.getBoolean("exp", `user-${i}`, false);
  client.close();
  await s.close();
  assert.equal(srv.keys.size, 3000);
  assert.deepEqual(new Set([...srv.keys.values()].map((e) => e.experimentKey)), new Set(["exp-test"]));
  assert.equal(s.dropped, 0);
  await srv.close();
});
