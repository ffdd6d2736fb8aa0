#!/usr/bin/env bash
# Dashboard tests: component tests (Vitest) and end-to-end tests in headless
# Chromium against a real `waypost` on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/../ui"
npm ci --no-audit --no-fund
npm run build
npm test
npm run e2e
