#!/usr/bin/env bash
# Side by side: OFREP single-flag and bulk evaluation throughput of Waypost's
# provider, GO Feature Flag's relay proxy and flagd, run the same way: the
# same 20 flags (one with a 50/50 split, evaluated), each server alone on
# cpu 0 (taskset, GOMAXPROCS=1), wrk on cpu 1 at 50 connections.
#
# The peers are built from sources someone fetched (never part of this
# repository) into a temporary directory:
#   GOFF_SRC   a checkout of github.com/thomaspoignant/go-feature-flag (website/ may be left out)
#   FLAGD_SRC  a checkout of github.com/open-feature/flagd
#   OFO_SRC    a checkout of github.com/open-feature/open-feature-operator at tag api/v0.2.47
#              (flagd needs it, and its own core/, through replace lines: the module proxy
#              refuses both; the replace lines are written into the temporary copy only)
# A peer whose source is missing or does not build is reported as skipped;
# Waypost's rows are measured anyway. Each server's first answer is checked
# (load-flag with a boolean value; bulk: the 20 flags) before wrk runs: a wrong
# one is reported in its cell instead of a figure. Output: a markdown fragment on stdout
# (progress on stderr); exits 0 with "skipped: reason" when Waypost itself
# cannot be measured. Knobs: BENCH_DURATION (10s), BENCH_CONNS (50); GOFF_BIN/FLAGD_BIN
# (binaries built earlier, the same way: docs/benchmarks-peers.md) and
# GOFF_VERSION/FLAGD_VERSION (labels; default: the sources' nearest release tag) are optional.
# Needs PostgreSQL on 127.0.0.1:5432 (make postgres), wrk (installed from
# Debian when missing and root), taskset and two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DUR=${BENCH_DURATION:-10s} CONNS=${BENCH_CONNS:-50}
skip() { echo "skipped: $*"; exit 0; }
log() { echo "bench-peers $(date -u +%T): $*" >&2; }

command -v go >/dev/null || skip "go not installed"
command -v taskset >/dev/null || skip "taskset not installed (util-linux)"
[ "$(nproc)" -ge 2 ] || skip "needs two cores (server on one, wrk on the other)"
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing wrk from Debian"; apt-get install -y -qq wrk >/dev/null 2>&1 || true
  fi
  command -v wrk >/dev/null || skip "wrk not installed (apt-get install wrk)"
fi
psql -q -h 127.0.0.1 -U postgres -c "SELECT 1" >/dev/null 2>&1 || skip "PostgreSQL not answering on 127.0.0.1:5432 (make postgres)"

TMP=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
NOTES=()

# ---- the 20 flags, in each product's format --------------------------------
{
  for i in $(seq 1 19); do printf 'flag-%d:\n  variations: {"on": true, "off": false}\n  defaultRule: {variation: "off"}\n' "$i"; done
  printf 'load-flag:\n  variations: {"on": true, "off": false}\n  defaultRule:\n    percentage: {"on": 50, "off": 50}\n'
} >"$TMP/goff-flags.yaml"
{
  printf '{"flags": {'
  for i in $(seq 1 19); do printf '"flag-%d": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}, ' "$i"; done
  printf '"load-flag": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off", "targeting": {"fractional": [["on", 50], ["off", 50]]}}}}\n'
} >"$TMP/flagd-flags.json"
cat >"$TMP/goff.yaml" <<EOF
server: {mode: http, port: 18431}
logLevel: error
pollingInterval: 1000
retrievers:
  - kind: file
    path: $TMP/goff-flags.yaml
EOF
BODY='{"context":{"targetingKey":"user-42","country":"nl"}}'
# wrk_post AUTHHEADER: a Lua script posting BODY
wrk_post() {
  cat <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
EOF
  [ -z "${1:-}" ] || echo "wrk.headers[\"Authorization\"] = \"${1#Authorization: }\""
  # with a second argument: print the first refused answer (slows wrk: diagnosis only)
  [ -z "${2:-}" ] || echo 'seen = false; response = function(status, headers, body) if status >= 400 and not seen then seen = true; io.stderr:write("first refusal: ", status, " ", string.sub(body, 1, 200), "\n") end end'
}

# ---- build ------------------------------------------------------------------
log "building Waypost"
go build -o "$TMP/waypost" ./cmd/waypost

# GOFF_BIN / FLAGD_BIN: binaries built from those sources earlier (skips the build).
GOFF_BIN=${GOFF_BIN:-} FLAGD_BIN=${FLAGD_BIN:-}
GOFF_VER="" FLAGD_VER=""
# srcver DIR TAGPATTERN: the nearest release tag (a shallow clone has none: commit and date)
srcver() {
  git -C "$1" describe --tags --match "$2" 2>/dev/null ||
    git -C "$1" log -1 --format='%h %cs' 2>/dev/null || echo "unversioned"
}
if [ -n "$GOFF_BIN" ] && [ -x "$GOFF_BIN" ]; then GOFF_VER=${GOFF_VERSION:-prebuilt}
elif [ -n "$GOFF_BIN" ]; then NOTES+=("GO Feature Flag skipped: GOFF_BIN=$GOFF_BIN is not an executable file"); GOFF_BIN=""
elif [ -n "${GOFF_SRC:-}" ] && [ -f "$GOFF_SRC/go.mod" ]; then
  log "building GO Feature Flag's relay proxy from $GOFF_SRC"
  GOFF_VER=${GOFF_VERSION:-$(srcver "$GOFF_SRC" 'v*')}
  # as its Makefile does (build-relayproxy), with the version its banner prints
  if (cd "$GOFF_SRC" && CGO_ENABLED=0 GOWORK=off go build -ldflags "-X 'main.version=$GOFF_VER'" \
    -o "$TMP/goff-relayproxy" ./cmd/relayproxy) >"$TMP/goff-build.log" 2>&1; then
    GOFF_BIN=$TMP/goff-relayproxy
  else NOTES+=("GO Feature Flag skipped: the relay proxy did not build ($(tail -1 "$TMP/goff-build.log"))"); fi
else NOTES+=("GO Feature Flag skipped: GOFF_SRC is not set to a go-feature-flag checkout"); fi

if [ -n "$FLAGD_BIN" ] && [ -x "$FLAGD_BIN" ]; then FLAGD_VER=${FLAGD_VERSION:-prebuilt}
elif [ -n "$FLAGD_BIN" ]; then NOTES+=("flagd skipped: FLAGD_BIN=$FLAGD_BIN is not an executable file"); FLAGD_BIN=""
elif [ -n "${FLAGD_SRC:-}" ] && [ -f "$FLAGD_SRC/flagd/go.mod" ] && [ -n "${OFO_SRC:-}" ] && [ -f "$OFO_SRC/api/go.mod" ]; then
  log "building flagd from $FLAGD_SRC (core and open-feature-operator/api replaced by local paths)"
  FLAGD_VER=${FLAGD_VERSION:-$(srcver "$FLAGD_SRC" 'flagd/v*')}
  mkdir -p "$TMP/flagd-src" && cp -r "$FLAGD_SRC/flagd" "$FLAGD_SRC/core" "$TMP/flagd-src/"
  # the replace lines go into the copy only; flagd's own Makefile gets the same from a go.work
  if (cd "$TMP/flagd-src/flagd" &&
    go mod edit -replace github.com/open-feature/flagd/core=../core \
      -replace "github.com/open-feature/open-feature-operator/api=$(cd "$OFO_SRC/api" && pwd)" &&
    go build -ldflags "-X 'main.version=$FLAGD_VER' -X main.commit=$(git -C "$FLAGD_SRC" rev-parse --short HEAD 2>/dev/null)" \
      -o "$TMP/flagd" .) >"$TMP/flagd-build.log" 2>&1; then
    FLAGD_BIN=$TMP/flagd
  else NOTES+=("flagd skipped: it did not build ($(tail -1 "$TMP/flagd-build.log"))"); fi
else NOTES+=("flagd skipped: FLAGD_SRC and OFO_SRC are not set to flagd and open-feature-operator (tag api/v0.2.47) checkouts"); fi

# ---- Waypost: database, flags, key ------------------------------------------
DB=waypost_bench_peers
export WAYPOST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export WAYPOST_MANAGER_ADDR=127.0.0.1:18420 WAYPOST_PROVIDER_ADDR=127.0.0.1:18421 WAYPOST_LOG_LEVEL=error
export WAYPOST_WEBHOOK_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d " \n")"
M=http://$WAYPOST_MANAGER_ADDR J='Content-Type: application/json'
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
"$TMP/waypost" migrate >/dev/null 2>&1
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$TMP/password"
"$TMP/waypost" users create --owner --email bench@waypost.test --password-file "$TMP/password" >/dev/null
TOKEN=$("$TMP/waypost" tokens create --email bench@waypost.test --name bench)
A="Authorization: Bearer $TOKEN"
"$TMP/waypost" manager & MPID=$!; pids+=($MPID)
for _ in $(seq 1 600); do kill -0 "$MPID" 2>/dev/null || skip "manager exited at start"; curl -sf "$M/healthz" >/dev/null && break; sleep 0.1; done
for i in $(seq 1 19); do
  curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d "{\"key\":\"flag-$i\",\"tags\":[\"bench\"]}" >/dev/null
done
curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d '{"key":"load-flag"}' >/dev/null
curl -sf -XPATCH "$M/api/v1/projects/default/flags/load-flag/environments/production" -H "$J" -H "$A" \
  -d '{"version":1,"enabled":true,"rollout":[{"variant":"on","weight":5000},{"variant":"off","weight":5000}]}' >/dev/null
KEY=$(curl -sf -XPOST "$M/api/v1/projects/default/environments/production/sdk-keys" -H "$J" -H "$A" -d '{"name":"bench","kind":"server"}' \
  | sed 's/.*"secret":"\([^"]*\)".*/\1/')
[ -n "$KEY" ] || skip "could not set up Waypost's flags through the manager"
kill "$MPID"; wait "$MPID" 2>/dev/null || true

# ---- measure ----------------------------------------------------------------
# serve NAME READYURL CMD...: start CMD on cpu 0, wait for READYURL
serve() {
  local name=$1 ready=$2; shift 2
  GOMAXPROCS=1 taskset -c 0 "$@" >"$TMP/$name.log" 2>&1 & SPID=$!; pids+=($SPID)
  for _ in $(seq 1 600); do curl -sf -o /dev/null "$ready" && return 0; sleep 0.1; done
  NOTES+=("$name did not start: $(tail -1 "$TMP/$name.log")"); kill "$SPID" 2>/dev/null || true; return 1
}
stop() { kill "$SPID" 2>/dev/null || true; wait "$SPID" 2>/dev/null || true; }
# answer_wrong FILE: fails, saying why, unless FILE is an OFREP answer for load-flag
# (a boolean value) or a bulk answer with the 20 flags (each with a boolean value)
answer_wrong() {
  python3 - "$1" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    if "flags" in d:
        got = sorted(f["key"] for f in d["flags"] if isinstance(f.get("value"), bool))
        want = sorted(["flag-%d" % i for i in range(1, 20)] + ["load-flag"])
        if got != want:
            sys.exit("bulk: %d of the 20 flags with a boolean value" % len(set(got) & set(want)))
    elif d.get("key") != "load-flag" or not isinstance(d.get("value"), bool):
        sys.exit("single: %.80s" % json.dumps(d))
except (ValueError, KeyError, TypeError) as e:
    sys.exit("not OFREP JSON: %s" % e)
PY
}
# rps URL AUTH: wrk on cpu 1 for DUR after a 2 s warm-up; prints req/s (non-2xx makes it "error")
rps() {
  wrk_post "${2:-}" >"$TMP/post.lua"
  local code
  code=$(curl -s -o "$TMP/probe" -w '%{http_code}' -XPOST "$1" -H "$J" ${2:+-H "$2"} -d "$BODY")
  if [ "${code:0:1}" != 2 ]; then echo "error $code"; return; fi
  local wrong
  if ! wrong=$(answer_wrong "$TMP/probe" 2>&1); then echo "error: wrong answer ($wrong)"; return; fi
  taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$TMP/post.lua" "$1" >/dev/null 2>&1 || true
  taskset -c 1 wrk -t1 -c"$CONNS" -d"$DUR" -s "$TMP/post.lua" "$1" >"$TMP/wrk.out" 2>&1 || true
  if grep -q "Non-2xx" "$TMP/wrk.out"; then
    wrk_post "${2:-}" diag >"$TMP/diag.lua"
    taskset -c 1 wrk -t1 -c"$CONNS" -d1s -s "$TMP/diag.lua" "$1" >"$TMP/diag.out" 2>&1 || true
    echo "error: $(grep Non-2xx "$TMP/wrk.out" | tr -s ' '); $(grep -m1 'first refusal' "$TMP/diag.out")"; return
  fi
  awk '/Requests\/sec/ {printf "%.0f", $2}' "$TMP/wrk.out"
}
ROWS=() SUMMARY=()
row() { ROWS+=("| $1 | $2 | $3 | $4 |"); SUMMARY+=("${1%% (*} $2 / $3"); }
log "Waypost"
if serve waypost "http://$WAYPOST_PROVIDER_ADDR/readyz" "$TMP/waypost" provider; then
  P=http://$WAYPOST_PROVIDER_ADDR
  row "Waypost $(git -C "$ROOT" log -1 --format=%h)" "$(rps "$P/ofrep/v1/evaluate/flags/load-flag" "Authorization: Bearer $KEY")" \
    "$(rps "$P/ofrep/v1/evaluate/flags" "Authorization: Bearer $KEY")" "provider, PostgreSQL-backed"
  stop
fi
if [ -n "$GOFF_BIN" ]; then
  log "GO Feature Flag"
  if serve goff http://127.0.0.1:18431/health "$GOFF_BIN" --config "$TMP/goff.yaml"; then
    G=http://127.0.0.1:18431
    row "GO Feature Flag relay proxy ($GOFF_VER)" "$(rps "$G/ofrep/v1/evaluate/flags/load-flag")" "$(rps "$G/ofrep/v1/evaluate/flags")" "file retriever, polled every second"
    stop
  fi
fi
if [ -n "$FLAGD_BIN" ]; then
  log "flagd"
  if serve flagd http://127.0.0.1:18445/healthz "$FLAGD_BIN" start --uri "file:$TMP/flagd-flags.json" \
    --port 18443 --ofrep-port 18446 --sync-port 18444 --management-port 18445; then
    F=http://127.0.0.1:18446
    row "flagd ($FLAGD_VER)" "$(rps "$F/ofrep/v1/evaluate/flags/load-flag")" "$(rps "$F/ofrep/v1/evaluate/flags")" "file sync"
    stop
  fi
fi

echo "### Side by side with the peers (OFREP)"
echo
echo "$(date -u +%F), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo "Each server alone on cpu 0 (GOMAXPROCS=1), wrk -t1 -c$CONNS -d$DUR on cpu 1, the same 20 flags; single = POST /ofrep/v1/evaluate/flags/load-flag (50/50 split), bulk = all 20."
echo
echo "| server | single-flag req/s | bulk (20 flags) req/s | notes |"
echo "|---|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
# one line for make bench's table (scripts/bench.sh)
[ "${#SUMMARY[@]}" = 0 ] || { echo; echo "Summary, req/s single / bulk: $(printf '%s; ' "${SUMMARY[@]}" | sed 's/; $//')"; }
for n in "${NOTES[@]}"; do echo; echo "$n."; done
exit 0
