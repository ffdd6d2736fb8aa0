// @waypost/browser, @waypost/react and the official OpenFeature web client
// (@openfeature/web-sdk + @openfeature/ofrep-web-provider) in real headless
// Chromium (Debian's /usr/bin/chromium via playwright-core).
//
// Target: by default a local fake provider (test/fake-provider.mjs). With
// WAYPOST_E2E_PROVIDER_URL and WAYPOST_E2E_CLIENT_KEY set, the shared tests
// run against that provider instead (it must allow CORS from the test page's
// origin); WAYPOST_E2E_FLAG names a boolean flag (default "e2e-toggle") and,
// optionally, WAYPOST_E2E_TOGGLE_CMD is a shell command that sets it to
// $WAYPOST_E2E_TOGGLE_TO ("true"/"false"); without it the toggle steps are
// skipped. Tests that need a misbehaving provider always use the fake.
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execSync } from "node:child_process";
import { startFakeProvider, sampleFlagSet, modified } from "./fake-provider.mjs";
import { buildBundle } from "./browser/build.mjs";

const CHROMIUM = process.env.WAYPOST_CHROMIUM ?? "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: browser tests skipped (apt-get install -y chromium)`;
if (skip) console.log(`# SKIP browser tests: ${skip}`);

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>waypost test</title></head>
<body><div id="sdk"></div><div id="root">__SSR__</div><script src="/app.js"></script></body></html>`;

const REAL_URL = process.env.WAYPOST_E2E_PROVIDER_URL;
const REAL_KEY = process.env.WAYPOST_E2E_CLIENT_KEY;
const useReal = Boolean(REAL_URL && REAL_KEY);

describe("browser (headless Chromium)", { skip, timeout: 240_000 }, () => {
  let browser;
  let fake; // always running: serves the pages, and is the provider unless useReal
  let dir;
  let target;
  let ssrHtml = "";

  before(async () => {
    const { chromium } = await import("playwright-core");
    dir = mkdtempSync(join(tmpdir(), "waypost-browser-"));
    await buildBundle(dir);
    fake = await startFakeProvider({
      flagSet: sampleFlagSet(1),
      staticDir: dir,
      pages: { "/index.html": PAGE.replace("__SSR__", ""), "/ssr.html": () => PAGE.replace("__SSR__", ssrHtml) },
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    if (useReal) {
      const flag = process.env.WAYPOST_E2E_FLAG ?? "e2e-toggle";
      const cmd = process.env.WAYPOST_E2E_TOGGLE_CMD;
      target = {
        name: `real provider ${REAL_URL}`,
        url: REAL_URL.replace(/\/+$/, ""),
        key: REAL_KEY,
        flag,
        user: "e2e-user-1",
        toggle: cmd ? async (on) => execSync(cmd, { stdio: "inherit", env: { ...process.env, WAYPOST_E2E_TOGGLE_TO: String(on) } }) : null,
      };
    } else {
      let rev = 0;
      target = {
        name: "fake provider",
        url: fake.url,
        key: fake.clientKey,
        flag: "new-quote",
        user: "alice",
        toggle: async (on) => {
          rev++;
          fake.patch([
            modified(fake.state.flagSet, "new-quote", {
              rollout: [{ variant: "off", weight: on ? 0 : 10000 }, { variant: "on", weight: on ? 10000 : 0 }],
              version: 10 + rev,
            }),
          ]);
        },
      };
    }
    console.log(`# browser tests against the ${target.name}`);
  });

  after(async () => {
    await browser?.close();
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The provider's own answer for one flag (OFREP single-flag endpoint). */
  async function providerValue(flag, user) {
    const res = await fetch(`${target.url}/ofrep/v1/evaluate/flags/${encodeURIComponent(flag)}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${target.key}`, "Content-Type": "application/json" },
      body: JSON.stringify({ context: { targetingKey: user } }),
    });
    assert.equal(res.status, 200, `OFREP ${flag}`);
    return (await res.json()).value;
  }

  async function newPage(path = "/index.html") {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const logs = [];
    page.on("console", (m) => m.type() === "error" && logs.push(m.text()));
    page.on("pageerror", (e) => logs.push(String(e)));
    await page.goto(fake.url + path);
    return { page, ctx, logs };
  }

  const text = (page, sel) => page.locator(sel).textContent();
  async function waitText(page, sel, expected, timeout = 10000) {
    await page.waitForFunction(([s, e]) => document.querySelector(s)?.textContent === e, [sel, expected], { timeout });
  }

  test("@waypost/browser: value from the provider, then a toggle without reload (SSE refetch with If-None-Match)", async () => {
    const { page, ctx, logs } = await newPage();
    const initial = await providerValue(target.flag, target.user);
    await page.evaluate(([url, key, user, flag]) => window.mountSdkDemo({ baseUrl: url, clientKey: key, context: { targetingKey: user } }, flag), [
      target.url,
      target.key,
      target.user,
      target.flag,
    ]);
    // The demo renders the default (false) at once: when the provider's
    // value is false too, the text matches before the network answers, so
    // wait for the answer itself, then check the value it brought.
    await page.waitForFunction(() => document.querySelector("#sdk")?.dataset.source === "network", null, { timeout: 10000 });
    assert.equal(await text(page, "#sdk"), `${target.flag}=${initial}`);
    if (target.toggle) {
      await page.waitForFunction(() => window.client && window.client.es && window.client.es.readyState === 1);
      await target.toggle(!initial);
      await waitText(page, "#sdk", `${target.flag}=${!initial}`);
      await target.toggle(initial);
      await waitText(page, "#sdk", `${target.flag}=${initial}`);
      if (!useReal) {
        const bulk = fake.requestsTo("/ofrep/v1/evaluate/flags");
        assert.ok(bulk.some((r) => r.headers["if-none-match"]), "re-fetch sent If-None-Match");
        assert.ok(fake.requestsTo("/ofrep/v1/events").length >= 1, "event stream opened");
      }
    } else {
      test.diagnostic?.("toggle skipped: WAYPOST_E2E_TOGGLE_CMD not set");
    }
    assert.deepEqual(logs, []);
    await ctx.close();
  });

  test("@waypost/browser: a returning visitor gets cached values before the network answers", async () => {
    const { page, ctx } = await newPage();
    const opts = { baseUrl: fake.url, clientKey: fake.clientKey, context: { targetingKey: "carol" } };
    await page.evaluate((o) => window.mountSdkDemo(o, "new-quote"), opts);
    await page.waitForFunction(() => document.querySelector("#sdk").dataset.source === "network");
    const want = await text(page, "#sdk");
    fake.state.intercept = (req, url) => (url.pathname === "/ofrep/v1/evaluate/flags" ? { hang: true } : undefined);
    try {
      await page.reload();
      const r = await page.evaluate((o) => window.mountSdkDemo(o, "new-quote"), opts);
      assert.equal(r.source, "cache");
      assert.equal(r.text, want, "cached value on the first render");
      // Another context has no cache entry: defaults.
      const other = await page.evaluate(() => {
        void window.client.setContext({ targetingKey: "dave" }); // hangs on the network; check what is served meanwhile
        return window.client.source;
      });
      assert.equal(other, "none");
    } finally {
      fake.state.intercept = null;
    }
    await ctx.close();
  });

  test("@waypost/browser: setContext re-fetches for the new user", async () => {
    const { page, ctx } = await newPage();
    await page.evaluate((o) => window.mountSdkDemo(o, "exp"), { baseUrl: fake.url, clientKey: fake.clientKey, context: { targetingKey: "someone" } });
    await page.waitForFunction(() => document.querySelector("#sdk").dataset.source === "network");
    await page.evaluate(() => window.client.setContext({ targetingKey: "qa-user" }));
    await waitText(page, "#sdk", "exp=true");
    assert.equal(await page.locator("#sdk").getAttribute("data-reason"), "TARGETING_MATCH");
    const last = fake.requestsTo("/ofrep/v1/evaluate/flags").at(-1);
    assert.ok(last, "bulk request");
    await ctx.close();
  });

  test("@waypost/browser: bootstrap values render with no flicker while the provider hangs; unreachable provider serves defaults", async () => {
    const { page, ctx } = await newPage();
    fake.state.intercept = (req, url) => (url.pathname === "/ofrep/v1/evaluate/flags" ? { hang: true } : undefined);
    try {
      const r = await page.evaluate(
        (o) => window.mountSdkDemo(o, "new-quote"),
        { baseUrl: fake.url, clientKey: fake.clientKey, context: { targetingKey: "erin" }, bootstrap: { flags: [{ key: "new-quote", value: true, variant: "on", reason: "STATIC" }] } },
      );
      assert.deepEqual(r, { source: "bootstrap", text: "new-quote=true" });
    } finally {
      fake.state.intercept = null;
    }
    const r2 = await page.evaluate(() => window.mountSdkDemo({ baseUrl: "http://127.0.0.1:9", clientKey: "wpc_x", context: { targetingKey: "zed" }, storage: null, backoff: { initialMs: 50, maxMs: 100 } }, "new-quote"));
    assert.deepEqual(r2, { source: "none", text: "new-quote=false" });
    await ctx.close();
  });

  test("@waypost/react: hooks render the provider's values and re-render on change", async () => {
    const { page, ctx, logs } = await newPage();
    const initial = await providerValue(target.flag, target.user);
    await page.evaluate(([url, key, user, flag]) => window.mountReactDemo({ baseUrl: url, clientKey: key, context: { targetingKey: user } }, flag), [
      target.url,
      target.key,
      target.user,
      target.flag,
    ]);
    await waitText(page, "#flag", `${target.flag}=${initial}`);
    if (target.toggle) {
      await page.waitForFunction(() => window.reactClient.es && window.reactClient.es.readyState === 1);
      const before = Number(await text(page, "#renders"));
      await target.toggle(!initial);
      await waitText(page, "#flag", `${target.flag}=${!initial}`);
      assert.ok(Number(await text(page, "#renders")) > before, "re-rendered");
      await target.toggle(initial);
      await waitText(page, "#flag", `${target.flag}=${initial}`);
    }
    assert.deepEqual(logs, []);
    await ctx.close();
  });

  test("@waypost/react: unreachable provider still renders (defaults)", async () => {
    const { page, ctx } = await newPage();
    await page.evaluate(() => window.mountReactDemo({ baseUrl: "http://127.0.0.1:9", clientKey: "wpc_x", context: { targetingKey: "u" }, storage: null }, "new-quote"));
    await waitText(page, "#flag", "new-quote=false");
    assert.equal(await text(page, "#banner"), "default banner");
    assert.equal(await text(page, "#reason"), "ERROR");
    await ctx.close();
  });

  test("@waypost/react: server-rendered HTML hydrates with bootstrap values, no mismatch, then goes live", async () => {
    const React = await import("react");
    const { renderToString } = await import("react-dom/server");
    const { WaypostProvider, useFlag, useFlagDetail } = await import("@waypost/react");
    const { WaypostClient } = await import("@waypost/node");
    // Server side: the Node SDK evaluates for the user and bootstraps the page.
    const server = new WaypostClient({ sdkKey: fake.serverKey, baseUrl: fake.url, stream: false, logger: { warn() {}, error() {} } });
    await server.ready();
    const bootstrap = server.evaluateAll("frank");
    server.close();
    // Same component as entry.jsx's Demo (first render count is 1).
    function Demo({ flag }) {
      const on = useFlag(flag, false);
      const banner = useFlagDetail("banner", "default banner");
      return React.createElement(
        "div",
        null,
        React.createElement("span", { id: "flag" }, `${flag}=${on}`),
        React.createElement("span", { id: "banner" }, banner.value),
        React.createElement("span", { id: "reason" }, banner.reason),
        React.createElement("span", { id: "renders" }, 1),
      );
    }
    ssrHtml = renderToString(React.createElement(WaypostProvider, { bootstrap }, React.createElement(Demo, { flag: "new-quote" })));
    assert.match(ssrHtml, /new-quote=true/);
    assert.match(ssrHtml, /Hello/);

    const { page, ctx, logs } = await newPage("/ssr.html");
    assert.equal(await text(page, "#flag"), "new-quote=true", "server HTML before any script work");
    fake.state.intercept = (req, url) => (url.pathname === "/ofrep/v1/evaluate/flags" ? { status: 503, body: {} } : undefined);
    await page.evaluate(
      ([o, b]) => window.mountReactDemo(o, "new-quote", b),
      [{ baseUrl: fake.url, clientKey: fake.clientKey, context: { targetingKey: "frank" }, storage: null }, bootstrap],
    );
    await page.waitForTimeout(200);
    assert.deepEqual(await page.evaluate(() => window.errors), []);
    assert.equal(await text(page, "#flag"), "new-quote=true");
    fake.state.intercept = null;
    fake.patch([modified(fake.state.flagSet, "banner", { rollout: [{ variant: "a", weight: 0 }, { variant: "b", weight: 10000 }], version: 50 })]);
    await page.evaluate(() => window.reactClient.setContext({ targetingKey: "frank" }));
    await waitText(page, "#banner", "Welcome");
    assert.deepEqual(logs.filter((l) => !/503/.test(l)), []);
    fake.patch([modified(fake.state.flagSet, "banner", { rollout: [{ variant: "a", weight: 10000 }, { variant: "b", weight: 0 }], version: 51 })]);
    await ctx.close();
  });

  test("OpenFeature web SDK + OFREP web provider: evaluates and gets a change event", async () => {
    const { page, ctx } = await newPage();
    const initial = await providerValue(target.flag, target.user);
    const d = await page.evaluate(([url, key, user, flag]) => window.startOpenFeature(url, key, user, flag), [target.url, target.key, target.user, target.flag]);
    assert.equal(d.value, initial);
    assert.equal(d.errorCode, undefined);
    if (!useReal) {
      const s = await page.evaluate(() => window.ofClient.getStringDetails("banner", "x"));
      assert.equal(s.value, "Hello");
      assert.equal(s.variant, "a");
      assert.equal(s.reason, "STATIC");
      const missing = await page.evaluate(() => window.ofClient.getBooleanDetails("no-such-flag", true));
      assert.equal(missing.value, true);
      assert.equal(missing.errorCode, "FLAG_NOT_FOUND");
    }
    if (target.toggle) {
      await page.waitForTimeout(300); // let the provider open its event stream
      await target.toggle(!initial);
      await page.waitForFunction(() => window.ofEvents.length > 0, null, { timeout: 10000 });
      await page.waitForFunction(([f, v]) => window.ofClient.getBooleanValue(f, !v) === v, [target.flag, !initial], { timeout: 10000 });
      const events = await page.evaluate(() => window.ofEvents);
      assert.ok(events.some((keys) => keys.length === 0 || keys.includes(target.flag)), JSON.stringify(events));
      await target.toggle(initial);
    }
    await ctx.close();
  });
});
