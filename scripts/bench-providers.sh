#!/usr/bin/env bash
# Many providers: 50 `waypost provider` processes registered against one
# manager, one worker and one PostgreSQL on this machine, one SSE stream on
# each. A flag change made through the API is timed from its commit to the
# event on every stream (target p99 <= 1 s), with PostgreSQL's load and the
# River webhook jobs it costs, first with 10 providers then with 50 (jobs
# should grow linearly), then with one provider killed (SIGKILL, its row
# left behind) and then marked stale (its heartbeat backdated past the
# one-minute liveness window; BENCH_STALE_WAIT=1 waits the real 70 s).
#
# It runs its own throwaway PostgreSQL cluster (initdb into a temp dir, own
# port, max_connections 400, pg_stat_statements, track_commit_timestamp),
# so 50 providers' connections fit and the counts see no other client.
# Output: a markdown fragment on stdout (progress on stderr); exits 0 with
# "skipped: reason" when a prerequisite is missing. Bounded: about 1-2 min.
# Knobs: BENCH_PROVIDERS (50), BENCH_PROVIDERS_FIRST (10), BENCH_CHANGES (3).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_PROVIDERS:-50} FIRST=${BENCH_PROVIDERS_FIRST:-10} CHANGES=${BENCH_CHANGES:-3}
skip() { echo "skipped: $*"; exit 0; }
log() { echo "bench-providers $(date -u +%T): $*" >&2; }

command -v go >/dev/null || skip "go not installed"
command -v curl >/dev/null || skip "curl not installed"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || PGBIN=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] || skip "PostgreSQL server binaries (initdb, pg_ctl) not found"
[ -f "$("$PGBIN/pg_config" --sharedir 2>/dev/null)/extension/pg_stat_statements.control" ] || skip "pg_stat_statements extension not installed"

TMP=$(mktemp -d)
chmod 755 "$TMP"
pids=()
AS=() # run PostgreSQL as its own user when we are root (initdb refuses root)
if [ "$(id -u)" = 0 ]; then id postgres >/dev/null 2>&1 || skip "running as root without a postgres user"; AS=(runuser -u postgres --); fi
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -f "$TMP/pg/postmaster.pid" ] && "${AS[@]}" "$PGBIN/pg_ctl" -D "$TMP/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

PGPORT=$((29000 + RANDOM % 3000)) # below the ephemeral range, where clients' own ports land
mkdir -p "$TMP/pg" "$TMP/sock" && { [ -z "${AS[*]}" ] || chown postgres "$TMP/pg" "$TMP/sock"; }
"${AS[@]}" "$PGBIN/initdb" -D "$TMP/pg" -U postgres -A trust --no-sync >/dev/null || skip "initdb failed"
cat >>"$TMP/pg/postgresql.conf" <<EOF
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TMP/sock'
max_connections = 400
shared_buffers = 64MB
fsync = off
synchronous_commit = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
track_commit_timestamp = on
EOF
"${AS[@]}" "$PGBIN/pg_ctl" -D "$TMP/pg" -l "$TMP/pg/server.log" -w start >/dev/null || { tail -5 "$TMP/pg/server.log" >&2; skip "private PostgreSQL did not start"; }
PSQL=(psql -q -X -h 127.0.0.1 -p "$PGPORT" -U postgres)
"${PSQL[@]}" -c "CREATE ROLE bench_observer LOGIN SUPERUSER" >/dev/null

export WAYPOST_DATABASE_URL="postgres://postgres@127.0.0.1:$PGPORT/waypost?sslmode=disable"
BASE=$((20000 + RANDOM % 8000)) # manager on BASE, provider i on BASE+i
export WAYPOST_MANAGER_ADDR=127.0.0.1:$BASE WAYPOST_LOG_LEVEL=error
export WAYPOST_WEBHOOK_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d " \n")" # providers and workers share it
unset WAYPOST_PROVIDER_URL WAYPOST_SNAPSHOT_FILE WAYPOST_DEBUG_ADDR
M=http://$WAYPOST_MANAGER_ADDR J='Content-Type: application/json'

log "building"
go build -o "$TMP/waypost" ./cmd/waypost
go build -o "$TMP/bench" ./cmd/waypost-providers-bench
"$TMP/waypost" migrate >/dev/null 2>&1
"${PSQL[@]}" -d waypost -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$TMP/password"
"$TMP/waypost" users create --owner --email bench@waypost.test --password-file "$TMP/password" >/dev/null
TOKEN=$("$TMP/waypost" tokens create --email bench@waypost.test --name bench)
A="Authorization: Bearer $TOKEN"
"$TMP/waypost" manager & MPID=$!; pids+=($MPID)
"$TMP/waypost" worker & pids+=($!)
for _ in $(seq 1 600); do kill -0 "$MPID" 2>/dev/null || skip "manager exited at start"; curl -sf "$M/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$M/healthz" >/dev/null || skip "manager did not start within 60 s"

# The same 20 flags as the other benchmarks, one of them toggled.
for i in $(seq 1 19); do
  curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d "{\"key\":\"flag-$i\",\"tags\":[\"bench\"]}" >/dev/null
done
curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d '{"key":"load-flag"}' >/dev/null
KEY=$(curl -sf -XPOST "$M/api/v1/projects/default/environments/production/sdk-keys" -H "$J" -H "$A" -d '{"name":"bench","kind":"server"}' \
  | sed 's/.*"secret":"\([^"]*\)".*/\1/')

declare -A PPID_OF
start_providers() { # $1..$2: provider numbers
  for i in $(seq "$1" "$2"); do
    GOMAXPROCS=1 WAYPOST_PROVIDER_ADDR=127.0.0.1:$((BASE + i)) "$TMP/waypost" provider & PPID_OF[$i]=$!; pids+=($!)
  done
  for i in $(seq "$1" "$2"); do
    for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$((BASE + i))/readyz" >/dev/null && continue 2; sleep 0.1; done
    skip "provider $i did not become ready"
  done
}
urls() { local s="" i; for i in "$@"; do s+="${s:+,}http://127.0.0.1:$((BASE + i))"; done; echo "$s"; }
bench() { "$TMP/bench" -manager "$M" -token "$TOKEN" -key "$KEY" -changes "$CHANGES" \
  -db "postgres://bench_observer@127.0.0.1:$PGPORT/waypost?sslmode=disable" "$@"; }

T0=$(date +%s)
OUT=$TMP/rows
log "phase 1: $FIRST providers"
start_providers 1 "$FIRST"
bench -phase "$FIRST live" -providers "$(urls $(seq 1 "$FIRST"))" | tee -a "$OUT" >&2
log "phase 2: $N providers"
start_providers $((FIRST + 1)) "$N"
bench -phase "$N live" -providers "$(urls $(seq 1 "$N"))" | tee -a "$OUT" >&2
RSS=$(for i in $(seq 1 "$N"); do awk '/VmRSS/{print $2}' /proc/"${PPID_OF[$i]}"/status; done | awk '{s+=$1} END {printf "%.0f", s/NR/1024}')
CONNS=$("${PSQL[@]}" -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = 'waypost'")

log "phase 3: provider $N killed (SIGKILL: its row stays, heartbeat stops)"
DEAD=http://127.0.0.1:$((BASE + N))
kill -9 "${PPID_OF[$N]}"
bench -phase "1 killed, not yet stale" -providers "$(urls $(seq 1 $((N - 1))))" -dead "$DEAD" | tee -a "$OUT" >&2
if [ -n "${BENCH_STALE_WAIT:-}" ]; then
  log "waiting 70 s for the heartbeat to age past the liveness window"; sleep 70; HOW="waited 70 s"
else
  "${PSQL[@]}" -d waypost -c "UPDATE providers SET last_seen_at = now() - interval '2 minutes' WHERE webhook_url LIKE '$DEAD%'" >/dev/null
  HOW="heartbeat backdated 2 min"
fi
bench -phase "1 killed, stale ($HOW)" -providers "$(urls $(seq 1 $((N - 1))))" -dead "$DEAD" | tee -a "$OUT" >&2
LATE=$("${PSQL[@]}" -d waypost -Atc "SELECT count(*) FILTER (WHERE state = 'cancelled'), count(*) FILTER (WHERE state IN ('retryable','available','running'))
  FROM river_job WHERE kind = 'provider_webhook' AND args->>'provider_id' = (SELECT id FROM providers WHERE webhook_url LIKE '$DEAD%')")

echo "### Many providers ($N processes, one manager, one worker, one PostgreSQL)"
echo
echo "$(date -u +%F), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $((($(date +%s) - T0))) s."
echo "Delivery: commit (PostgreSQL commit timestamp) to the event read on each provider's stream; PostgreSQL"
echo "load: pg_stat_statements statements and rows per change, net of the idle rate; webhook jobs: River provider_webhook rows inserted."
echo
"$TMP/bench" -header
cat "$OUT"
echo
echo "Providers: $RSS MiB RSS each on average (GOMAXPROCS=1); $CONNS connections to the database with $N providers, a manager and a worker."
echo "Dead provider's jobs afterwards: ${LATE%|*} cancelled, ${LATE#*|} still queued for retry (jobs enqueued before it was stale end cancelled on their next attempt)."
echo
awk -F'|' -v n="$N" '$2 ~ ("^ *" n " live") {gsub(/ /, "", $6); gsub(/ /, "", $9); gsub(/ /, "", $11)
  printf "Summary: %s live providers, delivery p99 %s, %s statements and %s webhook jobs per change", n, $6, $9, $11}
  $2 ~ /stale/ {gsub(/ /, "", $12); stale = $12} END {if (stale != "") printf "; a stale provider costs %s jobs per change", stale; print ""}' "$OUT"
