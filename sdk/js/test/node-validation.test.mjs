// @waypost/node refuses flag sets whose targeting it cannot compile, with a
// message naming the flag, the field and the problem — the same message as
// the Go reference (sdk/eval), checked against it when `go` is on PATH.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFlagSet, ValidationError } from "@waypost/node";
import { REPO_ROOT } from "./helpers.mjs";

/** A boolean flag, 50/50, with extra wire fields. */
function boolFlag(key, extra = {}) {
  return {
    key,
    kind: "boolean",
    variants: [{ key: "off", value: false }, { key: "on", value: true }],
    enabled: true,
    offVariant: "off",
    rollout: [{ variant: "off", weight: 5000 }, { variant: "on", weight: 5000 }],
    salt: "s",
    version: 1,
    ...extra,
  };
}

/** Flag "f" with one rule "r" testing one clause and serving "on". */
const ruleFlag = (clause, rule = {}) => boolFlag("f", { rules: [{ id: "r", clauses: [clause], variant: "on", ...rule }] });

const flagSet = (...flags) => ({ project: "p", environment: "e", revision: 1, flags, segments: [{ key: "beta", included: ["u1"] }] });

// [name, flag set, exact message]. The regex limit is in UTF-8 bytes
// (MAX_REGEX_LEN = Go's MaxRegexLen = 256): 129 "é" are 258 bytes.
const CASES = [
  ["unknown operator", flagSet(ruleFlag({ attribute: "a", op: "like", values: ["x"] })), 'flag "f": rules[0].clauses[0]: rule "r": unknown operator "like"'],
  ["number operator, string value", flagSet(ruleFlag({ attribute: "age", op: "gt", values: ["18"] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: gt needs a number, got "18"'],
  ["string operator, number value", flagSet(ruleFlag({ attribute: "email", op: "ends_with", values: [5] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: ends_with needs a string, got 5'],
  ["semver operator, number value", flagSet(ruleFlag({ attribute: "v", op: "semver_gte", values: [2] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: semver_gte needs a version string, got 2'],
  ["regex over the length limit", flagSet(ruleFlag({ attribute: "e", op: "matches", values: ["a".repeat(257)] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: pattern is 257 bytes long, at most 256 allowed'],
  ["regex over the limit in bytes, not characters", flagSet(ruleFlag({ attribute: "e", op: "matches", values: ["é".repeat(129)] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: pattern is 258 bytes long, at most 256 allowed'],
  ["non-portable regex: flags group", flagSet(ruleFlag({ attribute: "e", op: "matches", values: ["(?i)x"] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: only "(?:" groups are portable'],
  ["non-portable regex: \\s", flagSet(ruleFlag({ attribute: "e", op: "matches", values: ["^a\\sb$"] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: escape \\s is not portable'],
  ["non-portable regex: POSIX class", flagSet(ruleFlag({ attribute: "e", op: "matches", values: ["[[:alpha:]]"] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: POSIX character classes are not portable'],
  ["invalid semver value", flagSet(ruleFlag({ attribute: "v", op: "semver_gt", values: ["17.2.0", "v1"] })), 'flag "f": rules[0].clauses[0]: rule "r": values[1]: "v1" is not a semantic version'],
  ["invalid semver value: leading zero", flagSet(ruleFlag({ attribute: "v", op: "semver_eq", values: ["1.02.0"] })), 'flag "f": rules[0].clauses[0]: rule "r": values[0]: "1.02.0" is not a semantic version'],
  ["rule serving an unknown variant", flagSet(ruleFlag({ attribute: "v", op: "exists" }, { variant: "maybe" })), 'flag "f": rules[0].variant: rule "r": unknown variant "maybe"'],
  ["rule naming an unknown segment", flagSet(ruleFlag({ op: "in_segment", values: ["beta", "nope"] })), 'flag "f": rules[0].clauses[0]: rule "r": values[1]: unknown segment "nope"'],
  [
    "prerequisite cycle",
    flagSet(
      boolFlag("a", { prerequisites: [{ flag: "b", variants: ["on"] }] }),
      boolFlag("b", { prerequisites: [{ flag: "c", variants: ["on"] }] }),
      boolFlag("c", { prerequisites: [{ flag: "a", variants: ["on"] }] }),
    ),
    'flag "a": prerequisites: cycle a -> b -> c -> a',
  ],
];

describe("compileFlagSet refuses targeting it cannot compile", () => {
  for (const [name, fs, message] of CASES) {
    test(name, () => {
      assert.throws(
        () => compileFlagSet(fs),
        (e) => e instanceof ValidationError && e.message === message,
      );
    });
  }

  test("the same rules within the limits compile", () => {
    const ok = [
      ruleFlag({ attribute: "e", op: "matches", values: ["é".repeat(128)] }), // 256 bytes
      ruleFlag({ attribute: "e", op: "matches", values: ["^[a-z0-9.]+@(?:corp|staff)\\.example\\.com$"] }),
      ruleFlag({ attribute: "v", op: "semver_gt", values: ["17.2.0", "1.0.0-rc.1+build.5"] }),
      ruleFlag({ op: "in_segment", values: ["beta"] }),
    ];
    for (const f of ok) assert.doesNotThrow(() => compileFlagSet(flagSet(f)), JSON.stringify(f.rules));
    assert.doesNotThrow(() => compileFlagSet(flagSet(boolFlag("a", { prerequisites: [{ flag: "b", variants: ["on"] }] }), boolFlag("b"))));
  });
});

const goOk = spawnSync("go", ["version"], { encoding: "utf8" }).status === 0;
const skip = goOk ? false : "`go` is not on PATH: comparison with the Go reference skipped";

test("the Go reference refuses the same flag sets with the same messages", { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "waypost-validation-"));
  try {
    const bin = join(dir, "crosscheck");
    const build = spawnSync("go", ["build", "-o", bin, "./eval/internal/crosscheck"], { cwd: join(REPO_ROOT, "sdk"), encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    for (const [name, fs, message] of CASES) {
      // -contexts reads the flag sets from the first line of stdin and stops at the first that does not compile.
      const r = spawnSync(bin, ["-contexts"], { input: JSON.stringify([fs]) + "\n", encoding: "utf8" });
      assert.equal(r.status, 2, `${name}: Go accepted the set`);
      assert.equal(r.stderr.trim(), `crosscheck: flag set 0: eval: compile: ${message}`, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
