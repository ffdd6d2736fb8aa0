#!/usr/bin/env bash
# Builds the dashboard into ui/dist (embedded by `go build`) when the build
# is missing or older than its sources. Without npm it says so and goes on:
# the binary then serves a page explaining how to build the UI.
set -euo pipefail
cd "$(dirname "$0")/../ui"
if ! command -v npm >/dev/null; then
  echo "npm not found: the dashboard will not be built (the API works without it)" >&2
  exit 0
fi
if [ -f dist/index.html ] && [ -z "$(find src index.html package.json -newer dist/index.html 2>/dev/null | head -n 1)" ]; then
  exit 0
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
