// @waypost/browser passes the shared targeting vectors through server-side
// evaluation: every case of the `targeting` flag set, read through the
// browser client's public API (setContext, typed detail getters) against a
// local OFREP endpoint that evaluates the context it receives with
// @waypost/node. The context must reach the provider intact (attribute
// types, unicode, lists, nulls) and the answer's details must surface.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { WaypostBrowserClient } from "@waypost/browser";
import { startFakeProvider } from "./fake-provider.mjs";
import { CASES_PATH, jsonEqual } from "./helpers.mjs";

const file = JSON.parse(readFileSync(CASES_PATH, "utf8"));
const quiet = { warn() {}, error() {} };
const getterFor = { boolean: "getBooleanDetail", string: "getStringDetail", number: "getNumberDetail", integer: "getIntegerDetail", json: "getJSONDetail" };

/** The `targeting` cases grouped by evaluation context (one bulk request each), in file order. */
function casesByContext() {
  const groups = new Map();
  for (const c of file.cases.filter((c) => c.flagSet === "targeting")) {
    const id = JSON.stringify([c.targetingKey, c.context]);
    if (!groups.has(id)) groups.set(id, { context: { ...(c.context ?? {}), targetingKey: c.targetingKey }, cases: [] });
    groups.get(id).cases.push(c);
  }
  return [...groups.values()];
}

test("evaluation-cases.json, targeting set: every case through @waypost/browser and OFREP", async (t) => {
  const p = await startFakeProvider({ flagSet: file.flagSets.targeting });
  t.after(() => p.close());
  const groups = casesByContext();
  const client = new WaypostBrowserClient({
    baseUrl: p.url,
    clientKey: p.clientKey,
    context: groups[0].context,
    storage: null,
    stream: false,
    autoStart: false,
    logger: quiet,
  });
  t.after(() => client.close());
  let n = 0;
  for (const [i, { context, cases }] of groups.entries()) {
    if (i === 0) {
      client.start();
      await client.ready();
    } else {
      await client.setContext(context);
    }
    const bulk = p.requestsTo("/ofrep/v1/evaluate/flags");
    assert.equal(bulk.length, i + 1, "one bulk request per context");
    assert.deepEqual(bulk.at(-1).context, context, `context sent intact: ${JSON.stringify(context)}`);
    for (const c of cases) {
      const d = client[getterFor[c.type]](c.flag, c.default);
      assert.ok(jsonEqual(d.value, c.expected.value), `${c.name}: value ${JSON.stringify(d.value)} != ${JSON.stringify(c.expected.value)}`);
      assert.deepEqual(
        { variant: d.variant, reason: d.reason, errorCode: d.errorCode, experimentKey: d.experimentKey, ruleId: d.ruleId },
        { variant: c.expected.variant, reason: c.expected.reason, errorCode: c.expected.errorCode, experimentKey: c.expected.experimentKey, ruleId: c.expected.ruleId },
        c.name,
      );
      n++;
    }
  }
  assert.equal(n, file.cases.filter((c) => c.flagSet === "targeting").length);
  t.diagnostic(`${n} cases over ${groups.length} contexts`);
});
