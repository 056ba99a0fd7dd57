#!/usr/bin/env bash
# The 1M rows of docs/BENCHMARKS.md ("1M memories, keyword only") in one command:
#   scripts/bench-1m.sh [DATA_DIR]
# Builds the release binary (or uses MEMD=/path/to/memd, see scripts/bench-server.sh), starts
# `memd serve` with no embedder (MEMD_EMBED_PROVIDER=none: embedding 1M memories takes well over
# an hour on 2 cores, see the doc) on DATA_DIR (default /tmp/memd-bench-1m; ~1.2 GiB; reused, so
# the corpus is seeded only once, ~4.5 min), then runs keyword search at c=1 and c=8 (cold
# queries) and add at c=8 for DURATION seconds each (default 20) and prints one markdown row per
# run (p50 / p95 / p99 in ms) plus the seeding time and the data directory's size.
# The add run grows the corpus; it comes last.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=1m
DATA=${1:-/tmp/memd-bench-1m}
PORT=${MEMD_BENCH_PORT:-18420}
DURATION=${DURATION:-20}
export MEMD_EMBED_PROVIDER=none
. scripts/bench-server.sh

run() { # run <label> <bench load flags…>: one row
  local label=$1 out
  shift
  out=$("$MEMD" bench load --url "$URL" --corpus "$SIZE" --wait-embedded --duration "$DURATION" --json "$@")
  scripts/bench-row.py 1M "$label" "$out"
}

echo "| corpus | run | ops/s | p50 | p95 | p99 | errors | server RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
run "search keyword, c=1, cold" --mix search=100 --concurrency 1 --queries cold --query-mode keyword
run "search keyword, c=8, cold" --mix search=100 --concurrency 8 --queries cold --query-mode keyword
run "add, c=8 (no embedder)" --mix add=100 --concurrency 8
echo "data directory: $(du -sh "$DATA" | cut -f1)" >&2
