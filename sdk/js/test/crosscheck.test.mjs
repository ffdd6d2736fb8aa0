// Cross-check: the Node SDK and the Go reference implementation (sdk/eval)
// agree for 100,000 random users, non-ASCII included, over rollout,
// multivariate and experiment flags.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFlagSet, evaluateDetail } from "@waypost/node";
import { REPO_ROOT } from "./helpers.mjs";

const goOk = spawnSync("go", ["version"], { encoding: "utf8" }).status === 0;
const skip = goOk ? false : "`go` is not on PATH: cross-check with the Go reference skipped (install Go or add /usr/local/go/bin to PATH)";

const bool = (key, salt, off, extra = {}) => ({
  key,
  kind: "boolean",
  variants: [{ key: "off", value: false }, { key: "on", value: true }],
  enabled: true,
  offVariant: "off",
  rollout: [{ variant: "off", weight: off }, { variant: "on", weight: 10000 - off }],
  salt,
  version: 1,
  ...extra,
});

const FLAG_SET = {
  project: "crosscheck",
  environment: "test",
  revision: 7,
  flags: [
    bool("rollout-50", "3f9a1c0d2b7e4a11", 5000, { assignments: { "user-1": "on", "用户-42": "off" } }),
    bool("rollout-10", "1234567890abcdef", 9000),
    bool("salt-unicode", "sält-😀-用户", 3333),
    {
      key: "color",
      kind: "string",
      variants: [
        { key: "control", value: "grey" },
        { key: "red", value: "red" },
        { key: "green", value: "green" },
        { key: "blue", value: "blue" },
      ],
      enabled: true,
      offVariant: "control",
      rollout: [
        { variant: "control", weight: 0 },
        { variant: "red", weight: 3333 },
        { variant: "green", weight: 3333 },
        { variant: "blue", weight: 3334 },
      ],
      salt: "a1b2c3d4e5f60718",
      version: 7,
    },
    {
      key: "price",
      kind: "number",
      variants: [{ key: "low", value: 0.9 }, { key: "base", value: 1 }, { key: "high", value: 1.25 }],
      enabled: true,
      offVariant: "base",
      rollout: [{ variant: "low", weight: 2500 }, { variant: "base", weight: 5000 }, { variant: "high", weight: 2500 }],
      salt: "3c4d5e6f70819203",
      version: 4,
    },
    bool("quote-experiment", "7a2c4e6f8b0d1a3c", 5000, { experiment: { key: "quote-test", traffic: 2000 }, assignments: { "user-1": "on" } }),
    {
      key: "checkout-experiment",
      kind: "string",
      variants: [{ key: "classic", value: "classic" }, { key: "one-page", value: "one-page" }, { key: "wizard", value: "wizard" }],
      enabled: true,
      offVariant: "classic",
      rollout: [{ variant: "classic", weight: 3333 }, { variant: "one-page", weight: 3333 }, { variant: "wizard", weight: 3334 }],
      salt: "8192031425364758",
      version: 5,
      experiment: { key: "checkout-flow", traffic: 5000 },
    },
  ],
};

// A deterministic PRNG (mulberry32) so failures reproduce.
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ["a", "Z", "0", "-", "_", "@", ".", " ", ":", "é", "ü", "ß", "Ω", "ж", "用", "户", "€", "😀", "🚀", "👩‍👩‍👧", "\u0000", "\t", "\"", "\\"];
function randomIds(n, seed) {
  const r = rng(seed);
  const ids = ["", "user-1", "用户-42", "ünïcödé", "👩‍👩‍👧‍👦", "\ud800", "a\udc00b"]; // edge cases incl. lone surrogates
  while (ids.length < n) {
    const kind = Math.floor(r() * 5);
    if (kind === 0) ids.push(`user-${Math.floor(r() * 1e7)}`);
    else if (kind === 1) ids.push(Math.floor(r() * 2 ** 32).toString(16) + "-" + Math.floor(r() * 65536).toString(16));
    else if (kind === 2) ids.push(String.fromCharCode(...Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * 0x10000))));
    else {
      let s = "";
      const l = Math.floor(r() * 24);
      for (let j = 0; j < l; j++) s += PIECES[Math.floor(r() * PIECES.length)];
      ids.push(s);
    }
  }
  return ids;
}

function runGo(args, stdin) {
  return new Promise((resolve, reject) => {
    const p = spawn("go", ["run", "./eval/internal/crosscheck", ...args], { cwd: join(REPO_ROOT, "sdk"), stdio: ["pipe", "pipe", "pipe"] });
    const out = [];
    let err = "";
    p.stdout.on("data", (b) => out.push(b));
    p.stderr.on("data", (b) => (err += b));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out).toString("utf8")) : reject(new Error(`crosscheck exited ${code}: ${err}`))));
    if (stdin !== undefined) p.stdin.end(stdin);
    else p.stdin.end();
  });
}

function compare(snap, keys, lines, idOf) {
  let diffs = [];
  let n = 0;
  const splits = new Map();
  for (const l of lines) {
    if (!l) continue;
    const g = JSON.parse(l);
    const id = idOf(g);
    const js = evaluateRaw(snap, g.flag, id);
    if (js.variant !== g.variant || js.reason !== g.reason || js.experimentKey !== g.experimentKey || js.version !== g.version) {
      if (diffs.length < 10) diffs.push({ id, flag: g.flag, go: g, js });
    }
    const k = `${g.flag}/${g.reason}/${g.variant}`;
    splits.set(k, (splits.get(k) ?? 0) + 1);
    n++;
  }
  return { diffs, n, splits };
}

// Evaluation without the getter type check, mirroring Go's Snapshot.Evaluate.
function evaluateRaw(snap, key, id) {
  const cf = snap.flags.get(key);
  const type = ["boolean", "string", "number", "json"][cf.kind];
  const d = evaluateDetail(snap, key, id, type, null);
  return { variant: d.variant, reason: d.reason, experimentKey: d.experimentKey, version: d.flagVersion };
}

test("Node SDK == Go reference for 100,000 random users (ids from JS via stdin)", { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "waypost-crosscheck-"));
  try {
    const path = join(dir, "flags.json");
    writeFileSync(path, JSON.stringify(FLAG_SET));
    const ids = randomIds(100_000, 20240601);
    const out = await runGo(["-flags", path], ids.map((s) => JSON.stringify(s)).join("\n") + "\n");
    const snap = compileFlagSet(FLAG_SET);
    const keys = [...snap.flags.keys()];
    const lines = out.split("\n");
    const { diffs, n, splits } = compare(snap, keys, lines, (g) => ids[g.i]);
    assert.deepEqual(diffs, [], "differences between Go and JS");
    assert.equal(n, ids.length * keys.length, "one Go line per user and flag");
    // Sanity: about 20% of users enter the experiment; a zero-weight variant is never split to.
    const inExp = (splits.get("quote-experiment/SPLIT/on") ?? 0) + (splits.get("quote-experiment/SPLIT/off") ?? 0);
    assert.ok(inExp > 0.18 * ids.length && inExp < 0.22 * ids.length, `experiment share ${inExp}`);
    assert.equal(splits.get("color/SPLIT/control"), undefined, "zero-weight variant never chosen");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Node SDK == Go reference for 20,000 ids generated by Go (-seed)", { skip, timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "waypost-crosscheck-"));
  try {
    const path = join(dir, "flags.json");
    writeFileSync(path, JSON.stringify(FLAG_SET));
    const out = await runGo(["-flags", path, "-n", "20000", "-seed", "7"]);
    const snap = compileFlagSet(FLAG_SET);
    const lines = out.split("\n");
    const { diffs, n } = compare(snap, [...snap.flags.keys()], lines, (g) => g.user);
    assert.deepEqual(diffs, []);
    assert.equal(n, 20000 * snap.flags.size);
    assert.ok(lines.some((l) => /[^\x00-\x7f]/.test(JSON.parse(l || '{"user":""}').user)), "Go generated non-ASCII ids");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------
// Targeting: 1,000,000 random (flag set, context) pairs. Random flag sets with
// rules over every operator, segments, prerequisites, audiences and layers are
// sent to Go once, then the contexts as JSON lines; each Go answer is compared
// with the Node evaluation of the same context as it arrives (contexts in
// flight wait in a queue bounded by the pipe), so memory stays flat.

const PAIRS = Number(process.env.WAYPOST_CROSSCHECK_PAIRS ?? 1_000_000);

const POOLS = {
  country: ["CA", "US", "FR", "ca", "日本", "Ünïcode", "DE", "", "C1"],
  age: [0, 17, 18, 20, 29, 29.5, 42, 65, -3, 7.5, 1e21],
  plan: ["free", "pro", "team", "enterprise", "Enterprise"],
  appVersion: ["17.2", "17.1.9", "17.2.0-rc.1", "17.2.0-rc.10", "1.0.0-beta.11", "1.0.0-alpha", "2.0.0", "3", "v1", "12.0.0", "1.0.0+b.1", "01.2.3"],
  signup: ["2023-06-15T12:00:00Z", "2025-01-01T00:00:00.1Z", "2024-02-29T23:00:00-01:00", "2023-02-29T00:00:00Z", "bad", "2023-12-31t22:00:00z"],
  email: ["jane@corp.example.com", "bob@example.net", "alice@site.org", "ops@waypost.dev", "x2024@a.b", "plain", "用户@例子.中国"],
  name: ["Dr. Who", "Ωmega", "用户甲", "ü😀", "Bob", "👩‍💻 dev"],
};
const NUM_DATES = [1735689600, 1686830400, 1.7e9, 1735689600.5];
const REGEXES = ["^[a-z]+@", "example\\.(?:net|org)$", "\\d{2,4}", "^(?:用户|ü).", "^.{3,5}$", "[^a-z]", "(?:a|b)+c?", "^$"];
const SEMVERS = ["1.0.0", "17.2", "17.2.0-rc.2", "2", "1.0.0-beta", "12.0.0-0", "3.1.4"];
const DATES = ["2024-01-01T00:00:00Z", "2025-01-01T00:00:00.25+00:00", "2023-06-15T12:00:00Z"];
const KEYS = ["", "user-1", "user-2", "user-3", "用户-42", "big-1", "a", "🚀"];
const ATTRS = ["country", "age", "plan", "appVersion", "signup", "email", "name", "tags", "beta", "companyId", "targetingKey", "missing"];

const pick = (r, xs) => xs[Math.floor(r() * xs.length)];
function anyValue(r) {
  const pool = pick(r, [POOLS.country, POOLS.age, POOLS.plan, POOLS.appVersion, POOLS.email, [true, false]]);
  return pick(r, pool);
}

function randomClause(r, segments) {
  const attr = pick(r, ATTRS);
  const op = pick(r, ["in", "in", "equals", "contains", "starts_with", "ends_with", "matches", "lt", "lte", "gt", "gte",
    "semver_eq", "semver_lt", "semver_lte", "semver_gt", "semver_gte", "before", "after", "exists", "in_segment"].filter((o) => o !== "in_segment" || segments.length > 0));
  const n = 1 + Math.floor(r() * 3);
  const vals = (f) => Array.from({ length: op === "equals" ? 1 : n }, f);
  let values;
  switch (op) {
    case "in": case "equals": values = vals(() => anyValue(r)); break;
    // Prefixes by code point: a lone surrogate is not a Unicode string (Go would read U+FFFD).
    case "contains": case "starts_with": case "ends_with": values = vals(() => Array.from(pick(r, [...POOLS.email, ...POOLS.name, "@", "Dr", "ü", "", "e"]), (x) => x).slice(0, 1 + Math.floor(r() * 4)).join("")); break;
    case "matches": values = vals(() => pick(r, REGEXES)); break;
    case "lt": case "lte": case "gt": case "gte": values = vals(() => pick(r, [18, 29.5, 42, 0, -1, 1e21])); break;
    case "before": case "after": values = vals(() => (r() < 0.5 ? pick(r, DATES) : pick(r, NUM_DATES))); break;
    case "exists": values = []; break;
    case "in_segment": values = vals(() => pick(r, segments)); break;
    default: values = vals(() => pick(r, SEMVERS));
  }
  const c = { op, values, negate: r() < 0.25 };
  if (op !== "in_segment") c.attribute = attr;
  return c;
}

function randomFlagSet(seed) {
  const r = rng(seed);
  const segKeys = ["seg-a", "seg-b", "seg-c"];
  const segments = segKeys.map((key, i) => ({
    key,
    included: KEYS.filter(() => r() < 0.3).filter((k) => k !== ""),
    excluded: KEYS.filter(() => r() < 0.2).filter((k) => k !== ""),
    rules: Array.from({ length: Math.floor(r() * 3) }, (_, j) => ({ id: `s${i}-${j}`, clauses: Array.from({ length: 1 + Math.floor(r() * 2) }, () => randomClause(r, [])) })),
  }));
  const flags = [];
  for (let f = 0; f < 12; f++) {
    const nv = 2 + Math.floor(r() * 3);
    const kind = r() < 0.5 ? "boolean" : "string";
    const variants = kind === "boolean" ? [{ key: "off", value: false }, { key: "on", value: true }] : Array.from({ length: nv }, (_, i) => ({ key: `v${i}`, value: `value-${i}` }));
    const weights = () => {
      if (r() < 0.3) return variants.map((v, i) => ({ variant: v.key, weight: i === 0 ? 10000 : 0 }));
      const w = variants.map(() => Math.floor(r() * 100));
      const total = w.reduce((a, b) => a + b, 0) || 1;
      const out = w.map((x) => Math.floor((x * 10000) / total));
      out[out.length - 1] += 10000 - out.reduce((a, b) => a + b, 0);
      return variants.map((v, i) => ({ variant: v.key, weight: out[i] }));
    };
    const flag = {
      key: `flag-${f}`, kind, variants, enabled: r() < 0.9, offVariant: variants[Math.floor(r() * variants.length)].key,
      rollout: weights(), salt: `salt-${seed}-${f}`, version: 1 + f,
    };
    const nr = Math.floor(r() * 6);
    if (nr > 0) {
      flag.rules = Array.from({ length: nr }, (_, i) => {
        const rule = { id: `r${i}`, clauses: Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomClause(r, segKeys)) };
        if (r() < 0.6) rule.variant = pick(r, variants).key;
        else {
          rule.rollout = weights();
          if (r() < 0.5) rule.bucketBy = pick(r, ["companyId", "email", "targetingKey", "age"]);
        }
        return rule;
      });
    }
    if (f > 0 && r() < 0.3) {
      const p = flags[Math.floor(r() * f)];
      flag.prerequisites = [{ flag: p.key, variants: p.variants.filter(() => r() < 0.6).map((v) => v.key).concat(p.variants[0].key) }];
    }
    if (r() < 0.3) {
      flag.experiment = { key: `exp-${f}`, traffic: Math.floor(r() * 10001) };
      if (r() < 0.5) flag.experiment.audience = [randomClause(r, segKeys)];
      if (r() < 0.5) { const s = Math.floor(r() * 5000); flag.experiment.layer = { key: "layer", start: s, end: s + 1 + Math.floor(r() * 5000) }; }
    }
    if (r() < 0.2) flag.assignments = { "user-1": variants[variants.length - 1].key };
    if (f === 0) {
      // One plain flag per set: no targeting, served to everyone (STATIC).
      delete flag.rules;
      delete flag.experiment;
      flag.enabled = true;
      flag.rollout = variants.map((v, i) => ({ variant: v.key, weight: i === 0 ? 10000 : 0 }));
    }
    flags.push(flag);
  }
  return { project: "crosscheck", environment: `random-${seed}`, revision: seed, flags, segments };
}

function contextAt(i, nsets) {
  const r = rng(0x5eed ^ Math.imul(i + 1, 0x9e3779b1));
  const key = r() < 0.5 ? pick(r, KEYS) : `user-${Math.floor(r() * 1e6)}`;
  const attrs = {};
  for (const [name, pool] of Object.entries(POOLS)) if (r() < 0.5) attrs[name] = pick(r, pool);
  if (r() < 0.3) attrs.tags = [pick(r, POOLS.country), pick(r, POOLS.plan)];
  if (r() < 0.3) attrs.beta = r() < 0.5;
  if (r() < 0.4) attrs.companyId = pick(r, ["acme", "globex", 1234, -77, 12.5, "", null]);
  if (r() < 0.2) attrs.signup = pick(r, NUM_DATES);
  return [i % nsets, key, attrs];
}

function jsLine(snap, keys, key, attrs) {
  const ctx = { ...attrs, targetingKey: key };
  let s = "";
  for (let j = 0; j < keys.length; j++) {
    const cf = snap.flags.get(keys[j]);
    const type = cf.kind === 0 ? "boolean" : "string";
    const d = evaluateDetail(snap, keys[j], ctx, type, null);
    if (j > 0) s += ";";
    s += `${d.variant},${d.reason},${d.ruleId},${d.experimentKey},${d.flagVersion}`;
  }
  return s;
}

test(`Node SDK == Go reference on ${PAIRS.toLocaleString("en")} random (flag set, context) pairs with targeting`, { skip, timeout: 600_000 }, async () => {
  const sets = Array.from({ length: 16 }, (_, i) => randomFlagSet(1000 + i));
  const snaps = sets.map((fs) => compileFlagSet(fs));
  const keys = snaps.map((s) => [...s.flags.keys()].sort());
  const p = spawn("go", ["run", "./eval/internal/crosscheck", "-contexts"], { cwd: join(REPO_ROOT, "sdk"), stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  p.stderr.on("data", (b) => (stderr += b));
  const done = new Promise((resolve, reject) => {
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`crosscheck exited ${code}: ${stderr}`))));
  });

  let n = 0;
  let pending = "";
  let queue = [];
  let head = 0;
  const diffs = [];
  const reasons = new Map();
  p.stdout.setEncoding("utf8");
  p.stdout.on("data", (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const goLine = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const [set, key, attrs] = queue[head++];
      if (head > 65536) {
        queue = queue.slice(head);
        head = 0;
      }
      const js = jsLine(snaps[set], keys[set], key, attrs);
      if (js !== goLine && diffs.length < 5) diffs.push({ i: n, set, key, attrs, go: goLine, js });
      if ((n & 1023) === 0) for (const part of goLine.split(";")) { const k = part.split(",")[1]; reasons.set(k, (reasons.get(k) ?? 0) + 1); }
      n++;
    }
  });

  const write = (s) => (p.stdin.write(s) ? Promise.resolve() : new Promise((res) => p.stdin.once("drain", res)));
  await write(JSON.stringify(sets) + "\n");
  const CHUNK = 4096;
  for (let i = 0; i < PAIRS; i += CHUNK) {
    let buf = "";
    for (let j = i; j < Math.min(PAIRS, i + CHUNK); j++) {
      const c = contextAt(j, sets.length);
      queue.push(c);
      buf += JSON.stringify(c) + "\n";
    }
    await write(buf);
  }
  p.stdin.end();
  await done;
  assert.deepEqual(diffs, [], "differences between Go and JS");
  assert.equal(n, PAIRS, "one Go line per context");
  // Sanity: the random sets exercise rules, splits, prerequisites and experiments.
  for (const reason of ["TARGETING_MATCH", "SPLIT", "DEFAULT", "DISABLED", "PREREQUISITE_FAILED", "STATIC"]) {
    assert.ok((reasons.get(reason) ?? 0) > 0, `reason ${reason} seen (${JSON.stringify([...reasons])})`);
  }
});
