#!/usr/bin/env bash
# OFREP throughput with wrk, the provider pinned to one core (GOMAXPROCS=1,
# cpu 0) and wrk on the other (cpu 1), concurrency 50, beside a bare
# net/http handler answering a constant body of the same size measured the
# same way (the ceiling of a Go HTTP/1.1 server on one core), each server
# after 2 s of unmeasured warm-up as in scripts/bench-peers.sh:
#   single flag, rule-less        single flag, 5 rules x 3 clauses
#   bulk (21 flags)               bulk with Accept-Encoding: gzip
# Prints req/s, Waypost/bare ratios and rules/rule-less; exits 1 when single
# flag with rules is more than 15% below rule-less (the bound), or a run failed.
# Usage: scripts/bench-ofrep.sh   (needs PostgreSQL on 127.0.0.1:5432; DURATION=10s)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
command -v wrk >/dev/null || { echo "installing wrk"; apt-get install -y wrk >/dev/null; }
DB=waypost_bench_ofrep
export WAYPOST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export WAYPOST_MANAGER_ADDR=127.0.0.1:18190 WAYPOST_PROVIDER_ADDR=127.0.0.1:18191 WAYPOST_LOG_LEVEL=warn
export WAYPOST_WEBHOOK_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d " \n")" # providers need a shared secret
M=http://$WAYPOST_MANAGER_ADDR P=http://$WAYPOST_PROVIDER_ADDR
BARE_ADDR=127.0.0.1:18192
J='Content-Type: application/json'
BIN=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$BIN"; }
trap cleanup EXIT

go build -o "$BIN/waypost" ./cmd/waypost
# The ceiling: net/http answering every POST with a constant JSON body.
cat >"$BIN/bare.go" <<'GO'
package main

import (
	"io"
	"net/http"
	"os"
)

func main() {
	body := []byte(os.Getenv("BARE_BODY"))
	ct := []string{"application/json"}
	http.ListenAndServe(os.Getenv("BARE_ADDR"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header()["Content-Type"] = ct
		_, _ = w.Write(body)
	}))
}
GO
(cd "$BIN" && GO111MODULE=off go build -o bare bare.go)

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
"$BIN/waypost" migrate >/dev/null
python3 -c 'import secrets; print(secrets.token_urlsafe(18))' >"$BIN/password"
"$BIN/waypost" users create --owner --email bench@waypost.test --password-file "$BIN/password" >/dev/null
WAYPOST_TOKEN=$("$BIN/waypost" tokens create --email bench@waypost.test --name bench)
A="Authorization: Bearer $WAYPOST_TOKEN"
"$BIN/waypost" manager & MANAGER_PID=$!; pids+=($MANAGER_PID)
for _ in $(seq 1 100); do curl -sf "$M/healthz" >/dev/null && break; sleep 0.1; done

# 20 flags as in the peers' comparison, plus "rules-flag": 5 rules x 3
# clauses (string in, semver, number), the SDK benchmark's flag.
for i in $(seq 1 19); do
  curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d "{\"key\":\"flag-$i\"}" >/dev/null
done
for f in load-flag rules-flag; do
  curl -sf -XPOST "$M/api/v1/projects/default/flags" -H "$J" -H "$A" -d "{\"key\":\"$f\"}" >/dev/null
  curl -sf -XPATCH "$M/api/v1/projects/default/flags/$f/environments/production" -H "$J" -H "$A" \
    -d '{"version":1,"enabled":true,"rollout":[{"variant":"on","weight":5000},{"variant":"off","weight":5000}]}' >/dev/null
done
RULES=$(python3 -c 'import json; print(json.dumps([{"id": f"rule-{i}", "variant": "on", "clauses": [
  {"attribute": "country", "op": "in", "values": ["CA", "US", "MX", f"C{i}"]},
  {"attribute": "appVersion", "op": "semver_gte", "values": [f"{16+i}.2.0"]},
  {"attribute": "age", "op": "gte", "values": [10*i]}]} for i in range(1, 6)]))')
code=$(curl -s -o /dev/null -w '%{http_code}' -XPUT "$M/api/v1/projects/default/flags/rules-flag/environments/production/targeting" \
  -H "$J" -H "$A" -d "{\"rules\":$RULES,\"prerequisites\":[]}")
if [ "$code" != 200 ]; then # no targeting route in this build: write the rules as the store does
  psql -q -h 127.0.0.1 -U postgres -d "$DB" -c "UPDATE flag_states s SET rules = '$RULES'::jsonb FROM flags f, environments e
    WHERE s.flag_id = f.id AND s.environment_id = e.id AND f.key = 'rules-flag' AND e.key = 'production'" >/dev/null
fi
KEY=$(curl -sf -XPOST "$M/api/v1/projects/default/environments/production/sdk-keys" -H "$J" -H "$A" -d '{"name":"bench","kind":"client"}' \
  | sed 's/.*"secret":"\([^"]*\)".*/\1/')
kill "$MANAGER_PID"; wait "$MANAGER_PID" 2>/dev/null || true

( GOMAXPROCS=1 exec taskset -c 0 "$BIN/waypost" provider ) & pids+=($!)
for _ in $(seq 1 100); do curl -sf "$P/readyz" >/dev/null && break; sleep 0.1; done
CTX='{"context":{"targetingKey":"user-12345","country":"C5","appVersion":"21.2.0","age":50,"plan":"pro"}}'
ONE=$(curl -sf -XPOST "$P/ofrep/v1/evaluate/flags/rules-flag" -H "$J" -H "Authorization: Bearer $KEY" -d "$CTX")
case "$ONE" in *'"ruleId":"rule-5"'*) ;; *) echo "rules-flag did not match its last rule: $ONE" >&2; exit 1 ;; esac

cat >"$BIN/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
if os.getenv("GZ") == "1" then wrk.headers["Accept-Encoding"] = "gzip" end
LUA
# run URL [GZ]: req/s of wrk against URL, load on cpu 1.
run() {
  BODY="$CTX" KEY="$KEY" GZ="${2:-0}" taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" -s "$BIN/post.lua" "$1" \
    | awk '/Non-2xx/ { bad = 1 } /Requests\/sec/ { rps = $2 } END { if (bad) print "ERR"; else print rps }'
}
# Warm-up (not measured): a cold provider measured 40% lower on its first
# run (connections, caches, heap growth), so every server gets 2 s first.
DURATION=2s run "$P/ofrep/v1/evaluate/flags/flag-1" >/dev/null
single=$(run "$P/ofrep/v1/evaluate/flags/flag-1")
rules=$(run "$P/ofrep/v1/evaluate/flags/rules-flag")
bulk=$(run "$P/ofrep/v1/evaluate/flags")
bulkgz=$(run "$P/ofrep/v1/evaluate/flags" 1)
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

( BARE_BODY="$ONE" BARE_ADDR=$BARE_ADDR GOMAXPROCS=1 exec taskset -c 0 "$BIN/bare" ) & pids+=($!)
for _ in $(seq 1 100); do curl -sf -XPOST "http://$BARE_ADDR/" >/dev/null && break; sleep 0.1; done
DURATION=2s run "http://$BARE_ADDR/" >/dev/null
bare=$(run "http://$BARE_ADDR/")

printf '%-44s %12s\n' "OFREP, 1 core, wrk -c$CONNS -d$DURATION" "req/s"
printf '%-44s %12s\n' "bare net/http, constant ${#ONE}-byte body" "$bare"
printf '%-44s %12s\n' "single flag, rule-less" "$single"
printf '%-44s %12s\n' "single flag, 5 rules x 3 clauses" "$rules"
printf '%-44s %12s\n' "bulk, 21 flags" "$bulk"
printf '%-44s %12s\n' "bulk, 21 flags, gzip" "$bulkgz"
num='^[0-9]+([.][0-9]+)?$'
for v in "$bare" "$single" "$rules" "$bulk"; do
  [[ "$v" =~ $num ]] || { echo "FAIL: a wrk run failed (non-2xx answers or no figure): bare=$bare single=$single rules=$rules bulk=$bulk"; exit 1; }
done
awk -v b="$bare" -v s="$single" -v r="$rules" -v k="$bulk" 'BEGIN {
  printf "Waypost/bare: single %.0f%%, rules %.0f%%, bulk %.0f%% (aim >= 80%% single)\n", 100*s/b, 100*r/b, 100*k/b
  printf "rules vs rule-less: %+.1f%% (bound: no more than 15%% below)\n", 100*(r-s)/s }'
echo "load average while measuring: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v s="$single" -v r="$rules" 'BEGIN {
  if (r < 0.85 * s) { printf "FAIL: single flag with rules is %.1f%% below rule-less, the bound is 15%%\n", 100*(s-r)/s; exit 1 } }'
