#!/usr/bin/env bash
# Evaluation cost of the 5 rules x 3 clauses flag in the Go SDK and the Node
# SDK, measured back to back, and Node as a multiple of Go (target: <= 3x).
# Also the rule-less and segment (100,000 ids) figures of the Go SDK.
# Usage: scripts/bench-eval.sh   (needs Go and Node >= 20; npm ci in sdk/js if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
go_out=$(cd sdk/eval && go test -run '^$' -bench 'EvaluateRules5x3$|EvaluateRuleless$|EvaluateSegment100k$' -benchmem -count 3 .)
echo "$go_out" | grep '^Benchmark'
[ -d sdk/js/node_modules ] || (cd sdk/js && npm ci --no-audit --no-fund --silent)
node_out=$(cd sdk/js && npm run -s build -w @waypost/node && node test/bench-rules.mjs)
echo "$node_out"
go_ns=$(echo "$go_out" | awk '/^BenchmarkEvaluateRules5x3-/ {print $3}' | sort -g | head -1)
node_ns=$(echo "$node_out" | awk '/^BenchmarkNodeEvaluateRules5x3/ {print $3}')
awk -v g="$go_ns" -v n="$node_ns" 'BEGIN { printf "5x3 rules: Go %.1f ns/op (best of 3), Node %.1f ns/op: Node/Go = %.2fx (target <= 3x)\n", g, n, n / g }'
