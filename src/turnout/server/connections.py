"""Client connection limits in the HTTP protocol layer: what uvicorn does not bound itself.

uvicorn closes a keep-alive connection that stays idle after a response (`timeout_keep_alive`), but a client
may open a connection and send nothing, send half its headers, or trickle its body, and hold a file descriptor
for as long as it likes; 21,000 such connections exhausted the process's descriptors and broke its subgraph
calls. This protocol (uvicorn's httptools one, with timers) closes a connection whose request headers are not
complete within `header_timeout` seconds of its first byte (or of the connection, for the first request),
and one whose body is not complete within `body_timeout` seconds of its headers; past `max_connections` open
connections a new one is answered 503 and closed. uvicorn selects it by name, so worker processes load it too;
`configure` sets its limits in each process before the first connection.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["PROTOCOL", "ConnectionLimits", "GuardedHttpToolsProtocol", "configure", "descriptor_budget"]

log = logging.getLogger("turnout.server")

PROTOCOL = "turnout.server.connections:GuardedHttpToolsProtocol"
"""What uvicorn's `http` setting names to use the protocol below."""

# descriptors kept for everything but client connections: subgraph pools, the store, logs, the admin listener
_RESERVED_DESCRIPTORS = 1024


@dataclass(frozen=True, kw_only=True)
class ConnectionLimits:
    """Defaults: Apollo Router closes a connection whose headers take over 10 s; a body gets 30 s."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 10_000


def descriptor_budget(wanted: int) -> int:
    """How many client connections the process can hold: `wanted`, or fewer if the descriptor limit (raised
    to its hard limit first) would not leave room for the subgraph pools and the rest."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(64, min(wanted, soft - _RESERVED_DESCRIPTORS))


_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"retry-after: 1\r\nconnection: close\r\ncontent-length: 38\r\n\r\n"
    b"too many connections; try again later\n"
)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header timeout, a body timeout and a connection limit."""

    limits = ConnectionLimits()
    refused = 0  # connections refused past max_connections, this process

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            type(self).refused += 1
            if self.refused == 1 or self.refused % 1000 == 0:
                log.warning(
                    "%d connections refused: more than %d open", self.refused, self.limits.max_connections
                )
            transport.write(_TOO_MANY)
            transport.close()
            return
        self._arm(self.limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm(self.limits.header_timeout)  # a new request on a kept-alive connection: its headers
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.limits.body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def configure(limits: ConnectionLimits) -> None:
    """The limits of every connection this process accepts from now on."""
    GuardedHttpToolsProtocol.limits = limits
