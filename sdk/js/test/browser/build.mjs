// Bundles entry.jsx for the browser tests (esbuild, development mode React).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export async function buildBundle(outdir) {
  const here = dirname(fileURLToPath(import.meta.url));
  await build({
    entryPoints: [join(here, "entry.jsx")],
    outfile: join(outdir, "app.js"),
    bundle: true,
    format: "iife",
    jsx: "automatic",
    target: "es2020",
    sourcemap: "inline",
    define: { "process.env.NODE_ENV": '"development"' },
    logLevel: "warning",
  });
  return join(outdir, "app.js");
}
