// The Node SDK must pass every shared evaluation vector unchanged.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { compileFlagSet, evaluateDetail, WaypostClient, murmur3, murmur3Bytes, bucket } from "@waypost/node";
import { CASES_PATH, REPO_ROOT, jsonEqual } from "./helpers.mjs";
import { resolve } from "node:path";

const file = JSON.parse(readFileSync(CASES_PATH, "utf8"));

test("murmur3 reference values (docs/evaluation.md)", () => {
  assert.equal(murmur3(""), 0);
  assert.equal(murmur3("hello"), 0x248bfa47);
  assert.equal(murmur3("The quick brown fox jumps over the lazy dog"), 0x2e4ff723);
  assert.equal(murmur3("3f9a1c0d2b7e4a11:user-1"), 0x6aabbeb4);
  assert.equal(bucket("3f9a1c0d2b7e4a11", "user-1"), 4166);
});

test("streaming UTF-8 hash equals TextEncoder + reference murmur3 (incl. lone surrogates)", () => {
  const enc = new TextEncoder();
  const samples = ["", "a", "ab", "abc", "abcd", "用户-42", "ünïcödé", "👩‍👩‍👧", "\ud800", "x\udc00y", "\ud83d", "é\ud83d\ude00z", "\u07ff\u0800\uffff"];
  for (let i = 0; i < 2000; i++) {
    let s = "";
    const n = i % 13;
    for (let j = 0; j < n; j++) s += String.fromCharCode(Math.floor(Math.random() * 0x10000));
    samples.push(s);
  }
  for (const s of samples) {
    assert.equal(murmur3(s), murmur3Bytes(enc.encode(s)), JSON.stringify(s));
    assert.equal(murmur3("seed:" + s), murmur3Bytes(enc.encode("seed:" + s)));
  }
});

test("buckets-reference.json", () => {
  const ref = JSON.parse(readFileSync(resolve(REPO_ROOT, "sdk/testdata/buckets-reference.json"), "utf8"));
  const rows = ref.entries;
  assert.ok(rows && rows.length > 10, "reference rows");
  for (const r of rows) {
    const seed = r.seed, id = r.id;
    assert.equal(bucket(seed, id), r.bucket, `${seed}:${id}`);
    if (r.hash !== undefined) assert.equal(murmur3(seed + ":" + id), typeof r.hash === "string" ? parseInt(r.hash, 16) : r.hash);
  }
});

// A case's user: its targeting key, or an OpenFeature context when it has attributes.
function userOf(c) {
  return c.context === undefined ? c.targetingKey : { ...c.context, targetingKey: c.targetingKey };
}

function runCase(get, c) {
  return get(c.type, c.flag, c.targetingKey, c.default);
}

test(`evaluation-cases.json: all ${file.cases.length} cases (evaluateDetail)`, () => {
  const snaps = Object.fromEntries(Object.entries(file.flagSets).map(([k, v]) => [k, compileFlagSet(v)]));
  let n = 0;
  for (const c of file.cases) {
    const d = evaluateDetail(snaps[c.flagSet], c.flag, userOf(c), c.type, c.default);
    const got = { value: d.value, variant: d.variant, reason: d.reason, errorCode: d.errorCode, experimentKey: d.experimentKey, ruleId: d.ruleId };
    assert.ok(jsonEqual(got.value, c.expected.value), `${c.name}: value ${JSON.stringify(got.value)} != ${JSON.stringify(c.expected.value)}`);
    assert.deepEqual({ ...got, value: null }, { ...c.expected, value: null }, c.name);
    n++;
  }
  assert.equal(n, file.cases.length);
});

test("evaluation-cases.json through the client's typed getters and detail calls", async () => {
  const getterFor = { boolean: "getBoolean", string: "getString", number: "getNumber", integer: "getInteger", json: "getJSON" };
  for (const [name, fs] of Object.entries(file.flagSets)) {
    const client = new WaypostClient({
      sdkKey: "wps_test",
      fetch: async () => new Response(JSON.stringify(fs), { status: 200, headers: { etag: `"${fs.revision}"` } }),
      stream: false,
    });
    await client.ready();
    for (const c of file.cases.filter((c) => c.flagSet === name)) {
      const v = client[getterFor[c.type]](c.flag, userOf(c), c.default);
      assert.ok(jsonEqual(v, c.expected.value), `${c.name}: getter value ${JSON.stringify(v)}`);
      const d = client[getterFor[c.type] + "Detail"](c.flag, userOf(c), c.default);
      assert.ok(jsonEqual(d.value, c.expected.value), `${c.name}: detail value`);
      assert.deepEqual(
        { variant: d.variant, reason: d.reason, errorCode: d.errorCode, experimentKey: d.experimentKey, ruleId: d.ruleId },
        { variant: c.expected.variant, reason: c.expected.reason, errorCode: c.expected.errorCode, experimentKey: c.expected.experimentKey, ruleId: c.expected.ruleId },
        c.name,
      );
    }
    client.close();
  }
});
