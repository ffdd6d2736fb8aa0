// @waypost/node + EventSender against a real Waypost (scripts/test-js.sh
// starts it): a burst of 100,000 evaluations by 100,000 distinct users in a
// running experiment loses no exposure with the default configuration —
// the provider stores every one (its 202 answers count them as inserted).
import { test } from "node:test";
import assert from "node:assert/strict";
import { EventSender, WaypostClient } from "@waypost/node";

const env = process.env;
const ready = env.WAYPOST_E2E_MANAGER_URL && env.WAYPOST_E2E_PROVIDER_URL && env.WAYPOST_E2E_SERVER_KEY && env.WAYPOST_E2E_TOKEN;
const quiet = { warn() {}, error() {}, debug() {} };

async function api(method, path, body) {
  const res = await fetch(`${env.WAYPOST_E2E_MANAGER_URL}/api/v1/projects/default${path}`, {
    method,
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${env.WAYPOST_E2E_TOKEN}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

test("Node SDK: 100,000 distinct users in a burst, zero exposures lost (default configuration)",
  { skip: ready ? false : "run through scripts/test-js.sh to test against a real Waypost" },
  async () => {
    await api("POST", "/metrics", { key: "js-burst-metric", type: "binomial",
      sql: `SELECT user_id, "timestamp" FROM events_metric WHERE metric = 'purchase'` });
    await api("POST", "/flags", { key: "js-burst", name: "JS burst" });
    await api("PATCH", "/flags/js-burst/environments/production", { enabled: true });
    await api("POST", "/experiments", { key: "js-burst-x", flag: "js-burst", environment: "production",
      traffic: 10000, primary_metrics: ["js-burst-metric"] });
    await api("POST", "/experiments/js-burst-x/start");

    const sender = new EventSender({ sdkKey: env.WAYPOST_E2E_SERVER_KEY, baseUrl: env.WAYPOST_E2E_PROVIDER_URL, logger: quiet });
    let client;
    for (let i = 0; ; i++) { // the provider learns of the start through its webhook
      client = new WaypostClient({ sdkKey: env.WAYPOST_E2E_SERVER_KEY, baseUrl: env.WAYPOST_E2E_PROVIDER_URL,
        stream: false, onExposure: sender.exposure, logger: quiet });
      await client.ready();
      if (client.snapshot.flags.get("js-burst")?.expKey === "js-burst-x") break;
      client.close();
      assert.ok(i < 200, "the provider serves the experiment");
      await new Promise((r) => setTimeout(r, 50));
    }
    const users = 100000;
    for (let i = 0; i < users; i++) client.getBoolean("js-burst", `user-${i}`, false);
    client.close();
    await sender.close();
    assert.equal(sender.dropped, 0);
    assert.equal(sender.sent, users);
    assert.equal(sender.inserted, users, "every exposure stored once");
  });
