// npm run bench: local evaluation throughput of a 50/50 rollout flag, one core.
import { WaypostClient } from "@waypost/node";

const flagSet = {
  project: "bench",
  environment: "bench",
  revision: 1,
  flags: [
    {
      key: "rollout-50",
      kind: "boolean",
      variants: [{ key: "off", value: false }, { key: "on", value: true }],
      enabled: true,
      offVariant: "off",
      rollout: [{ variant: "off", weight: 5000 }, { variant: "on", weight: 5000 }],
      salt: "3f9a1c0d2b7e4a11",
      version: 1,
    },
  ],
};

const client = new WaypostClient({
  sdkKey: "wps_bench",
  stream: false,
  fetch: async () => new Response(JSON.stringify(flagSet), { status: 200 }),
});
await client.ready();

const USERS = 4096;
const ids = Array.from({ length: USERS }, (_, i) => `user-${(i * 2654435761) >>> 0}`); // ~15-char ids
const N = Number(process.env.BENCH_N ?? 20_000_000);

function run(n) {
  let on = 0;
  for (let i = 0; i < n; i++) if (client.getBoolean("rollout-50", ids[i & (USERS - 1)], false)) on++;
  return on;
}

run(2_000_000); // warm-up
let best = 0;
let share = 0;
for (let round = 0; round < 3; round++) {
  const t0 = process.hrtime.bigint();
  const on = run(N);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  best = Math.max(best, N / s);
  share = on / N;
}
const target = 5_000_000;
console.log(`getBoolean, 50/50 rollout, ${USERS} distinct ids: ${(best / 1e6).toFixed(1)} M evaluations/s (best of 3 x ${N / 1e6} M), ${(1e9 / best).toFixed(0)} ns/eval, on share ${(share * 100).toFixed(2)}%`);
console.log(best >= target ? `OK: >= ${target / 1e6} M/s target` : `BELOW the ${target / 1e6} M/s target`);
client.close();
process.exitCode = best >= target ? 0 : 1;
