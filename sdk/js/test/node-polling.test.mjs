// @waypost/node polling fallback: a proxy that answers the stream with an
// HTML page (SSE blocked) does not freeze the flags: each reconnection
// polls /v1/flags with If-None-Match.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WaypostClient } from "@waypost/node";
import { sampleFlagSet, modified } from "./fake-provider.mjs";
import { waitFor } from "./helpers.mjs";

const quiet = { warn() {}, error() {}, debug() {} };

test("stream blocked by a proxy: flags follow changes by polling", async (t) => {
  let set = sampleFlagSet(1);
  let notModified = 0;
  const fetchFn = async (url, init) => {
    const path = new URL(url).pathname;
    if (path === "/v1/flags") {
      const etag = `"${set.revision}"`;
      if (init?.headers?.["If-None-Match"] === etag) {
        notModified++;
        return new Response(null, { status: 304 });
      }
      return new Response(JSON.stringify(set), { status: 200, headers: { "Content-Type": "application/json", ETag: etag } });
    }
    return new Response("<html>streaming is not allowed here</html>", { status: 200, headers: { "Content-Type": "text/html" } });
  };
  const c = new WaypostClient({ sdkKey: "wps_x", baseUrl: "http://proxy.invalid", fetch: fetchFn, logger: quiet, backoff: { initialMs: 1, maxMs: 5 } });
  t.after(() => c.close());
  await waitFor(() => c.revision === 1, { message: "initial fetch" });
  const before = c.getBooleanDetail("new-quote", "u1", false).reason;
  set = { ...set, revision: 2, flags: set.flags.map((f) => (f.key === "new-quote" ? modified(set, "new-quote", { enabled: !f.enabled, version: f.version + 1 }) : f)) };
  await waitFor(() => c.revision === 2, { message: "the change arrived by polling" });
  const after = c.getBooleanDetail("new-quote", "u1", false).reason;
  assert.notEqual(after, before, "the flag was switched");
  assert.ok(before === "DISABLED" || after === "DISABLED", `${before} -> ${after}`);
  assert.ok(notModified > 0, "polls are conditional (304 when unchanged)");
});
