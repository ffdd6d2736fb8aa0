#!/usr/bin/env bash
# Evaluation cost of the 5 rules x 3 clauses flag in the Go SDK and the Node
# SDK, measured back to back, and Node as a multiple of Go. Exits 1 when Node
# is more than 3x Go (the bound), after printing the figures.
# Also the rule-less and segment (100,000 ids) figures of the Go SDK.
# Usage: scripts/bench-eval.sh   (needs Go and Node >= 20; npm ci in sdk/js if needed)
# Environment: COUNT=3 (Go runs, the best counts), BENCHTIME=1s (per Go run),
# BENCH_N=5000000 (Node evaluations per round, best of 5 rounds).
set -euo pipefail
cd "$(dirname "$0")/.."
bound=3
COUNT=${COUNT:-3}
go_out=$(cd sdk/eval && go test -run '^$' -bench 'EvaluateRules5x3$|EvaluateRuleless$|EvaluateSegment100k$' -benchmem -benchtime "${BENCHTIME:-1s}" -count "$COUNT" .)
echo "$go_out" | grep '^Benchmark'
[ -d sdk/js/node_modules ] || (cd sdk/js && npm ci --no-audit --no-fund --silent)
node_out=$(cd sdk/js && npm run -s build -w @waypost/node && node test/bench-rules.mjs)
echo "$node_out"
go_ns=$(echo "$go_out" | awk '/^BenchmarkEvaluateRules5x3-/ {print $3}' | sort -g | head -1)
node_ns=$(echo "$node_out" | awk '/^BenchmarkNodeEvaluateRules5x3/ {print $3}')
if [ -z "$go_ns" ] || [ -z "$node_ns" ]; then echo "bench-eval: no figure for Go (${go_ns:-none}) or Node (${node_ns:-none})" >&2; exit 1; fi
awk -v g="$go_ns" -v n="$node_ns" -v c="$COUNT" -v b="$bound" 'BEGIN {
  printf "5x3 rules: Go %.1f ns/op (best of %d), Node %.1f ns/op: Node/Go = %.2fx (bound: Node <= %gx Go)\n", g, c, n, n / g, b
  if (n > b * g) { printf "FAIL: Node is %.2fx Go, above the %gx bound\n", n / g, b; exit 1 } }'
