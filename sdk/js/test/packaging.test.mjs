// The npm packages install the way users install them: `npm pack` each
// workspace package, install the tarballs (and React from the registry)
// into a fresh project outside the repository, then load them with
// `import`, with `require`, and type-check them with `tsc --noEmit` under
// Node's ESM and CommonJS resolution and under bundler resolution.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const packages = ["node", "browser", "react"];
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

test("packed tarballs install and load with import, require and tsc", { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "waypost-npm-"));
  try {
    const packDir = join(dir, "packs");
    mkdirSync(packDir);
    const tarballs = [];
    for (const p of packages) {
      const out = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", packDir], join(root, "packages", p)));
      const files = out[0].files.map((f) => f.path);
      assert.ok(files.includes("dist/esm/index.js") && files.includes("dist/cjs/index.js"), `${p}: ESM and CJS builds packed`);
      assert.ok(files.includes("README.md") && files.some((f) => f.startsWith("src/")), `${p}: README and sources packed`);
      tarballs.push(join(packDir, out[0].filename));

      const pkg = JSON.parse(readFileSync(join(root, "packages", p, "package.json"), "utf8"));
      assert.equal(pkg.publishConfig?.access, "public", `${p}: publishConfig.access`);
      assert.match(pkg.repository?.url ?? "", /^git\+https:\/\//, `${p}: repository`);
      assert.ok(pkg.engines?.node, `${p}: engines.node`);
      for (const f of readdirSync(join(root, "packages", p, "dist", "esm")).filter((f) => f.endsWith(".js.map"))) {
        const map = JSON.parse(readFileSync(join(root, "packages", p, "dist", "esm", f), "utf8"));
        assert.ok(map.sourcesContent?.every((s) => typeof s === "string" && s.length > 0), `${p}/${f}: sourcesContent`);
      }
      const cjsMap = JSON.parse(readFileSync(join(root, "packages", p, "dist", "cjs", "index.js.map"), "utf8"));
      assert.ok(cjsMap.sourcesContent?.length > 0, `${p}: CJS sourcesContent`);
      // README links must work on npmjs.com: absolute, or anchors.
      const readme = readFileSync(join(root, "packages", p, "README.md"), "utf8");
      for (const [, href] of readme.matchAll(/\]\(([^)]+)\)/g)) {
        assert.match(href, /^(https:\/\/|#)/, `${p}/README.md: link ${href} does not work once published`);
      }
    }

    const app = join(dir, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
    // @waypost/react's range for @waypost/browser must resolve to the packed
    // browser tarball: npm would fetch it from the registry otherwise.
    run("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", ...tarballs, "react@19", "react-dom@19", "@types/react@19", "@types/node@20"], app);
    const lsOut = JSON.parse(run("npm", ["ls", "--json", "--all"], app));
    assert.equal(lsOut.dependencies["@waypost/react"].dependencies["@waypost/browser"].version, "0.1.0");
    assert.match(lsOut.dependencies["@waypost/react"].dependencies["@waypost/browser"].resolved ?? "file:", /^file:/);

    writeFileSync(join(app, "esm.mjs"), `
import { WaypostClient } from "@waypost/node";
import { WaypostBrowserClient } from "@waypost/browser";
import { WaypostProvider, useFlag } from "@waypost/react";
for (const [n, v] of Object.entries({ WaypostClient, WaypostBrowserClient, WaypostProvider, useFlag })) if (typeof v !== "function") throw new Error(n);
console.log("esm ok");
`);
    writeFileSync(join(app, "cjs.cjs"), `
const { WaypostClient } = require("@waypost/node");
const { WaypostBrowserClient } = require("@waypost/browser");
const { WaypostProvider, useFlag } = require("@waypost/react");
for (const [n, v] of Object.entries({ WaypostClient, WaypostBrowserClient, WaypostProvider, useFlag })) if (typeof v !== "function") throw new Error(n);
console.log("cjs ok");
`);
    assert.equal(run("node", ["esm.mjs"], app).trim(), "esm ok");
    assert.equal(run("node", ["cjs.cjs"], app).trim(), "cjs ok");

    const source = `
import { WaypostClient } from "@waypost/node";
import { WaypostBrowserClient } from "@waypost/browser";
import { WaypostProvider, useFlag } from "@waypost/react";
export const kinds: string[] = [typeof WaypostClient, typeof WaypostBrowserClient, typeof WaypostProvider, typeof useFlag];
export function flag(): boolean { return useFlag("new-quote", false); }
`;
    for (const [name, module, resolution, file] of [
      ["esm", "nodenext", "nodenext", "index.mts"],
      ["cjs", "nodenext", "nodenext", "index.cts"],
      ["bundler", "esnext", "bundler", "index.ts"],
    ]) {
      const sub = join(app, "ts-" + name);
      mkdirSync(sub);
      writeFileSync(join(sub, file), source);
      writeFileSync(join(sub, "tsconfig.json"), JSON.stringify({
        compilerOptions: { module, moduleResolution: resolution, target: "es2022", strict: true, noEmit: true, types: ["node"], lib: ["es2022", "dom"], skipLibCheck: false },
        files: [file],
      }));
      try {
        run("node", [tsc, "-p", "tsconfig.json"], sub);
      } catch (e) {
        assert.fail(`tsc --noEmit (${name}): ${e.stdout}${e.stderr}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
