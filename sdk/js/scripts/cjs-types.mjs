// Copies the .d.ts files (and their maps) of the ESM build next to the CommonJS bundle and
// marks that folder as CommonJS, so `require` consumers get the same types.
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [from, to] = process.argv.slice(2);
for (const f of readdirSync(from)) {
  if (f.endsWith(".d.ts") || f.endsWith(".d.ts.map")) copyFileSync(join(from, f), join(to, f));
}
writeFileSync(join(to, "package.json"), '{"type":"commonjs"}\n');
