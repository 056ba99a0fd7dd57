#!/usr/bin/env python3
"""Drives memd's MCP tools with the official Python MCP SDK, 1.x or 2.x (whichever `mcp` this
interpreter has), over stdio or Streamable HTTP:

  initialize (2.x: its default `auto` mode: `server/discover`, falling back to `initialize`),
  tools/list (add_memory, search_memories, delete_memory must be there), add_memory for a new
  user, search_memories in semantic mode until the memory is found (embedding is asynchronous),
  a tool error (empty content -> invalid_content), delete_memory, get_memory -> not_found.

Usage:
  memd_roundtrip.py [--pause] stdio -- COMMAND [ARG...]
  memd_roundtrip.py [--pause] http URL [--header 'Name: value']...

stdout carries JSON lines only: {"event": "stored", "id": …} once the memory is found by search
(with --pause the script then waits for a line on stdin before deleting, so a caller can check
the memory over REST meanwhile), then {"event": "done", …} with every step's result. Any failed
expectation exits non-zero with the reason on stderr. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

import anyio

from mcp_compat import SDK_MAJOR, SDK_VERSION, connect, dump, memd_env

CONTENT = "Alice drinks an espresso every morning before work"
QUERY = "What does she drink when she wakes up?"
REQUIRED_TOOLS = {"add_memory", "search_memories", "delete_memory"}
SEARCH_DEADLINE_S = 15.0


class Failed(Exception):
    pass


def expect(cond: bool, what: str, detail: Any = None) -> None:
    if not cond:
        raise Failed(f"{what}: {json.dumps(detail, default=str)[:2000]}" if detail is not None else what)


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def call(client: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = dump(await client.call_tool(tool, arguments))
    expect(bool(result.get("content")), f"{tool}: a tool result carries text for the model", result)
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"sdk": f"mcp {SDK_VERSION}", "transport": args.transport}
    user = f"py-mcp{SDK_MAJOR}-{args.transport}-{uuid.uuid4().hex[:12]}"
    out["user_id"] = user
    async with AsyncExitStack() as stack:
        t0 = time.monotonic()
        if args.transport == "stdio":
            client, facts = await connect(stack, command=args.command, env=memd_env())
        else:
            headers = dict(h.split(":", 1) for h in args.header)
            headers = {k.strip(): v.strip() for k, v in headers.items()}
            client, facts = await connect(stack, url=args.url, headers=headers)
        out.update(facts)
        out["connect_ms"] = round((time.monotonic() - t0) * 1000)
        expect((facts["server_info"] or {}).get("name") == "memd", "server identifies as memd", facts)

        tools = [t.name for t in (await client.list_tools()).tools]
        out["tools"] = tools
        expect(REQUIRED_TOOLS <= set(tools), "tools/list has the memory tools", tools)

        added = await call(client, "add_memory", {"content": CONTENT, "user_id": user})
        expect(not added.get("isError"), "add_memory succeeds", added)
        memory = added.get("structuredContent") or {}
        memory_id = memory.get("id")
        expect(isinstance(memory_id, str) and memory.get("content") == CONTENT, "add_memory returns the memory", added)
        expect(memory.get("user_id") == user, "the memory belongs to the requested user", memory)
        out["added"] = added

        # Semantic search: the query shares no content word with the memory, so only its
        # embedding (computed in the background) can find it. Retry until it is there.
        deadline = time.monotonic() + SEARCH_DEADLINE_S
        attempts = 0
        while True:
            attempts += 1
            found = await call(client, "search_memories", {"query": QUERY, "user_id": user, "mode": "semantic"})
            expect(not found.get("isError"), "search_memories succeeds", found)
            ids = [r["memory"]["id"] for r in (found.get("structuredContent") or {}).get("results", [])]
            if memory_id in ids:
                break
            expect(time.monotonic() < deadline, f"semantic search finds the memory within {SEARCH_DEADLINE_S:.0f} s", found)
            await anyio.sleep(0.1)
        out["search"] = {"attempts": attempts, "rank": ids.index(memory_id) + 1, "result": found}
        emit({"event": "stored", "id": memory_id, "user_id": user})
        if args.pause:
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            expect(line.strip() != "abort", "the caller aborted")

        empty = await call(client, "add_memory", {"content": "  ", "user_id": user})
        code = ((empty.get("structuredContent") or {}).get("error") or {}).get("code")
        expect(empty.get("isError") is True and code == "invalid_content", "empty content is a tool error", empty)

        deleted = await call(client, "delete_memory", {"id": memory_id})
        expect(not deleted.get("isError"), "delete_memory succeeds", deleted)
        expect((deleted.get("structuredContent") or {}).get("deleted") is True, "delete_memory says deleted", deleted)
        out["deleted"] = deleted

        gone = await call(client, "get_memory", {"id": memory_id})
        code = ((gone.get("structuredContent") or {}).get("error") or {}).get("code")
        expect(gone.get("isError") is True and code == "not_found", "a deleted memory is not_found", gone)
    out["id"] = memory_id
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pause", action="store_true", help="wait for a line on stdin after the memory is stored")
    sub = p.add_subparsers(dest="transport", required=True)
    s = sub.add_parser("stdio")
    s.add_argument("command", nargs=argparse.REMAINDER)
    h = sub.add_parser("http")
    h.add_argument("url")
    h.add_argument("--header", action="append", default=[], help="'Name: value', repeatable")
    args = p.parse_args()
    if args.transport == "stdio":
        if args.command[:1] == ["--"]:
            args.command = args.command[1:]
        if not args.command:
            p.error("stdio needs a command")
    try:
        out = anyio.run(run, args)
    except Failed as e:
        print(f"memd_roundtrip (mcp {SDK_VERSION}, {args.transport}): FAILED: {e}", file=sys.stderr)
        return 1
    emit({"event": "done", **out})
    return 0


if __name__ == "__main__":
    sys.exit(main())
