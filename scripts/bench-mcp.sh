#!/usr/bin/env bash
# MCP tools/call latency of docs/BENCHMARKS.md in one command:
#   scripts/bench-mcp.sh [10k|100k] [DATA_DIR]
# Builds the release binary (or uses MEMD=/path/to/memd, see scripts/bench-server.sh), starts
# `memd serve` on DATA_DIR (default /tmp/memd-bench-<size>, the directory
# scripts/bench-latency.sh uses, so a seeded corpus is reused), seeds the corpus if needed, then
# measures `search_memories` over Streamable HTTP (/mcp, one session per worker) at concurrency 1
# and 8; then stops the server and measures over stdio (`memd mcp` owning the
# directory) at concurrency 1 and 8. Prints one markdown row per run (p50 / p95 / p99 in ms).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-10k}
DATA=${2:-/tmp/memd-bench-$SIZE}
PORT=${MEMD_BENCH_PORT:-18420}
DURATION=${DURATION:-20}
. scripts/bench-server.sh
# Seeds the corpus once (a no-op when present) and waits until every memory is embedded.
"$MEMD" bench load --url "$URL" --corpus "$SIZE" --wait-embedded --duration 1 --mix search=100 >/dev/null

row() { # row <label> <bench mcp flags…>
  local label=$1; shift
  local out
  out=$("$MEMD" bench mcp --duration "$DURATION" --json "$@")
  python3 - "$SIZE" "$label" "$out" <<'PY'
import json, sys
size, label, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
s = r["search"]
ms = lambda us: f"{us / 1000:.2f}"
print(f"| {size} | {label} | {s['ops_per_s']:.0f} | {ms(s['p50_us'])} | {ms(s['p95_us'])} | {ms(s['p99_us'])} | {s['errors']} |")
PY
}

echo "| corpus | run | calls/s | p50 | p95 | p99 | errors |"
echo "|---|---|---|---|---|---|---|"
row "HTTP /mcp, hybrid, c=1" --transport http --url "$URL/mcp" --concurrency 1
row "HTTP /mcp, hybrid, c=8" --transport http --url "$URL/mcp" --concurrency 8
kill $SERVER
wait $SERVER 2>/dev/null || true
row "stdio, hybrid, c=1" --transport stdio --data-dir "$DATA" --concurrency 1
row "stdio, hybrid, c=8" --transport stdio --data-dir "$DATA" --concurrency 8
