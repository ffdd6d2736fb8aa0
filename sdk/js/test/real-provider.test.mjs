// @waypost/node against a real Waypost: a toggle made through the manager's
// REST API reaches the SDK through a real provider, and the SDK survives a
// provider restart (serving the last flags meanwhile, then catching up).
// scripts/test-js.sh starts Waypost on a fresh database and sets:
//   WAYPOST_E2E_BIN (the waypost binary), WAYPOST_E2E_DATABASE_URL,
//   WAYPOST_E2E_MANAGER_URL, WAYPOST_E2E_SERVER_KEY, WAYPOST_E2E_FLAG.
// This test runs its own provider process so that it can restart it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { WaypostClient } from "@waypost/node";

const env = process.env;
const ready = env.WAYPOST_E2E_BIN && env.WAYPOST_E2E_DATABASE_URL && env.WAYPOST_E2E_MANAGER_URL && env.WAYPOST_E2E_SERVER_KEY;
const FLAG = env.WAYPOST_E2E_FLAG ?? "e2e-toggle";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

async function waitFor(cond, what, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function startProvider(addr) {
  const child = spawn(env.WAYPOST_E2E_BIN, ["provider"], {
    env: { ...env, WAYPOST_DATABASE_URL: env.WAYPOST_E2E_DATABASE_URL, WAYPOST_PROVIDER_ADDR: addr, WAYPOST_LOG_LEVEL: "warn" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise((r) => child.on("exit", r));
  await waitFor(async () => {
    try {
      return (await fetch(`http://${addr}/readyz`)).ok;
    } catch {
      return false;
    }
  }, "the provider to be ready");
  return { stop: async () => { child.kill("SIGTERM"); await exited; } };
}

async function toggle(on) {
  const res = await fetch(`${env.WAYPOST_E2E_MANAGER_URL}/api/v1/projects/default/flags/${FLAG}/environments/production`, {
    method: "PATCH",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${env.WAYPOST_E2E_TOKEN}` },
    body: JSON.stringify({ enabled: on }),
  });
  assert.equal(res.status, 200, await res.text());
}

test("Node SDK: manager toggle reaches it through a real provider; survives a provider restart",
  { skip: ready ? false : "run through scripts/test-js.sh to test against a real Waypost" },
  async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    let provider = await startProvider(addr);
    const client = new WaypostClient({
      sdkKey: env.WAYPOST_E2E_SERVER_KEY, baseUrl: `http://${addr}`,
      backoff: { initialMs: 50, maxMs: 300 }, logger: { warn() {}, error() {} },
    });
    try {
      await client.ready();
      await toggle(false);
      await waitFor(() => client.getBoolean(FLAG, "jill", true) === false, "the flag to be off");

      const changed = new Promise((resolve) => {
        const off = client.on("change", (ev) => { off(); resolve(ev); });
      });
      await toggle(true);
      const ev = await changed;
      assert.ok(JSON.stringify(ev).includes(FLAG), `change event names the flag: ${JSON.stringify(ev)}`);
      assert.equal(client.getBoolean(FLAG, "jill", false), true);

      await provider.stop();
      assert.equal(client.getBoolean(FLAG, "jill", false), true, "last known flags while the provider is down");
      await toggle(false); // changed while no provider runs

      provider = await startProvider(addr);
      await waitFor(() => client.getBoolean(FLAG, "jill", true) === false, "the SDK to catch up after the restart");
    } finally {
      client.close();
      await provider.stop();
    }
  });
