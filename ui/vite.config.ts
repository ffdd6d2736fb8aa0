/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// `npm run dev` proxies the API to a manager on WAYPOST_MANAGER (default
// http://127.0.0.1:8080), so the dashboard talks to /api/v1 on the same
// origin exactly as it does when embedded in the binary.
const manager = process.env.WAYPOST_MANAGER ?? "http://127.0.0.1:8080";

// dist/ is emptied on every build, but dist/.gitkeep must stay: it is the
// committed placeholder that lets `go build` embed dist/ without a UI build.
const keepGitkeep = {
  name: "waypost-keep-gitkeep",
  closeBundle() {
    writeFileSync(fileURLToPath(new URL("./dist/.gitkeep", import.meta.url)), "");
  },
};

export default defineConfig({
  plugins: [react(), keepGitkeep],
  server: {
    proxy: { "/api": manager, "/healthz": manager },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    // Hang guards, not speed checks: on a loaded 2-core machine a test that
    // types a long SQL text takes several seconds. waitFor's own limit is
    // raised in src/test/setup.ts for the same reason.
    testTimeout: 30_000,
  },
});
