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
