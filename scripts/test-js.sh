#!/usr/bin/env bash
# JavaScript SDK tests (Node, browser, React).
set -euo pipefail
cd "$(dirname "$0")/../sdk/js"
npm ci --no-audit --no-fund
npm test
