#!/usr/bin/env bash
# Many providers: N provider processes registered (default 50), one
# change made through the manager is delivered to all of them (webhooks
# through a River worker, and LISTEN/NOTIFY). Reports, over CHANGES
# changes, the time from the PATCH to each provider's apply (its
# waypost_provider_last_apply_unixnano) as p50/p99/max, and the
# PostgreSQL load per change (transactions, rows returned/fetched from
# pg_stat_database, minus an idle window of the same length) and River
# webhook jobs per change.
# Each provider holds a pool of 2 connections and a LISTEN connection: N is
# capped to what max_connections leaves free (it says so).
# Usage: scripts/bench-providers.sh   (PROVIDERS=50 CHANGES=10)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${PROVIDERS:-50}
CHANGES=${CHANGES:-10}
DB=waypost_bench_providers
PSQL="psql -h 127.0.0.1 -U postgres -Atq"
free=$($PSQL -c "SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity")
cap=$(( (free - 20) / 3 ))
if [ "$cap" -lt "$N" ]; then
  echo "note: PostgreSQL has $free free connections; each provider needs 3 (a pool of 2, LISTEN): running $cap providers instead of $N"
  N=$cap
fi
export WAYPOST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export WAYPOST_MANAGER_ADDR=127.0.0.1:18380 WAYPOST_LOG_LEVEL=warn
export WAYPOST_WEBHOOK_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
export WAYPOST_SECRET_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
M=http://$WAYPOST_MANAGER_ADDR
J='Content-Type: application/json'
BIN=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$BIN"; }
trap cleanup EXIT

go build -o "$BIN/waypost" ./cmd/waypost
$PSQL -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
"$BIN/waypost" migrate >/dev/null
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$BIN/password"
"$BIN/waypost" users create --owner --email bench@waypost.test --password-file "$BIN/password" >/dev/null
WAYPOST_TOKEN=$("$BIN/waypost" tokens create --email bench@waypost.test --name bench)
A="Authorization: Bearer $WAYPOST_TOKEN"
"$BIN/waypost" manager & pids+=($!)
"$BIN/waypost" worker & pids+=($!)
for _ in $(seq 1 100); do curl -sf "$M/healthz" >/dev/null && break; sleep 0.1; done
curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d '{"key":"load-flag"}' >/dev/null
ports=()
for i in $(seq 1 "$N"); do
  port=$((18400 + i))
  WAYPOST_DATABASE_URL="$WAYPOST_DATABASE_URL&pool_max_conns=2" WAYPOST_PROVIDER_ADDR=127.0.0.1:$port "$BIN/waypost" provider & pids+=($!)
  ports+=("$port")
done
for port in "${ports[@]}"; do
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done
registered=$($PSQL -d "$DB" -c "SELECT count(*) FROM live_providers")
echo "providers: $N started, $registered registered"

stat() { $PSQL -d "$DB" -c "SELECT xact_commit + xact_rollback, tup_returned, tup_fetched FROM pg_stat_database WHERE datname = '$DB'"; }
apply_of() { curl -s "http://127.0.0.1:$1/metrics" | awk '$1=="waypost_provider_last_apply_unixnano" {printf "%d\n", $2}'; }
delta() { paste -d'|' <(tr '|' '\n' <<<"$1") <(tr '|' '\n' <<<"$2") | awk -F'|' '{printf "%d ", $2-$1}'; }

sleep 3
idle0=$(stat); sleep 3; idle1=$(stat)
read -r idle_x idle_r idle_f <<<"$(delta "$idle0" "$idle1")"
all=()
load_x=0 load_r=0 load_f=0 jobs=0
for c in $(seq 1 "$CHANGES"); do
  on=$([ $((c % 2)) -eq 1 ] && echo true || echo false)
  s0=$(stat)
  j0=$($PSQL -d "$DB" -c "SELECT count(*) FROM river_job WHERE kind = 'provider_webhook'")
  t0=$(date +%s%N)
  curl -sf -XPATCH "$M/api/v1/projects/default/flags/load-flag/environments/production" -H "$J" -H "$A" -d "{\"enabled\":$on}" >/dev/null
  sleep 3
  s1=$(stat)
  j1=$($PSQL -d "$DB" -c "SELECT count(*) FROM river_job WHERE kind = 'provider_webhook'")
  for port in "${ports[@]}"; do
    a=$(apply_of "$port")
    if [ -n "$a" ] && [ "$a" -gt "$t0" ]; then all+=($(( (a - t0) / 1000 ))); else all+=(999999999); fi
  done
  read -r x r f <<<"$(delta "$s0" "$s1")"
  load_x=$((load_x + x - idle_x)) load_r=$((load_r + r - idle_r)) load_f=$((load_f + f - idle_f))
  jobs=$((jobs + j1 - j0))
done
printf '%s\n' "${all[@]}" | sort -n >"$BIN/lat"
count=$(wc -l <"$BIN/lat")
missed=$(grep -c '^999999999$' "$BIN/lat" || true)
q() { sed -n "$(awk -v p="$1" -v n="$count" 'BEGIN{i=int(p*(n-1))+1; print i}')p" "$BIN/lat" | awk '{printf "%.1f", $1/1000}'; }
echo "many providers: $N providers x $CHANGES changes, ms from PATCH to each provider's apply: p50 $(q 0.5)  p99 $(q 0.99)  max $(q 1)  (missed within 3 s: $missed)"
echo "postgres per change (idle window subtracted): $((load_x / CHANGES)) transactions, $((load_r / CHANGES)) rows returned, $((load_f / CHANGES)) rows fetched; river webhook jobs per change: $((jobs / CHANGES)) for $N providers"
# Where the time goes (means over every provider's stage histograms).
for port in "${ports[@]}"; do curl -s "http://127.0.0.1:$port/metrics"; done |
  grep -E '^waypost_provider_change_stage_seconds_(sum|count)' |
  sed -E 's/waypost_provider_change_stage_seconds_(sum|count)\{stage="([a-z_]+)",via="([a-z]+)"\} (.*)/\1 \2 \3 \4/' |
  awk '$1=="sum" {s[$2" ("$3")"]+=$4} $1=="count" {c[$2" ("$3")"]+=$4} END {printf "stages (mean):"; for (k in s) if (c[k]>0) printf " %s %.1f ms x%d;", k, s[k]/c[k]*1000, c[k]; print ""}'
