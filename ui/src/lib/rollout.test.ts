import { describe, expect, it } from "vitest";
import { TOTAL, even, normalize, parsePercent, percent, repair, setWeight, summary } from "./rollout";

const sum = (ws: number[]) => ws.reduce((a, b) => a + b, 0);
const vs = (...keys: string[]) => keys.map((key) => ({ key, name: key, value: key }));

describe("rollout arithmetic", () => {
  it("two variants: the other one gets the rest", () => {
    expect(setWeight([10000, 0], 1, 2550)).toEqual([7450, 2550]);
    expect(setWeight([5000, 5000], 0, 10000)).toEqual([10000, 0]);
  });

  it("three variants: the rest is shared in proportion", () => {
    expect(setWeight([5000, 3000, 2000], 0, 0)).toEqual([0, 6000, 4000]);
    expect(setWeight([0, 5000, 5000], 0, 5000)).toEqual([5000, 2500, 2500]);
  });

  it("others at zero share evenly", () => {
    expect(setWeight([10000, 0, 0], 0, 4000)).toEqual([4000, 3000, 3000]);
  });

  it("clamps out-of-range and non-numbers", () => {
    expect(setWeight([5000, 5000], 0, 12000)).toEqual([10000, 0]);
    expect(setWeight([5000, 5000], 0, -5)).toEqual([0, 10000]);
    expect(setWeight([5000, 5000], 0, Number.NaN)).toEqual([0, 10000]);
  });

  it("a single variant is always 100%", () => {
    expect(setWeight([10000], 0, 10)).toEqual([10000]);
  });

  it("always sums to exactly 100% (random edits)", () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 1; n <= 7; n++) {
      let ws = even(n);
      for (let k = 0; k < 500; k++) {
        ws = setWeight(ws, Math.floor(rnd() * n), Math.floor(rnd() * 12000) - 1000);
        expect(sum(ws)).toBe(TOTAL);
        for (const w of ws) {
          expect(Number.isInteger(w)).toBe(true);
          expect(w).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });

  it("even splits and repairs", () => {
    expect(even(3)).toEqual([3334, 3333, 3333]);
    expect(repair([0, 0])).toEqual([5000, 5000]);
    expect(repair([1, 1, 2])).toEqual([2500, 2500, 5000]);
    expect(sum(repair([1, 2, 3, 4, 5, 6, 7]))).toBe(TOTAL);
  });

  it("normalize orders by variant and fills missing ones", () => {
    expect(normalize(vs("a", "b", "c"), [{ variant: "c", weight: 10000 }])).toEqual([0, 0, 10000]);
    expect(normalize(vs("a", "b"), [{ variant: "gone", weight: 10000 }])).toEqual([5000, 5000]);
  });

  it("percent text round-trips basis points", () => {
    expect(percent(3333)).toBe("33.33");
    expect(percent(5000)).toBe("50");
    expect(parsePercent("25.5")).toBe(2550);
    expect(parsePercent(" 50 %")).toBe(5000);
    expect(parsePercent("12,5")).toBe(1250);
    expect(parsePercent("")).toBeNaN();
    expect(parsePercent("abc")).toBeNaN();
    expect(parsePercent("-3")).toBeNaN();
  });

  it("summarises", () => {
    expect(summary(vs("off", "on"), [{ variant: "on", weight: 10000 }])).toBe("on 100%");
    expect(summary(vs("a", "b"), [{ variant: "a", weight: 2550 }, { variant: "b", weight: 7450 }])).toBe("a 25.5% · b 74.5%");
  });
});
