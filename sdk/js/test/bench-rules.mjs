// npm run bench:rules: local evaluation of the Go SDK's benchmark flag
// (sdk/eval BenchmarkEvaluateRules5x3): 5 rules x 3 clauses (string in,
// semver, number), contexts matching the last rule. Prints ns/op.
import { compileFlagSet, evaluateFlag } from "@waypost/node";

const rules = [];
for (let i = 1; i <= 5; i++) {
  rules.push({
    id: `rule-${i}`,
    variant: "on",
    clauses: [
      { attribute: "country", op: "in", values: ["CA", "US", "MX", `C${i}`] },
      { attribute: "appVersion", op: "semver_gte", values: [`${16 + i}.2.0`] },
      { attribute: "age", op: "gte", values: [10 * i] },
    ],
  });
}
const snapshot = compileFlagSet({
  project: "bench",
  environment: "bench",
  revision: 1,
  flags: [
    {
      key: "rules",
      kind: "boolean",
      variants: [{ key: "off", value: false }, { key: "on", value: true }],
      enabled: true,
      offVariant: "off",
      rollout: [{ variant: "off", weight: 5000 }, { variant: "on", weight: 5000 }],
      salt: "3f9a1c0d2b7e4a11",
      version: 1,
      rules,
    },
  ],
});

const N_CTX = 1024;
const contexts = Array.from({ length: N_CTX }, (_, i) => ({
  targetingKey: `member-${i * 97}`,
  country: "C5",
  appVersion: "21.2.0",
  age: 50 + (i % 10),
  plan: "pro",
  email: "x@y.z",
}));
const N = Number(process.env.BENCH_N ?? 5_000_000);

// The same work as the Go benchmark's EvaluateContext: the flag lookup by
// key, then the evaluation.
function run(n) {
  let on = 0;
  for (let i = 0; i < n; i++) {
    const ctx = contexts[i & (N_CTX - 1)];
    const cf = snapshot.flags.get("rules");
    if (evaluateFlag(cf, ctx.targetingKey, ctx) >>> 3 === 1) on++;
  }
  return on;
}

if (run(1000) !== 1000) throw new Error("the last rule should match every context");
run(1_000_000); // warm-up
let best = Infinity;
for (let round = 0; round < 5; round++) {
  const t0 = process.hrtime.bigint();
  run(N);
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / N);
}
console.log(`BenchmarkNodeEvaluateRules5x3 ${N} ${best.toFixed(1)} ns/op (best of 5, node ${process.version})`);
