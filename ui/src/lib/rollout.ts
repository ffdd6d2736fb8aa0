// Rollout arithmetic. Weights are integers in basis points (1/100 of a
// percent) and always sum to TOTAL, so what the editor shows is exactly
// what the API stores.
import type { Variant, Weight } from "../api/types";

export const TOTAL = 10000;

const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));

/** Weights in variant order, unknown variants dropped, missing ones at 0; repaired to sum to TOTAL. */
export function normalize(variants: Variant[], rollout: Weight[]): number[] {
  const by = new Map(rollout.map((w) => [w.variant, w.weight]));
  const ws = variants.map((v) => clamp(Math.round(by.get(v.key) ?? 0), 0, TOTAL));
  return repair(ws);
}

/** Makes ws sum to TOTAL: scales proportionally (largest remainder); all-zero becomes an even split. */
export function repair(ws: number[]): number[] {
  if (ws.length === 0) return [];
  const sum = ws.reduce((a, b) => a + b, 0);
  if (sum === TOTAL) return ws.slice();
  if (sum <= 0) return even(ws.length);
  return apportion(ws, TOTAL);
}

/** An even split of TOTAL over n variants (the first ones get the rounding remainder). */
export function even(n: number): number[] {
  if (n <= 0) return [];
  const base = Math.floor(TOTAL / n);
  const out = new Array<number>(n).fill(base);
  for (let i = 0; i < TOTAL - base * n; i++) out[i]++;
  return out;
}

/** Distributes amount over shares in proportion to them (integers, largest remainder; ties to the first). */
function apportion(shares: number[], amount: number): number[] {
  const sum = shares.reduce((a, b) => a + b, 0);
  if (sum <= 0) {
    const base = Math.floor(amount / shares.length);
    const out = shares.map(() => base);
    for (let i = 0; i < amount - base * shares.length; i++) out[i]++;
    return out;
  }
  const exact = shares.map((s) => (s * amount) / sum);
  const out = exact.map(Math.floor);
  let left = amount - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k].i]++;
  return out;
}

/**
 * Sets variant i to value (clamped to 0..TOTAL) and gives the difference to,
 * or takes it from, the other variants in proportion to their weights, so
 * the total stays TOTAL. With one variant its weight is always TOTAL.
 */
export function setWeight(ws: number[], i: number, value: number): number[] {
  if (ws.length <= 1) return ws.map(() => TOTAL);
  const v = clamp(Math.round(Number.isFinite(value) ? value : 0), 0, TOTAL);
  const others = ws.map((w, j) => (j === i ? 0 : w));
  const rest = apportion(
    others.filter((_, j) => j !== i),
    TOTAL - v,
  );
  const out: number[] = [];
  let k = 0;
  for (let j = 0; j < ws.length; j++) out.push(j === i ? v : rest[k++]);
  return out;
}

/** Everything to variant i. */
export function allTo(n: number, i: number): number[] {
  return Array.from({ length: n }, (_, j) => (j === i ? TOTAL : 0));
}

export function toWeights(variants: Variant[], ws: number[]): Weight[] {
  return variants.map((v, i) => ({ variant: v.key, weight: ws[i] ?? 0 }));
}

/** Basis points as a percent string: 5000 → "50", 3333 → "33.33". */
export function percent(bp: number): string {
  return String(Math.round(bp) / 100);
}

/** A percent as typed ("33.3", "50 %") to basis points; NaN when unreadable. */
export function parsePercent(s: string): number {
  const t = s.replace("%", "").replace(",", ".").trim();
  if (t === "" || !/^\d*\.?\d*$/.test(t)) return NaN;
  const n = Number(t);
  return Number.isFinite(n) ? Math.round(n * 100) : NaN;
}

/** A short human summary: "on 100%", "a 50% · b 50%". */
export function summary(variants: Variant[], rollout: Weight[]): string {
  const ws = normalize(variants, rollout);
  const full = ws.findIndex((w) => w === TOTAL);
  if (full >= 0) return `${variants[full].name || variants[full].key} 100%`;
  return variants
    .map((v, i) => ({ v, w: ws[i] }))
    .filter((x) => x.w > 0)
    .map((x) => `${x.v.name || x.v.key} ${percent(x.w)}%`)
    .join(" · ");
}
