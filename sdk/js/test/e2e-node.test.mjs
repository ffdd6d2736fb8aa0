// @waypost/node against a provider: the local evaluation of every flag for a
// set of users equals the provider's own OFREP answer. Runs against the fake
// provider, and also against a real one when WAYPOST_E2E_PROVIDER_URL and
// WAYPOST_E2E_SERVER_KEY are set (e.g. `waypost all`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { WaypostClient } from "@waypost/node";
import { startFakeProvider, sampleFlagSet } from "./fake-provider.mjs";
import { jsonEqual } from "./helpers.mjs";

const USERS = ["", "user-1", "user-2", "qa-user", "用户-42", "ünïcödé", "👩‍👩‍👧", ...Array.from({ length: 20 }, (_, i) => `e2e-${i}`)];

async function compareWithOfrep(baseUrl, serverKey) {
  const client = new WaypostClient({ sdkKey: serverKey, baseUrl, logger: { warn() {}, error() {} } });
  try {
    await client.ready();
    const keys = [...client.snapshot.flags.keys()];
    let checked = 0;
    for (const user of USERS) {
      const local = new Map(client.evaluateAll(user).flags.map((f) => [f.key, f]));
      for (const key of keys) {
        const res = await fetch(`${baseUrl}/ofrep/v1/evaluate/flags/${encodeURIComponent(key)}`, {
          method: "POST",
          headers: { Authorization: `Bearer ${serverKey}`, "Content-Type": "application/json" },
          body: JSON.stringify({ context: user === "" ? {} : { targetingKey: user } }),
        });
        if (res.status !== 200) {
          // e.g. TARGETING_KEY_MISSING for an anonymous caller: nothing to compare.
          await res.body?.cancel();
          continue;
        }
        const remote = await res.json();
        const mine = local.get(key);
        assert.ok(jsonEqual(mine.value, remote.value), `${key} for ${JSON.stringify(user)}: local ${JSON.stringify(mine.value)} != provider ${JSON.stringify(remote.value)}`);
        assert.equal(mine.variant, remote.variant, `${key}/${user} variant`);
        assert.equal(mine.reason, remote.reason, `${key}/${user} reason`);
        checked++;
      }
    }
    return checked;
  } finally {
    client.close();
  }
}

test("Node SDK local evaluation == fake provider's OFREP answers", async (t) => {
  const p = await startFakeProvider({ flagSet: sampleFlagSet(1) });
  t.after(() => p.close());
  assert.ok((await compareWithOfrep(p.url, p.serverKey)) > 50);
});

const REAL = process.env.WAYPOST_E2E_PROVIDER_URL;
const KEY = process.env.WAYPOST_E2E_SERVER_KEY;
test(
  "Node SDK local evaluation == real provider's OFREP answers",
  { skip: REAL && KEY ? false : "set WAYPOST_E2E_PROVIDER_URL and WAYPOST_E2E_SERVER_KEY to run against a real provider" },
  async () => {
    const n = await compareWithOfrep(REAL.replace(/\/+$/, ""), KEY);
    assert.ok(n > 0, "compared at least one flag (does the environment have flags?)");
  },
);
