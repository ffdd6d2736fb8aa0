import { describe, expect, it } from "vitest";
import { diff } from "./diff";
import { parseUserIds, slugify, parseTags } from "./format";

describe("diff", () => {
  it("compares toggles and hides bookkeeping", () => {
    expect(diff({ enabled: false, version: 1 }, { enabled: true, version: 2 })).toEqual([{ path: "enabled", before: false, after: true, kind: "changed" }]);
  });
  it("compares rollouts by variant", () => {
    const rows = diff(
      { rollout: [{ variant: "off", weight: 10000 }, { variant: "on", weight: 0 }], salt: "s", version: 1 },
      { rollout: [{ variant: "off", weight: 5000 }, { variant: "on", weight: 5000 }], salt: "s", version: 2 },
    );
    expect(rows.map((r) => [r.path, r.before, r.after])).toEqual([
      ["rollout[off]", 10000, 5000],
      ["rollout[on]", 0, 5000],
    ]);
  });
  it("compares rules by id", () => {
    const rule = (on: number) => ({ id: "staff", clauses: [], rollout: [{ variant: "off", weight: 10000 - on }, { variant: "on", weight: on }] });
    expect(diff({ rules: [rule(0)] }, { rules: [rule(2500)] }).map((r) => [r.path, r.before, r.after])).toEqual([
      ["rules[staff].rollout[off]", 10000, 7500],
      ["rules[staff].rollout[on]", 0, 2500],
    ]);
  });
  it("lists created and removed values", () => {
    expect(diff(null, { user_id: "u1", variant: "on" }).map((r) => r.kind)).toEqual(["added", "added"]);
    expect(diff({ user_id: "u1", variant: "on" }, null).map((r) => r.path)).toEqual(["user_id", "variant"]);
  });
  it("compares flag edits field by field", () => {
    const rows = diff({ name: "A", tags: ["x"], variants: [{ key: "off", name: "Off", value: false }] }, { name: "B", tags: ["x", "y"], variants: [{ key: "off", name: "Nope", value: false }] });
    expect(rows.map((r) => r.path)).toEqual(["name", "tags", "variants[off].name"]);
  });
});

describe("input parsing", () => {
  it("splits pasted user ids", () => {
    expect(parseUserIds("a\nb, c;d\te  f\n\na")).toEqual(["a", "b", "c", "d", "e", "f"]);
  });
  it("makes keys from names", () => {
    expect(slugify("New Checkout Flow!")).toBe("new-checkout-flow");
    expect(slugify("  Ünïcode  café ")).toBe("unicode-cafe");
    expect(slugify("--x")).toBe("x");
  });
  it("parses tags", () => {
    expect(parseTags("Checkout, web  web,team:ui")).toEqual(["checkout", "web", "team:ui"]);
  });
});
