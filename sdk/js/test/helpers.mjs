// Shared helpers for the SDK tests.
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";

export const JS_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO_ROOT = resolve(JS_ROOT, "..", "..");
export const CASES_PATH = resolve(REPO_ROOT, "sdk", "testdata", "evaluation-cases.json");

/** JSON equality with numbers by value and object key order ignored. */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b) return false;
  if (a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && jsonEqual(a[k], b[k]));
}

/** Resolves after ms milliseconds. */
export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls cond() until it is truthy or the timeout expires. */
export async function waitFor(cond, { timeout = 5000, interval = 10, message = "condition" } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${message}`);
    await delay(interval);
  }
}
