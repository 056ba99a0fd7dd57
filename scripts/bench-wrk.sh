#!/usr/bin/env bash
# Cross-checks `memd bench load` with wrk (docs/BENCHMARKS.md, "Cross-check with wrk"):
#   scripts/bench-wrk.sh [10k|100k] [DATA_DIR]
# Installs wrk (scripts/ensure-wrk.sh), builds the release binary (or uses MEMD=/path/to/memd,
# see scripts/bench-server.sh), starts `memd serve` on DATA_DIR (default /tmp/memd-bench-<size>,
# the directory scripts/bench-latency.sh uses; the corpus is seeded and embedded there once),
# then for each configuration runs `memd bench load` and wrk (scripts/wrk/search.lua, the same
# request bodies from `memd bench queries`) back to back on the same server, DURATION seconds
# each (default 20), and prints one markdown row per tool and run (milliseconds; wrk's p95 comes
# from the script's done(), `memd bench load` has no p75/p90). Searches only: the corpus does
# not change. ONLY="search hybrid, c=8" runs just the rows whose label starts so.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-10k}
DATA=${2:-/tmp/memd-bench-$SIZE}
PORT=${MEMD_BENCH_PORT:-18420}
DURATION=${DURATION:-20}
scripts/ensure-wrk.sh
. scripts/bench-server.sh
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Seeds the corpus once (a no-op when present) and waits until every memory is embedded.
"$MEMD" bench load --url "$URL" --corpus "$SIZE" --wait-embedded --duration 1 --mix search=100 >/dev/null

row() { # row <tool> <label> <json>: one markdown row from either tool's JSON
  python3 - "$SIZE" "$1" "$2" "$3" <<'EOF'
import json, sys
size, tool, label, r = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
f = lambda v: "–" if v is None else f"{v:.2f}"
if tool == "wrk":
    p = [r[f"p{n}_ms"] for n in (50, 75, 90, 95, 99)]
    ops, errors = r["ops_per_s"], sum(r["errors"].values())
else:
    op = r["ops"]["search"]
    p = [op["p50_us"] / 1000, None, None, op["p95_us"] / 1000, op["p99_us"] / 1000]
    ops, errors = op["ops_per_s"], op["errors"]
print(f"| {size} | {label} | {tool} | {ops:.0f} | " + " | ".join(map(f, p)) + f" | {errors} |")
EOF
}

run() { # run <label> <concurrency> <cached|cold> <mode>
  local label=$1 c=$2 queries=$3 mode=$4
  [ -z "${ONLY:-}" ] || [[ $label == "$ONLY"* ]] || return 0
  local out bodies="$WORK/$queries-$mode.jsonl"
  [ -s "$bodies" ] || "$MEMD" bench queries --queries "$queries" --query-mode "$mode" --count 50000 >"$bodies"
  out=$("$MEMD" bench load --url "$URL" --corpus "$SIZE" --wait-embedded --duration "$DURATION" --json \
    --mix search=100 --concurrency "$c" --queries "$queries" --query-mode "$mode")
  row "memd bench load" "$label" "$out"
  local threads=$((c < 2 ? c : 2)) wrk_out=()
  # A short unmeasured pass first: warms the result cache for `cached` (memd bench load warmed
  # the same 50 queries just before) and wrk's connections.
  wrk -t"$threads" -c"$c" -d2s -s scripts/wrk/search.lua "$URL" -- "$bodies" "$queries" >/dev/null
  mapfile -t wrk_out < <(wrk -t"$threads" -c"$c" -d"${DURATION}s" --latency -s scripts/wrk/search.lua "$URL" -- "$bodies" "$queries")
  printf '%s\n' "${wrk_out[@]}" >&2
  row wrk "$label" "${wrk_out[-1]}"
}

echo "| corpus | run | tool | req/s | p50 | p75 | p90 | p95 | p99 | errors |"
echo "|---|---|---|---|---|---|---|---|---|---|"
run "search hybrid, c=1, cold" 1 cold hybrid
run "search hybrid, c=1, repeated" 1 cached hybrid
run "search hybrid, c=8, cold" 8 cold hybrid
run "search hybrid, c=8, repeated" 8 cached hybrid
