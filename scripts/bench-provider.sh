#!/usr/bin/env bash
# Measures the provider against the delivery targets on this machine:
#   1. memory per stream while holding 19,000 SSE streams
#   2. fan-out p99 of a change to 10,000 streams
#   3. OFREP single-flag evaluations per second at concurrency 50, provider on one core
# Usage: scripts/bench-provider.sh   (needs PostgreSQL on 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
STREAMS_HOLD=${STREAMS_HOLD:-19000}
STREAMS_FANOUT=${STREAMS_FANOUT:-10000}
DB=waypost_bench
export WAYPOST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export WAYPOST_MANAGER_ADDR=127.0.0.1:18180 WAYPOST_PROVIDER_ADDR=127.0.0.1:18181 WAYPOST_LOG_LEVEL=warn
export WAYPOST_WEBHOOK_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d " \n")" # providers need a shared secret
M=http://$WAYPOST_MANAGER_ADDR P=http://$WAYPOST_PROVIDER_ADDR
J='Content-Type: application/json'
BIN=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$BIN"; }
trap cleanup EXIT

go build -o "$BIN/waypost" ./cmd/waypost
go build -o "$BIN/waypost-load" ./cmd/waypost-load
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
"$BIN/waypost" migrate
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$BIN/password"
"$BIN/waypost" users create --owner --email bench@waypost.test --password-file "$BIN/password" >/dev/null
WAYPOST_TOKEN=$("$BIN/waypost" tokens create --email bench@waypost.test --name bench)
export WAYPOST_TOKEN
A="Authorization: Bearer $WAYPOST_TOKEN"
"$BIN/waypost" manager & pids+=($!)
start_provider() { # $1: extra prefix (e.g. taskset)
  ( ulimit -n 20000; exec ${1:-} "$BIN/waypost" provider ) & PROVIDER_PID=$!; pids+=($PROVIDER_PID)
  for _ in $(seq 1 100); do curl -sf "$P/readyz" >/dev/null && return; sleep 0.1; done
  echo "provider did not become ready" >&2; exit 1
}
for _ in $(seq 1 100); do curl -sf "$M/healthz" >/dev/null && break; sleep 0.1; done

# A realistic flag set: 20 flags, one of them toggled during the fan-out test.
for i in $(seq 1 19); do
  curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d "{\"key\":\"flag-$i\",\"tags\":[\"bench\"]}" >/dev/null
done
curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d '{"key":"load-flag"}' >/dev/null
curl -sf -XPATCH "$M/api/v1/projects/default/flags/load-flag/environments/production" -H "$J" -H "$A" \
  -d '{"version":1,"enabled":true,"rollout":[{"variant":"on","weight":5000},{"variant":"off","weight":5000}]}' >/dev/null
KEY=$(curl -sf -XPOST "$M/api/v1/projects/default/environments/production/sdk-keys" -H "$J" -H "$A" -d '{"name":"bench","kind":"server"}' \
  | sed 's/.*"secret":"\([^"]*\)".*/\1/')

echo "== 1. holding $STREAMS_HOLD streams"
start_provider
( ulimit -n 20000; "$BIN/waypost-load" streams -provider "$P" -key "$KEY" -streams "$STREAMS_HOLD" -procs 2 -provider-pid "$PROVIDER_PID" )
kill "$PROVIDER_PID"; wait "$PROVIDER_PID" 2>/dev/null || true

echo "== 2. fan-out to $STREAMS_FANOUT streams"
if [ -n "${PROFILE_FANOUT:-}" ]; then export WAYPOST_DEBUG_ADDR=127.0.0.1:16060; fi
start_provider
( ulimit -n 20000; "$BIN/waypost-load" fanout -provider "$P" -manager "$M" -key "$KEY" -streams "$STREAMS_FANOUT" -procs 2 -changes 10 -provider-pid "$PROVIDER_PID" )
kill "$PROVIDER_PID"; wait "$PROVIDER_PID" 2>/dev/null || true

echo "== 3. OFREP, provider on one core (GOMAXPROCS=1, cpu 0), load on cpu 1"
GOMAXPROCS=1 start_provider "taskset -c 0"
taskset -c 1 "$BIN/waypost-load" ofrep -provider "$P" -key "$KEY" -c 50 -d 10s
