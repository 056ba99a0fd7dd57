#!/usr/bin/env bash
# The latency suite of docs/BENCHMARKS.md in one command:
#   scripts/bench-latency.sh [10k|100k] [DATA_DIR]
# Builds the release binary (or uses MEMD=/path/to/memd, see scripts/bench-server.sh), starts
# `memd serve` on DATA_DIR (default /tmp/memd-bench-<size>; reused between runs, so the corpus is
# seeded and embedded only once), then runs each search and add configuration for 20 s and
# prints one markdown row per run (p50 / p95 / p99 in ms).
# Every run starts with the embedding queue empty. The add runs come last: they grow the corpus.
# ONLY=search or ONLY=add runs just those rows.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-100k}
DATA=${2:-/tmp/memd-bench-$SIZE}
PORT=${MEMD_BENCH_PORT:-18420}
. scripts/bench-server.sh

run() { # run <label> <bench load flags…>: one row
  local label=$1; shift
  [ -z "${ONLY:-}" ] || [[ $label == "$ONLY"* ]] || return 0
  local out
  out=$("$MEMD" bench load --url "$URL" --corpus "$SIZE" --wait-embedded --duration 20 --json "$@")
  scripts/bench-row.py "$SIZE" "$label" "$out"
}

echo "| corpus | run | ops/s | p50 | p95 | p99 | errors | server RSS MiB |"
echo "|---|---|---|---|---|---|---|---|"
run "search keyword, c=1, cold" --mix search=100 --concurrency 1 --queries cold --query-mode keyword
run "search semantic, c=1, cold" --mix search=100 --concurrency 1 --queries cold --query-mode semantic
run "search hybrid, c=1, cold" --mix search=100 --concurrency 1 --queries cold
run "search hybrid, c=1, repeated" --mix search=100 --concurrency 1 --queries cached
run "search hybrid, c=8, cold" --mix search=100 --concurrency 8 --queries cold
run "search hybrid, c=8, repeated" --mix search=100 --concurrency 8 --queries cached
run "add, c=1" --mix add=100 --concurrency 1
run "add, c=8" --mix add=100 --concurrency 8
