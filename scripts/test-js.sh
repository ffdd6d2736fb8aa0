#!/usr/bin/env bash
# JavaScript SDK tests (Node, browser, React). Unit tests run against fakes;
# the end-to-end ones run against a real Waypost started here on a fresh
# database (manager + provider from this tree), with real SDK keys.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/sdk/js"
npm ci --no-audit --no-fund

tmp=$(mktemp -d)
db="waypost_js_e2e_$$"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  dropdb --if-exists --force -h 127.0.0.1 -U postgres "$db" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

(cd "$root" && go build -o "$tmp/waypost" ./cmd/waypost)
export WAYPOST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" WAYPOST_LOG_LEVEL=warn
# Providers (and workers) refuse to start without a shared webhook secret of 32+ bytes.
export WAYPOST_WEBHOOK_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d " \n")"
export WAYPOST_MANAGER_ADDR="127.0.0.1:$(free_port)" WAYPOST_PROVIDER_ADDR="127.0.0.1:$(free_port)"
"$tmp/waypost" migrate
# An owner account and a personal API token for the calls below and the tests.
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$tmp/password"
"$tmp/waypost" users create --owner --email js-e2e@waypost.test --name "JS e2e" --password-file "$tmp/password" >/dev/null
WAYPOST_E2E_TOKEN=$("$tmp/waypost" tokens create --email js-e2e@waypost.test --name js-e2e)
export WAYPOST_E2E_TOKEN
"$tmp/waypost" manager & pids+=($!)
"$tmp/waypost" provider & pids+=($!)
M="http://$WAYPOST_MANAGER_ADDR" P="http://$WAYPOST_PROVIDER_ADDR"
for _ in $(seq 1 100); do curl -sf "$M/healthz" >/dev/null && curl -sf "$P/readyz" >/dev/null && break; sleep 0.1; done

J='Content-Type: application/json'
A="Authorization: Bearer $WAYPOST_E2E_TOKEN"
curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d '{"key":"e2e-toggle","name":"E2E toggle"}' >/dev/null
curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d '{"key":"e2e-color","kind":"string","variants":[{"key":"red","value":"#f00"},{"key":"blue","value":"#00f"}]}' >/dev/null
curl -sf -XPATCH "$M/api/v1/projects/default/flags/e2e-color/environments/production" -H "$J" -H "$A" \
  -d '{"version":1,"enabled":true,"rollout":[{"variant":"red","weight":5000},{"variant":"blue","weight":5000}]}' >/dev/null
key() { curl -sf -XPOST "$M/api/v1/projects/default/environments/production/sdk-keys" -H "$J" -H "$A" -d "{\"name\":\"js e2e $1\",\"kind\":\"$1\"}" | sed 's/.*"secret":"\([^"]*\)".*/\1/'; }

export WAYPOST_E2E_BIN="$tmp/waypost" WAYPOST_E2E_DATABASE_URL="$WAYPOST_DATABASE_URL" WAYPOST_E2E_MANAGER_URL="$M"
export WAYPOST_E2E_PROVIDER_URL="$P" WAYPOST_E2E_SERVER_KEY="$(key server)" WAYPOST_E2E_CLIENT_KEY="$(key client)"
export WAYPOST_E2E_FLAG=e2e-toggle
export WAYPOST_E2E_TOGGLE_CMD="curl -sf -XPATCH $M/api/v1/projects/default/flags/e2e-toggle/environments/production -H '$J' -H '$A' -d \"{\\\"enabled\\\":\$WAYPOST_E2E_TOGGLE_TO}\" >/dev/null"
npm test
