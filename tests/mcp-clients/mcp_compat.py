"""Connecting with the official Python MCP SDK, whichever major version this interpreter has.

1.x: transport streams (`mcp.client.stdio.stdio_client`, `mcp.client.streamable_http`'s client)
     + `ClientSession` + `initialize()`.
2.x: the high-level `mcp.Client` in its default `auto` mode: it probes `server/discover` (the
     2026-07-28 stateless era) and falls back to the `initialize` handshake. A stdio server is
     given as `StdioServerParameters`, an HTTP one as a `streamable_http_client(...)` transport.

Both return an object with `list_tools()` and `call_tool(name, arguments)`, and the handshake facts.
"""

from __future__ import annotations

import importlib.metadata
import os
from contextlib import AsyncExitStack
from typing import Any

import mcp
from mcp.client.stdio import StdioServerParameters, stdio_client

SDK_VERSION = importlib.metadata.version("mcp")
SDK_MAJOR = int(SDK_VERSION.split(".")[0])


def dump(model: Any) -> dict[str, Any]:
    """A pydantic result as its wire JSON (camelCase keys in both SDK majors)."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def memd_env() -> dict[str, str]:
    """What a stdio memd gets beyond the SDK's default environment (HOME, PATH, …): memd's own
    settings and where the embedding model is cached."""
    keep = ("XDG_CACHE_HOME", "ORT_DYLIB_PATH")
    env = {k: v for k, v in os.environ.items() if k.startswith("MEMD_") or k in keep}
    env.setdefault("MEMD_LOG_LEVEL", "warn")
    return env


def _http_client(headers: dict[str, str]) -> Any:
    # The SDKs' own factory with MCP's default timeouts (httpx in 1.x, httpx2 in 2.x).
    from mcp.shared._httpx_utils import create_mcp_http_client

    return create_mcp_http_client(headers=headers or None)


async def connect(
    stack: AsyncExitStack,
    *,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    url: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Connects over stdio (`command`) or Streamable HTTP (`url`) and negotiates the protocol."""
    headers = headers or {}
    params = StdioServerParameters(command=command[0], args=command[1:], env=env) if command else None

    if SDK_MAJOR >= 2:
        from mcp.client.streamable_http import streamable_http_client

        if params is not None:
            target: Any = params
        else:
            http = await stack.enter_async_context(_http_client(headers))
            target = streamable_http_client(url, http_client=http)
        client = await stack.enter_async_context(mcp.Client(target, mode="auto"))
        session = client.session
        info = client.server_info
        return client, {
            "protocol_version": client.protocol_version,
            "negotiation": "server/discover" if session.discover_result is not None else "initialize",
            "server_info": dump(info) if info is not None else None,
        }

    from mcp.client.session import ClientSession

    if params is not None:
        read, write = await stack.enter_async_context(stdio_client(params))
    else:
        from mcp.client import streamable_http as sh

        if hasattr(sh, "streamable_http_client"):  # 1.24+; `streamablehttp_client` is deprecated
            http = await stack.enter_async_context(_http_client(headers))
            streams = sh.streamable_http_client(url, http_client=http)
        else:
            streams = sh.streamablehttp_client(url, headers=headers or None)
        read, write, _session_id = await stack.enter_async_context(streams)
    session = await stack.enter_async_context(ClientSession(read, write))
    init = await session.initialize()
    return session, {
        "protocol_version": init.protocolVersion,
        "negotiation": "initialize",
        "server_info": dump(init.serverInfo),
    }
