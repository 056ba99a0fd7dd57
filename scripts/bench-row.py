#!/usr/bin/env python3
"""One markdown row of the latency tables in docs/BENCHMARKS.md, from the JSON that
`memd bench load --json` prints (p50 / p95 / p99 in ms). Used by scripts/bench-latency.sh and
scripts/bench-1m.sh; a seeding run is reported on stderr.

    bench-row.py SIZE LABEL JSON
"""
import json
import sys

size, label, r = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
op = next(iter(r["ops"].values()))
ms = lambda us: f"{us / 1000:.2f}"
rss = r.get("rss_bytes")
rss = f"{rss / 2**20:.0f}" if rss else "?"
seed = r.get("seed") or {}
if seed and not seed.get("skipped", True):
    print(f"seeded {seed['seeded']} memories in {seed['elapsed_s']:.0f} s ({seed['memories_per_s']:.0f}/s)",
          file=sys.stderr)
print(f"| {size} | {label} | {op['ops_per_s']:.0f} | {ms(op['p50_us'])} | {ms(op['p95_us'])} "
      f"| {ms(op['p99_us'])} | {op['errors']} | {rss} |")
