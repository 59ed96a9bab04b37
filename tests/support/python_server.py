"""A test MCP server on the official Python SDK (PyPI `mcp` 2.3): the same endpoint serves the 2025-11-25
handshake and the stateless 2026-07-28 revision (chosen by the client's MCP-Protocol-Version header).

  python tests/support/python_server.py [--port 0] [--stateless] [--json] [--stdio]

Over HTTP it prints uvicorn's "Uvicorn running on http://127.0.0.1:PORT" line on stderr.
"""
import argparse

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

mcp = MCPServer("python-test-server", version="2.3.0", instructions="Test server")


@mcp.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@mcp.tool()
async def slow_progress(steps: int = 3, ctx: Context = None) -> str:
    """Reports progress over `steps` steps, then returns."""
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps, f"step {i}/{steps}")
        await anyio.sleep(0.05)
    return f"done {steps} steps"


@mcp.tool()
def image() -> Image:
    """Returns a 1x1 PNG."""
    return Image(data=PNG, format="png")


@mcp.tool()
def fail(message: str = "boom") -> str:
    """Always fails."""
    raise ToolError(message)


@mcp.tool()
async def grow(ctx: Context = None) -> str:
    """Adds a tool named `grown` and announces that the tool list changed."""

    def grown() -> str:
        return "I am new"

    if "grown" not in [t.name for t in mcp._tool_manager.list_tools()]:
        mcp.add_tool(grown, name="grown")
    await ctx.notify_tools_changed()
    return "grew"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stateless", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--stdio", action="store_true")
    args = parser.parse_args()
    if args.stdio:
        mcp.run()
    else:
        mcp.run("streamable-http", host="127.0.0.1", port=args.port, stateless_http=args.stateless, json_response=args.json)
