// A small in-process fake of `waypost provider` speaking docs/protocol.md on
// 127.0.0.1: /v1/flags, /v1/stream (SSE put/patch/ping/error), the OFREP
// single and bulk endpoints (the whole context evaluated with @waypost/node,
// so results follow docs/evaluation.md; metadata as the real provider's) and
// the OFREP change stream. It can also serve static
// files (the browser test bundles). Tests drive it directly.
import http from "node:http";
import { createHash } from "node:crypto";
import { readFileSync, existsSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { compileFlagSet, evaluateDetail } from "@waypost/node";

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".map": "application/json", ".json": "application/json" };

export async function startFakeProvider({ flagSet, serverKey = "wps_test", clientKey = "wpc_test", staticDir, pages = {} } = {}) {
  const state = {
    flagSet: structuredClone(flagSet),
    snap: compileFlagSet(flagSet),
    streams: new Set(), // server SSE streams: {res, last}
    ofrepStreams: new Set(),
    requests: [], // {method, path, headers, context (OFREP: the context received)}
    /** Override: (req, url) => {status, body?} | undefined, consulted before normal handling. */
    intercept: null,
    revoked: new Set(),
    pingTimer: null,
  };

  const keyOf = (req, url) => {
    const auth = req.headers.authorization;
    if (auth && auth.startsWith("Bearer ")) return auth.slice(7);
    if (req.headers["x-api-key"]) return String(req.headers["x-api-key"]);
    return url.searchParams.get("sdk_key") ?? "";
  };
  const kindOf = (key) => (state.revoked.has(key) ? "" : key === serverKey ? "server" : key === clientKey ? "client" : "");

  const cors = (res) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Allow-Headers", "Authorization, X-API-Key, Content-Type, If-None-Match, Last-Event-ID");
    res.setHeader("Access-Control-Expose-Headers", "ETag");
  };
  const json = (res, status, body, headers = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };

  function ofrepEval(key, ctx) {
    const cf = state.snap.flags.get(key);
    if (!cf) return { status: 404, body: { key, errorCode: "FLAG_NOT_FOUND", errorDetails: `flag ${key} not found` } };
    const type = ["boolean", "string", "number", "json"][cf.kind];
    // The whole context, as the real provider evaluates it (attributes and all).
    const context = ctx !== null && typeof ctx === "object" && !Array.isArray(ctx) ? ctx : {};
    const d = evaluateDetail(state.snap, key, context, type, null);
    const metadata = { version: d.flagVersion };
    if (d.experimentKey) metadata.experimentKey = d.experimentKey;
    if (d.ruleId) metadata.ruleId = d.ruleId;
    return { status: 200, body: { key, value: d.value, reason: d.reason, variant: d.variant, metadata } };
  }

  function bulkEtag(ctx) {
    const h = createHash("sha256").update(JSON.stringify(ctx ?? {})).digest("hex").slice(0, 16);
    return `"${state.flagSet.revision}-${h}"`;
  }

  async function readBody(req) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    return Buffer.concat(chunks).toString("utf8");
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://localhost");
    const record = { method: req.method, path: url.pathname, headers: req.headers, time: Date.now() };
    state.requests.push(record);
    cors(res);
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Methods": "GET, POST, OPTIONS" });
      return res.end();
    }
    const o = state.intercept?.(req, url);
    if (o) {
      if (o.hang) return; // never answer
      return json(res, o.status, o.body);
    }
    const path = url.pathname;

    if (path === "/v1/flags" || path === "/v1/stream") {
      const k = kindOf(keyOf(req, url));
      if (!k) return json(res, 401, { error: { code: "unauthorized", message: "unknown or revoked key" } });
      if (k !== "server") return json(res, 403, { error: { code: "forbidden", message: "server key required" } });
      if (path === "/v1/flags") {
        const etag = `"${state.flagSet.revision}"`;
        if (req.headers["if-none-match"] === etag) {
          res.writeHead(304, { ETag: etag });
          return res.end();
        }
        return json(res, 200, state.flagSet, { ETag: etag });
      }
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      res.write("retry: 1000\n\n");
      const s = { res, last: -1, key: keyOf(req, url) };
      if (req.headers["last-event-id"] !== String(state.flagSet.revision)) {
        res.write(`event: put\nid: ${state.flagSet.revision}\ndata: ${JSON.stringify(state.flagSet)}\n\n`);
      }
      s.last = state.flagSet.revision;
      state.streams.add(s);
      req.on("close", () => state.streams.delete(s));
      return;
    }

    if (path.startsWith("/ofrep/v1/")) {
      const k = kindOf(keyOf(req, url));
      if (!k) {
        res.writeHead(401);
        return res.end();
      }
      if (path === "/ofrep/v1/events") {
        res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
        res.write("retry: 1000\n\n");
        const s = { res };
        state.ofrepStreams.add(s);
        req.on("close", () => state.ofrepStreams.delete(s));
        return;
      }
      if (req.method !== "POST") return json(res, 405, { errorDetails: "POST only" });
      let body;
      try {
        body = JSON.parse((await readBody(req)) || "{}");
      } catch {
        return json(res, 400, { errorCode: "PARSE_ERROR", errorDetails: "invalid JSON" });
      }
      const ctx = body?.context ?? {};
      record.context = ctx;
      if (path === "/ofrep/v1/evaluate/flags") {
        const etag = bulkEtag(ctx);
        if (req.headers["if-none-match"] === etag) {
          res.writeHead(304, { ETag: etag });
          return res.end();
        }
        const flags = [...state.snap.flags.keys()].sort().map((key) => ofrepEval(key, ctx).body);
        const base = `http://${req.headers.host}`;
        return json(res, 200, { flags, eventStreams: [{ type: "sse", url: `${base}/ofrep/v1/events?sdk_key=${encodeURIComponent(keyOf(req, url))}` }] }, { ETag: etag });
      }
      const m = /^\/ofrep\/v1\/evaluate\/flags\/(.+)$/.exec(path);
      if (m) {
        const r = ofrepEval(decodeURIComponent(m[1]), ctx);
        return json(res, r.status, r.body);
      }
      return json(res, 404, { errorDetails: "not found" });
    }

    // Static pages and files.
    if (path === "/favicon.ico") {
      res.writeHead(204);
      return res.end();
    }
    if (pages[path] !== undefined) {
      res.writeHead(200, { "Content-Type": TYPES[".html"], "Cache-Control": "no-store" });
      return res.end(typeof pages[path] === "function" ? pages[path](url) : pages[path]);
    }
    if (staticDir) {
      const file = normalize(join(staticDir, path));
      if (file.startsWith(staticDir) && existsSync(file) && statSync(file).isFile()) {
        res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream", "Cache-Control": "no-store" });
        return res.end(readFileSync(file));
      }
    }
    json(res, 404, { error: { code: "not_found", message: path } });
  });

  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;

  function notifyOfrep() {
    for (const s of state.ofrepStreams) {
      s.res.write(`event: message\nid: ${state.flagSet.revision}\ndata: ${JSON.stringify({ type: "refetchEvaluation", etag: String(state.flagSet.revision) })}\n\n`);
    }
  }

  return {
    url,
    port,
    state,
    serverKey,
    clientKey,
    /** Replaces the whole flag set (revision must grow) and sends a put to every stream. */
    put(fs) {
      state.flagSet = structuredClone(fs);
      state.snap = compileFlagSet(fs);
      for (const s of state.streams) {
        s.res.write(`event: put\nid: ${fs.revision}\ndata: ${JSON.stringify(fs)}\n\n`);
        s.last = fs.revision;
      }
      notifyOfrep();
    },
    /** Changes/adds flags and deletes keys as a new revision; sends patches (or puts to streams not at the base). */
    patch(flags, deleted = [], { baseRevision } = {}) {
      const base = state.flagSet.revision;
      const byKey = new Map(state.flagSet.flags.map((f) => [f.key, f]));
      for (const k of deleted) byKey.delete(k);
      for (const f of flags) byKey.set(f.key, f);
      const next = { ...state.flagSet, revision: base + 1, flags: [...byKey.values()] };
      state.flagSet = next;
      state.snap = compileFlagSet(next);
      const p = { revision: next.revision, baseRevision: baseRevision ?? base, flags, deleted };
      for (const s of state.streams) {
        s.res.write(`event: patch\nid: ${next.revision}\ndata: ${JSON.stringify(p)}\n\n`);
        s.last = next.revision;
      }
      notifyOfrep();
    },
    /** Writes raw bytes to every server stream. */
    raw(text) {
      for (const s of state.streams) s.res.write(text);
    },
    ping() {
      for (const s of state.streams) s.res.write(": ping\n\n");
    },
    /** Revokes a key: error event on its streams, then close; later requests get 401. */
    revoke(key) {
      state.revoked.add(key);
      for (const s of state.streams) {
        if (s.key === key) {
          s.res.end(`event: error\ndata: {"code":"key_revoked"}\n\n`);
          state.streams.delete(s);
        }
      }
    },
    /** Drops every open stream connection (server side). */
    dropStreams() {
      for (const s of state.streams) s.res.destroy();
      for (const s of state.ofrepStreams) s.res.destroy();
      state.streams.clear();
      state.ofrepStreams.clear();
    },
    requestsTo(path) {
      return state.requests.filter((r) => r.path === path);
    },
    async close() {
      this.dropStreams();
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A small flag set used by the client tests. */
export function sampleFlagSet(revision = 1) {
  return {
    project: "default",
    environment: "test",
    revision,
    flags: [
      {
        key: "new-quote",
        kind: "boolean",
        variants: [{ key: "off", value: false }, { key: "on", value: true }],
        enabled: true,
        offVariant: "off",
        rollout: [{ variant: "off", weight: 0 }, { variant: "on", weight: 10000 }],
        salt: "3f9a1c0d2b7e4a11",
        version: 1,
      },
      {
        key: "banner",
        kind: "string",
        variants: [{ key: "a", value: "Hello" }, { key: "b", value: "Welcome" }],
        enabled: true,
        offVariant: "a",
        rollout: [{ variant: "a", weight: 10000 }, { variant: "b", weight: 0 }],
        salt: "0123456789abcdef",
        version: 1,
      },
      {
        key: "exp",
        kind: "boolean",
        variants: [{ key: "off", value: false }, { key: "on", value: true }],
        enabled: true,
        offVariant: "off",
        rollout: [{ variant: "off", weight: 5000 }, { variant: "on", weight: 5000 }],
        salt: "7a2c4e6f8b0d1a3c",
        assignments: { "qa-user": "on" },
        version: 2,
        experiment: { key: "exp-test", traffic: 10000 },
      },
      {
        key: "limits",
        kind: "json",
        variants: [{ key: "std", value: { max: 10, tags: ["a"] } }],
        enabled: true,
        offVariant: "std",
        rollout: [{ variant: "std", weight: 10000 }],
        salt: "fedcba9876543210",
        version: 1,
      },
    ],
  };
}

/** Returns a copy of flag `key` of fs with changes applied. */
export function modified(fs, key, changes) {
  return { ...structuredClone(fs.flags.find((f) => f.key === key)), ...changes };
}
