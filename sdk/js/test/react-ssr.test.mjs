// @waypost/react on the server: renderToString with bootstrap values and no
// client, no effects; defaults when nothing is known; the browser client with
// bootstrap values during SSR.
import { test } from "node:test";
import assert from "node:assert/strict";
import React from "react";
import { renderToString } from "react-dom/server";
import { WaypostProvider, useFlag, useFlagDetail } from "@waypost/react";
import { WaypostBrowserClient } from "@waypost/browser";

const h = React.createElement;
function App() {
  const on = useFlag("new-quote", false);
  const limit = useFlag("max-items", 5);
  const cfg = useFlag("cfg", { theme: "light" });
  const d = useFlagDetail("banner", "default");
  const wrong = useFlagDetail("new-quote", "not a string");
  return h("p", null, `on=${on} limit=${limit} theme=${cfg.theme} banner=${d.value}/${d.reason} wrong=${wrong.value}/${wrong.errorCode}`);
}
const bootstrap = {
  flags: [
    { key: "new-quote", value: true, variant: "on", reason: "SPLIT" },
    { key: "max-items", value: 20, variant: "twenty", reason: "STATIC" },
    { key: "cfg", value: { theme: "dark" }, variant: "dark", reason: "STATIC" },
    { key: "banner", errorCode: "GENERAL", errorDetails: "boom" },
  ],
};

test("SSR with bootstrap values and no client", () => {
  const html = renderToString(h(WaypostProvider, { bootstrap }, h(App)));
  assert.match(html, /on=true limit=20 theme=dark banner=default\/ERROR wrong=not a string\/TYPE_MISMATCH/);
});

test("SSR without provider or values renders the defaults", () => {
  assert.match(renderToString(h(App)), /on=false limit=5 theme=light banner=default\/ERROR/);
  assert.match(renderToString(h(WaypostProvider, {}, h(App))), /on=false limit=5 theme=light/);
});

test("SSR with a (not started) browser client and bootstrap", () => {
  const client = new WaypostBrowserClient({ baseUrl: "http://127.0.0.1:9", clientKey: "wpc_x", context: { targetingKey: "u" }, storage: null });
  assert.equal(client.source, "none");
  const html = renderToString(h(WaypostProvider, { client, bootstrap }, h(App)));
  assert.match(html, /on=true limit=20 theme=dark/);
  assert.equal(client.source, "bootstrap");
  client.close();
});
