#!/usr/bin/env bash
# `make bench`: every benchmark of the project, each bounded in time, into
# docs/benchmarks.md (with the machine it ran on). Sections whose tool or
# peer script is missing are listed as skipped, never fail the run.
#   1. Go SDK evaluation (sdk/eval, sdk)          go test -bench
#   2. Node SDK evaluation                        sdk/js: npm run bench
#      and the 5 rules x 3 clauses flag beside Go scripts/bench-eval.sh (Node/Go, bound 3x)
#   3. OFREP single and bulk                      scripts/bench-ofrep.sh (if present; rules vs rule-less, bound -15%)
#   4. Provider fan-out vs a bare write(2) loop   go test -bench BenchmarkFanout
#      and large flag sets (5,000 flags x 3 envs) go test -bench BenchmarkLargeSet
#   5. SSE fan-out end to end, 1k/10k/19.5k       waypost-load fanout (clients split
#      streams (manager -> provider -> clients)   over processes: 20,000 files each)
#   6. Statistics refresh at 1M users, CUPED     internal/metricsql/cmd/metricbench -cuped 14
#   7. Many providers (50 processes)             scripts/bench-providers.sh
#   8. Side by side with GOFF / flagd (optional)  scripts/bench-peers.sh (GOFF_SRC, FLAGD_SRC, OFO_SRC,
#      or GOFF_BIN, FLAGD_BIN built earlier: docs/benchmarks-peers.md; passed through the environment)
# Needs PostgreSQL on 127.0.0.1:5432 (make postgres). Environment:
#   BENCH_QUICK=1      smaller sizes (a smoke run: 1k streams, 100k users)
#   BENCH_OUT=path     where to write the table (docs/benchmarks.md)
#   BENCH_SECTIONS=5,7 run only these sections
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${BENCH_OUT:-docs/benchmarks.md}
QUICK=${BENCH_QUICK:-}
TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
ROWS="$TMP/rows.md"
: >"$ROWS"
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3" >>"$ROWS"; echo "  -> $1: $2"; }
log() { echo "== $*"; }
# bounded LIMIT CMD...: runs CMD with a time limit, output to $TMP/last.
bounded() { local limit=$1; shift; timeout --kill-after=10 "$limit" "$@" >"$TMP/last" 2>&1; local rc=$?; cat "$TMP/last"; return $rc; }
field() { awk -v n="$1" -v u="$2" '{for (i=1;i<=NF;i++) if ($i==u) {print $(i-1); exit}}' <<<"$3"; }

want() { [ -z "${BENCH_SECTIONS:-}" ] || [[ ",$BENCH_SECTIONS," == *",$1,"* ]]; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +"%Y-%m-%d %H:%M UTC")

if want 1; then
log "1. Go SDK evaluation"
if bounded 300 bash -c 'cd sdk && go test -run XXX -bench . -benchmem -benchtime 1s ./eval/ .'; then
  while read -r name _ ns _ rest; do
    allocs=$(awk '{for(i=1;i<=NF;i++) if($i=="allocs/op") print $(i-1)}' <<<"$rest")
    row "Go SDK ${name%-*}" "$ns ns/op, ${allocs:-?} allocs/op" "sdk: go test -bench"
  done < <(grep '^Benchmark' "$TMP/last")
else row "Go SDK evaluation" "failed or timed out" "see the run's output"; fi

fi
if want 2; then
log "2. Node SDK evaluation"
if [ -f sdk/js/package.json ] && command -v npm >/dev/null && grep -q '"bench"' sdk/js/package.json; then
  if [ ! -d sdk/js/node_modules ]; then (cd sdk/js && timeout 300 npm ci --no-audit --no-fund --silent) || true; fi
  bounded 300 bash -c 'cd sdk/js && npm run --silent bench' # exits 1 below its own target: the figure still counts
  if grep -qEi 'evaluations/s' "$TMP/last"; then
    grep -Ei 'evaluations/s|target' "$TMP/last" | head -8 | while read -r line; do row "Node SDK" "$line" "sdk/js: npm run bench"; done
  else row "Node SDK evaluation" "failed or timed out" "sdk/js: npm run bench"; fi
else row "Node SDK evaluation" "skipped: npm or sdk/js bench script missing" ""; fi
if [ -x scripts/bench-eval.sh ] && command -v npm >/dev/null; then
  eval_env=(); [ -n "$QUICK" ] && eval_env=(COUNT=1 BENCHTIME=200ms BENCH_N=1000000)
  # Exits 1 above its 3x bound, after printing the figures: they still count.
  bounded 600 env "${eval_env[@]}" scripts/bench-eval.sh; rc=$?
  if line=$(grep -m1 '^5x3 rules:' "$TMP/last"); then
    over=$(grep -m1 '^FAIL' "$TMP/last")
    row "Node vs Go SDK, 5 rules x 3 clauses" "${line#5x3 rules: }${over:+; $over}" "scripts/bench-eval.sh"
  else row "Node vs Go SDK, 5 rules x 3 clauses" "failed or timed out (exit $rc)" "scripts/bench-eval.sh"; fi
else row "Node vs Go SDK, 5 rules x 3 clauses" "skipped: npm or scripts/bench-eval.sh missing" ""; fi

fi
if want 3; then
log "3. OFREP single and bulk"
if [ -x scripts/bench-ofrep.sh ]; then
  # Exits 1 when rules fall more than 15% below rule-less, after printing
  # the figures: they still count, with the failure noted.
  bounded 900 scripts/bench-ofrep.sh; rc=$?
  if grep -q '^rules vs' "$TMP/last"; then
    # The script prints a header, one "name  req/s" line per case, then
    # the ratios: one row per case, one for the ratios.
    awk '/^load average/ {on=0} /req\/s$/ {on=1; next} on && NF && $NF ~ /^[0-9.]+$/ {v=$NF; $NF=""; sub(/ +$/, ""); print $0 "\t" v}' "$TMP/last" |
      while IFS=$'\t' read -r name v; do row "OFREP $name (1 core, wrk -c50)" "$v req/s" "scripts/bench-ofrep.sh"; done
    ratios=$(grep -E '^(Waypost/bare|rules vs|FAIL)' "$TMP/last" | paste -sd';' -)
    row "OFREP ratios" "${ratios//;/; }" "scripts/bench-ofrep.sh"
  else row "OFREP" "failed or timed out (exit $rc)$(grep -m1 '^FAIL' "$TMP/last" | sed 's/^/: /')" "scripts/bench-ofrep.sh"; fi
else row "OFREP single/bulk" "skipped: scripts/bench-ofrep.sh not present in this checkout" ""; fi

fi
if want 4; then
log "4. Provider fan-out vs bare write(2), large flag sets"
FAN_N=${BENCH_FANOUT_INPROC:-1000,5000}
if bounded 600 env WAYPOST_FANOUT_STREAMS="$FAN_N" go test ./provider/ -run XXX -bench 'BenchmarkFanout' -benchtime 100x -count 3; then
  for n in ${FAN_N//,/ }; do
    bare=$(grep "bare/streams=$n-" "$TMP/last" | awk '{for(i=1;i<=NF;i++) if($i=="cpu-ns/stream") print $(i-1)}' | sort -n | sed -n 2p)
    prov=$(grep "provider/streams=$n-" "$TMP/last" | awk '{for(i=1;i<=NF;i++) if($i=="cpu-ns/stream") print $(i-1)}' | sort -n | sed -n 2p)
    ratio=$(awk -v a="$prov" -v b="$bare" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "?" }')
    row "Fan-out CPU per stream per change, $n streams (median of 3)" "provider $prov ns, bare write(2) loop $bare ns: ${ratio}x" "go test -bench BenchmarkFanout"
  done
else row "Fan-out vs bare loop" "failed or timed out" "go test -bench BenchmarkFanout"; fi
if bounded 600 go test ./provider/ -run XXX -bench 'BenchmarkLargeSet' -benchmem -benchtime 3x; then
  r=$(grep 'reload-3-environments' "$TMP/last"); c=$(grep 'one-flag-change' "$TMP/last"); g=$(grep 'gzip-put' "$TMP/last")
  row "Large set: reload 3 environments x 5,000 flags (compile + encode)" "$(awk '{printf "%.0f ms", $3/1e6}' <<<"$r")" "BenchmarkLargeSet"
  row "Large set: one-flag change (compile + encode + patch)" "$(awk '{printf "%.0f ms", $3/1e6}' <<<"$c"), patch $(field x patch-bytes "$c") bytes" "BenchmarkLargeSet"
  row "Large set: put size, gzip (once per revision)" "$(field x put-bytes "$g") -> $(field x put-gzip-bytes "$g") bytes in $(awk '{printf "%.0f ms", $3/1e6}' <<<"$g")" "BenchmarkLargeSet"
else row "Large flag sets" "failed or timed out" "BenchmarkLargeSet"; fi

fi
if want 5; then
log "5. SSE fan-out end to end"
DB=waypost_bench
export WAYPOST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export WAYPOST_MANAGER_ADDR=127.0.0.1:18280 WAYPOST_PROVIDER_ADDR=127.0.0.1:18281 WAYPOST_LOG_LEVEL=warn
export WAYPOST_WEBHOOK_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
M=http://$WAYPOST_MANAGER_ADDR P=http://$WAYPOST_PROVIDER_ADDR
J='Content-Type: application/json'
e2e_ok=
if go build -o "$TMP/waypost" ./cmd/waypost && go build -o "$TMP/waypost-load" ./cmd/waypost-load &&
   psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null && "$TMP/waypost" migrate >/dev/null; then
  python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$TMP/password"
  "$TMP/waypost" users create --owner --email bench@waypost.test --password-file "$TMP/password" >/dev/null
  WAYPOST_TOKEN=$("$TMP/waypost" tokens create --email bench@waypost.test --name bench); export WAYPOST_TOKEN
  A="Authorization: Bearer $WAYPOST_TOKEN"
  "$TMP/waypost" manager & MGR=$!; pids+=($MGR)
  for _ in $(seq 1 100); do curl -sf "$M/healthz" >/dev/null && break; sleep 0.1; done
  for i in $(seq 1 19); do curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d "{\"key\":\"flag-$i\"}" >/dev/null; done
  curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d '{"key":"load-flag"}' >/dev/null
  KEY=$(curl -sf -XPOST "$M/api/v1/projects/default/environments/production/sdk-keys" -H "$J" -H "$A" -d '{"name":"bench","kind":"server"}' | sed 's/.*"secret":"\([^"]*\)".*/\1/')
  [ -n "$KEY" ] && e2e_ok=1
fi
if [ -n "$e2e_ok" ]; then
  SIZES=${BENCH_STREAMS:-1000 10000 19500}; [ -n "$QUICK" ] && SIZES=1000
  for n in $SIZES; do
    procs=$(( (n + 8999) / 9000 )); [ "$procs" -lt 2 ] && procs=2
    ( ulimit -n 20000; exec "$TMP/waypost" provider ) & PROV=$!; pids+=($PROV)
    for _ in $(seq 1 100); do curl -sf "$P/readyz" >/dev/null && break; sleep 0.1; done
    if ( ulimit -n 20000; bounded 300 "$TMP/waypost-load" fanout -provider "$P" -manager "$M" -key "$KEY" -streams "$n" -procs "$procs" -changes 10 -provider-pid "$PROV" ); then
      line=$(grep '^fan-out to' "$TMP/last")
      cpu=$(grep -o 'using [0-9]* ms of CPU' "$TMP/last" | awk '{s+=$2; c++} END {if (c) printf "%.1f", s/c}')
      per=$(awk -v c="$cpu" -v n="$n" 'BEGIN{ if (c!="") printf "%.1f", c*1000/n }')
      kib=$(grep -o '[0-9.]* KiB per stream' "$TMP/last" | head -1)
      row "SSE fan-out, $n streams ($procs client processes), ms from provider apply to client read" \
        "$(sed 's/.*: //' <<<"$line"); provider CPU ${per:-?} us per stream per change (whole process: reload and the tool's /metrics polling included); RSS ${kib:-?}" "waypost-load fanout"
      curl -s "$P/metrics" | grep -E '^waypost_provider_change_stage_seconds_(sum|count)' >"$TMP/stages.$n" || true
    else row "SSE fan-out, $n streams" "failed or timed out" "waypost-load fanout"; fi
    kill "$PROV" 2>/dev/null; wait "$PROV" 2>/dev/null
  done
  last=$(ls "$TMP"/stages.* 2>/dev/null | tail -1)
  if [ -n "$last" ]; then
    stages=$(sed -E 's/waypost_provider_change_stage_seconds_(sum|count)\{stage="([a-z_]+)",via="([a-z]+)"\} (.*)/\1 \2 \3 \4/' "$last" |
      awk '$1=="sum" {s[$2" ("$3")"]=$4} $1=="count" {c[$2" ("$3")"]=$4} END {for (k in s) if (c[k]>0) printf "%s%s %.1f ms x%d", (n++ ? "; " : ""), k, s[k]/c[k]*1000, c[k]}')
    row "Stage means over the last run's 10 changes (waypost_provider_change_stage_seconds)" "$stages" "/metrics"
  fi
else row "SSE fan-out end to end" "skipped: could not build or set up the database (is PostgreSQL up?)" ""; fi
[ -n "${MGR:-}" ] && { kill "$MGR" 2>/dev/null; wait "$MGR" 2>/dev/null; }

fi
if want 6; then
log "6. Statistics refresh"
USERS=1000000; [ -n "$QUICK" ] && USERS=100000
# With CUPED (a 14-day pre-exposure window), as the statistics issue's target.
if bounded 900 go run ./internal/metricsql/cmd/metricbench -users "$USERS" -cuped 14; then
  grep -E 'refresh job path|both metrics' "$TMP/last" | while read -r line; do row "Statistics, $USERS users x 2 metrics, CUPED 14 days" "$line" "metricbench -cuped 14"; done
else row "Statistics refresh, $USERS users" "failed or timed out" "metricbench"; fi

fi
EXTRA="$TMP/extra.md"
: >"$EXTRA"
# fragment TITLE SCRIPT: a script that prints its own markdown fragment on stdout
# (scripts/bench-providers.sh, scripts/bench-peers.sh) goes below the table; its
# progress (stderr, build output included) is shown here but kept out of the file.
fragment() {
  local rc=0
  timeout --kill-after=10 1200 "$2" >"$TMP/last" 2>"$TMP/last.err" || rc=$?
  cat "$TMP/last.err" "$TMP/last"
  if [ "$rc" = 0 ]; then
    { echo; echo "## $1"; echo; cat "$TMP/last"; } >>"$EXTRA"
    row "$1" "$( (grep -m1 -Ei '^summary|^skipped' "$TMP/last" || grep -m1 -i 'p99' "$TMP/last") | tr -d '|' | head -c 200 || true) (section below)" "$2"
  else row "$1" "failed or timed out" "$2"; fi
}
if want 7; then
log "7. Many providers"
if [ -n "$QUICK" ]; then export BENCH_PROVIDERS=${BENCH_PROVIDERS:-5} BENCH_PROVIDERS_FIRST=${BENCH_PROVIDERS_FIRST:-2} BENCH_CHANGES=${BENCH_CHANGES:-2}; fi
fragment "Many providers" scripts/bench-providers.sh
fi
if want 8; then
log "8. Side by side with GO Feature Flag and flagd (GOFF_SRC, FLAGD_SRC, OFO_SRC or GOFF_BIN, FLAGD_BIN)"
fragment "Side by side with GO Feature Flag and flagd" scripts/bench-peers.sh
fi

{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh); the README's performance table summarises it."
  echo "Figures are from one run on the machine below; on a shared machine compare ratios"
  echo "measured in the same run (the provider against the bare write(2) loop) rather than absolute times."
  echo
  echo "- Run: $STARTED; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)"
  echo "- $(go version | cut -d' ' -f3-), PostgreSQL $(psql -h 127.0.0.1 -U postgres -Atc 'SHOW server_version' 2>/dev/null || echo '?')"
  echo
  echo "| Benchmark | Result | Source |"
  echo "|---|---|---|"
  cat "$ROWS"
  echo
  echo "Stages of a change (docs/protocol.md, waypost_provider_change_stage_seconds): commit_to_heard (revision"
  echo "made -> NOTIFY or webhook received), heard_to_applied (database read, compile, encode), applied_to_first_byte"
  echo "and applied_to_last_byte (first and last stream with the event in its socket), commit_to_last_byte."
  echo "The commit is environments.revised_at: the clock time of the revision bump inside the committing transaction."
  cat "$EXTRA"
} >"$OUT"
echo "wrote $OUT"
