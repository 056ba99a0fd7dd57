#!/usr/bin/env python3
"""Runs one sequence of knowledge-graph tool calls against the reference server
(@modelcontextprotocol/server-memory, over stdio, its graph in a temporary MEMORY_FILE_PATH) and,
with --memd, against `memd mcp --data-dir TMP`, and compares the results call by call: `isError`
always, and `structuredContent` when the call succeeded (the reference sends no structured
content with an error; memd sends its `{"error": …}`).

Comparison rules: a missing `next_cursor` equals `"next_cursor": null` (memd's read_graph adds
it only when there are more pages); the entity and relation lists of a graph are compared as
sets (sorted) unless --strict-order; observations keep their order.

Usage:
  graph_compare.py [--memd PATH_TO_MEMD] [--node NODE] [--server-memory DIST_INDEX_JS] [--strict-order]

Without --memd only the reference runs, and its answers are checked against what the sequence
expects (a check of this script). Defaults come from the cache made by
scripts/ensure-mcp-clients.sh (MEMD_MCP_CLIENTS_DIR, else ~/.cache/memd/mcp-clients).
stdout: one JSON object with every call's results (and the mismatches); a mismatch prints a
unified diff on stderr and exits 1.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import sys
import tempfile
from contextlib import AsyncExitStack
from typing import Any

import anyio

from mcp_compat import SDK_VERSION, connect, dump, memd_env

GRAPH_TOOLS = [
    "create_entities",
    "create_relations",
    "add_observations",
    "delete_entities",
    "delete_observations",
    "delete_relations",
    "read_graph",
    "search_nodes",
    "open_nodes",
]


def rel(a: str, t: str, b: str) -> dict[str, str]:
    return {"from": a, "to": b, "relationType": t}


def ent(name: str, kind: str, *obs: str) -> dict[str, Any]:
    return {"name": name, "entityType": kind, "observations": list(obs)}


OK_DELETE = lambda what: {"success": True, "message": f"{what} deleted successfully"}  # noqa: E731

# (label, tool, arguments, expected (is_error, structuredContent or None)) — the expectation is the
# reference's behaviour (server-memory 2026.8.31), checked when the reference runs alone.
STEPS: list[tuple[str, str, dict[str, Any], tuple[bool, Any]]] = [
    (
        "create three entities",
        "create_entities",
        {
            "entities": [
                ent("Alice", "person", "drinks espresso every morning", "works at Acme"),
                ent("Acme", "company", "makes anvils"),
                ent("Bob", "person"),
            ]
        },
        (False, {"entities": [ent("Alice", "person", "drinks espresso every morning", "works at Acme"),
                              ent("Acme", "company", "makes anvils"), ent("Bob", "person")]}),
    ),
    (
        "an existing name is skipped, a new one created",
        "create_entities",
        {"entities": [ent("Alice", "robot", "a different Alice"), ent("Carol", "person", "likes green tea")]},
        (False, {"entities": [ent("Carol", "person", "likes green tea")]}),
    ),
    (
        "create relations",
        "create_relations",
        {"relations": [rel("Alice", "works_at", "Acme"), rel("Bob", "knows", "Alice"), rel("Carol", "knows", "Alice")]},
        (False, {"relations": [rel("Alice", "works_at", "Acme"), rel("Bob", "knows", "Alice"),
                               rel("Carol", "knows", "Alice")]}),
    ),
    (
        "an existing triple is skipped, a new one created",
        "create_relations",
        {"relations": [rel("Alice", "works_at", "Acme"), rel("Bob", "works_at", "Acme")]},
        (False, {"relations": [rel("Bob", "works_at", "Acme")]}),
    ),
    (
        "add observations; an existing one is not added twice",
        "add_observations",
        {"observations": [
            {"entityName": "Alice", "contents": ["drinks espresso every morning", "lives in Paris"]},
            {"entityName": "Bob", "contents": ["plays chess"]},
        ]},
        (False, {"results": [{"entityName": "Alice", "addedObservations": ["lives in Paris"]},
                             {"entityName": "Bob", "addedObservations": ["plays chess"]}]}),
    ),
    (
        "an unknown entity is an error, and nothing of the call is kept",
        "add_observations",
        {"observations": [
            {"entityName": "Carol", "contents": ["owns a cat"]},
            {"entityName": "Zed", "contents": ["does not exist"]},
        ]},
        (True, None),
    ),
    (
        "search by substring, case-insensitive, in an observation",
        "search_nodes",
        {"query": "PARIS"},
        (False, {"entities": [ent("Alice", "person", "drinks espresso every morning", "works at Acme", "lives in Paris")],
                 "relations": [rel("Alice", "works_at", "Acme"), rel("Bob", "knows", "Alice"),
                               rel("Carol", "knows", "Alice")]}),
    ),
    (
        "search matches names",
        "search_nodes",
        {"query": "acm"},
        (False, {"entities": [ent("Alice", "person", "drinks espresso every morning", "works at Acme", "lives in Paris"),
                              ent("Acme", "company", "makes anvils")],
                 "relations": [rel("Alice", "works_at", "Acme"), rel("Bob", "knows", "Alice"),
                               rel("Carol", "knows", "Alice"), rel("Bob", "works_at", "Acme")]}),
    ),
    (
        "search matches entity types",
        "search_nodes",
        {"query": "Company"},
        (False, {"entities": [ent("Acme", "company", "makes anvils")],
                 "relations": [rel("Alice", "works_at", "Acme"), rel("Bob", "works_at", "Acme")]}),
    ),
    (
        "search with no match",
        "search_nodes",
        {"query": "submarine"},
        (False, {"entities": [], "relations": []}),
    ),
    (
        "open nodes: unknown names are ignored, relations touching a node come along",
        "open_nodes",
        {"names": ["Bob", "Nobody"]},
        (False, {"entities": [ent("Bob", "person", "plays chess")],
                 "relations": [rel("Bob", "knows", "Alice"), rel("Bob", "works_at", "Acme")]}),
    ),
    (
        "delete observations (unknown ones and unknown entities are ignored)",
        "delete_observations",
        {"deletions": [
            {"entityName": "Alice", "observations": ["works at Acme", "never observed"]},
            {"entityName": "Nobody", "observations": ["x"]},
        ]},
        (False, OK_DELETE("Observations")),
    ),
    (
        "delete relations (an unknown one is ignored)",
        "delete_relations",
        {"relations": [rel("Bob", "knows", "Alice"), rel("Carol", "hates", "Bob")]},
        (False, OK_DELETE("Relations")),
    ),
    (
        "delete entities: their relations go too",
        "delete_entities",
        {"entityNames": ["Acme", "Nobody"]},
        (False, OK_DELETE("Entities")),
    ),
    (
        "the failed add_observations left Carol unchanged",
        "open_nodes",
        {"names": ["Carol"]},
        (False, {"entities": [ent("Carol", "person", "likes green tea")],
                 "relations": [rel("Carol", "knows", "Alice")]}),
    ),
    (
        "read the whole graph",
        "read_graph",
        {},
        (False, {"entities": [ent("Alice", "person", "drinks espresso every morning", "lives in Paris"),
                              ent("Bob", "person", "plays chess"), ent("Carol", "person", "likes green tea")],
                 "relations": [rel("Carol", "knows", "Alice")]}),
    ),
]


def normalize(sc: Any, strict_order: bool) -> Any:
    """The comparable form of a structuredContent."""
    if not isinstance(sc, dict):
        return sc
    sc = copy.deepcopy(sc)
    if sc.get("next_cursor", 0) is None:
        del sc["next_cursor"]
    if not strict_order:
        if isinstance(sc.get("entities"), list):
            sc["entities"].sort(key=lambda e: json.dumps(e, sort_keys=True))
        if isinstance(sc.get("relations"), list):
            sc["relations"].sort(key=lambda r: (r.get("from"), r.get("to"), r.get("relationType")))
    return sc


def outcome(result: dict[str, Any], strict_order: bool) -> dict[str, Any]:
    is_error = bool(result.get("isError"))
    return {"isError": is_error, "structuredContent": None if is_error else normalize(result.get("structuredContent"), strict_order)}


def pretty(v: Any) -> list[str]:
    return json.dumps(v, indent=2, sort_keys=True).splitlines(keepends=True)


async def run_sequence(name: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        client, facts = await connect(stack, command=command, env=env)
        tools = [t.name for t in (await client.list_tools()).tools]
        calls = []
        for label, tool, arguments, _ in STEPS:
            try:
                result = dump(await client.call_tool(tool, arguments))
            except Exception as e:  # a JSON-RPC error (e.g. unknown tool) instead of a tool result
                result = {"protocolError": f"{type(e).__name__}: {e}"}
            calls.append({"step": label, "tool": tool, "arguments": arguments, "result": result})
        return {"server": name, **facts, "tools": tools, "calls": calls}


def check_tools(run: dict[str, Any]) -> list[str]:
    missing = [t for t in GRAPH_TOOLS if t not in run["tools"]]
    return [f"{run['server']}: tools/list lacks {missing}"] if missing else []


async def main_async(args: argparse.Namespace) -> int:
    node = args.node
    with tempfile.TemporaryDirectory(prefix="memd-graph-compare-") as tmp:
        ref_env = {"MEMORY_FILE_PATH": os.path.join(tmp, "reference", "memory.jsonl")}
        os.makedirs(os.path.dirname(ref_env["MEMORY_FILE_PATH"]))
        reference = await run_sequence("server-memory", [node, args.server_memory], ref_env)
        runs = [reference]
        problems = check_tools(reference)
        if args.memd:
            data = os.path.join(tmp, "memd")
            memd = await run_sequence("memd", [args.memd, "mcp", "--data-dir", data], memd_env())
            runs.append(memd)
            problems += check_tools(memd)

        for i, (label, tool, _, (want_error, want_sc)) in enumerate(STEPS):
            ref = reference["calls"][i]["result"]
            if "protocolError" in ref:
                problems.append(f"step {i + 1} ({tool}, {label}): the reference failed: {ref['protocolError']}")
                continue
            got_ref = outcome(ref, args.strict_order)
            want = {"isError": want_error, "structuredContent": normalize(want_sc, args.strict_order)}
            if got_ref != want:
                diff = "".join(difflib.unified_diff(pretty(want), pretty(got_ref), "expected", "server-memory"))
                problems.append(f"step {i + 1} ({tool}, {label}): the reference answered otherwise than this script expects\n{diff}")
            if args.memd:
                mem = memd["calls"][i]["result"]
                if "protocolError" in mem:
                    problems.append(f"step {i + 1} ({tool}, {label}): memd answered with a protocol error: {mem['protocolError']}")
                    continue
                got_mem = outcome(mem, args.strict_order)
                if got_mem != got_ref:
                    diff = "".join(difflib.unified_diff(pretty(got_ref), pretty(got_mem), "server-memory", "memd"))
                    problems.append(f"step {i + 1} ({tool}, {label}): memd differs from the reference\n{diff}")
    print(json.dumps({"sdk": f"mcp {SDK_VERSION}", "runs": runs, "mismatches": problems}, indent=1))
    for p in problems:
        print(f"MISMATCH {p}", file=sys.stderr)
    what = "memd vs server-memory" if args.memd else "server-memory alone"
    print(f"graph_compare ({what}): {len(STEPS)} calls, {len(problems)} mismatches", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    cache = os.environ.get("MEMD_MCP_CLIENTS_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "memd", "mcp-clients"
    )
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--memd", help="the memd binary; without it only the reference runs")
    p.add_argument("--node", default=os.path.join(cache, "bin", "node"))
    p.add_argument(
        "--server-memory",
        default=os.path.join(cache, "npm", "node_modules", "@modelcontextprotocol", "server-memory", "dist", "index.js"),
    )
    p.add_argument("--strict-order", action="store_true", help="compare entity and relation lists in order")
    return anyio.run(main_async, p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
