"""An MCP server over Streamable HTTP on the loopback interface, for the Proxy's MCP gateway.

The Proxy reaches the MCP servers of its config over the network (``mcp_servers: <name>: url``),
so its tier needs one it can connect to: the MCP SDK's own server (the one
``tests/operations/test_tools.py`` runs in-process) served by uvicorn in a daemon thread, with a
tool that answers and one that fails. Stateless with JSON responses: each ``tools/call`` is one
HTTP request, which keeps the Proxy's upstream session handling out of the way.

Imported only by the Proxy tier (the ``mcp`` SDK and uvicorn come with ``litellm[proxy]``).
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from mcp.server.mcpserver import MCPServer

#: What the answering tool returns for a city.
WEATHER = "sunny in {city}"


def weather_server() -> MCPServer:
    server = MCPServer("weather")

    @server.tool()
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return WEATHER.format(city=city)

    @server.tool()
    def broken(city: str) -> str:
        """A tool that fails."""
        raise ValueError(f"no weather for {city}")

    return server


class MCPUpstream:
    """``with MCPUpstream() as upstream:`` serves the weather tools at ``upstream.url``."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        app = weather_server().streamable_http_app(stateless_http=True, json_response=True)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="mcp-upstream", daemon=True)

    def __enter__(self) -> MCPUpstream:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the MCP upstream server did not start")
            time.sleep(0.02)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
