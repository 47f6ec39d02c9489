"""The operator plane: the migrations dashboard, its JSON API and its writes, served on a listener of its own.

The public GraphQL port serves GraphQL, health and metrics only; whoever reaches it cannot see or steer a
migration. The admin listener binds loopback by default. Writes (acknowledging a difference) need a bearer token
from the config or TURNOUT_ADMIN_TOKEN, compared in constant time, and are recorded under the token holder's
name; reads need one too when `protect_reads` is set. Without any token configured every write is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
from collections.abc import Generator, Mapping
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..migration.model import Migration
from ..migration.store import Store
from ..reload import GatewayHolder
from ..supergraph.model import SupergraphModel
from .dashboard import dashboard_routes

__all__ = ["AdminServer", "BearerTokens", "create_admin_app"]

log = logging.getLogger("turnout.admin")


class BearerTokens:
    """Checks `Authorization: Bearer <token>` against the configured tokens (token -> who holds it)."""

    def __init__(self, credentials: Mapping[str, str], *, protect_reads: bool = False) -> None:
        self._credentials = [(token.encode(), who) for token, who in credentials.items()]
        self.protect_reads = protect_reads

    def holder(self, header: str | None) -> str | None:
        """The name of the token in `header`, or None. Every configured token is compared, in constant time."""
        if not header or header[:7].lower() != "bearer ":
            return None
        given = header[7:].strip().encode()
        found = None
        for token, who in self._credentials:
            if hmac.compare_digest(token, given):
                found = who
        return found

    def __call__(self, request: Request, writes: bool) -> str | Response:
        if not writes and not self.protect_reads:
            return "anonymous"
        who = self.holder(request.headers.get("authorization"))
        if who is not None:
            return who
        if not self._credentials:
            message = "no admin token is configured (admin.tokens, admin.token or TURNOUT_ADMIN_TOKEN)"
        else:
            message = "a valid admin token is required: Authorization: Bearer <token>"
        log.warning(
            "admin request refused: %s %s from %s",
            request.method,
            request.url.path,
            request.client.host if request.client else "?",
        )
        return Response(
            message + "\n",
            status_code=401,
            media_type="text/plain",
            headers={"www-authenticate": 'Bearer realm="turnout-admin"'},
        )


def create_admin_app(
    holder: GatewayHolder, tokens: BearerTokens, store: Store | None = None
) -> Starlette | None:
    """The dashboard of the holder's current gateway (the store outlives reloads; migrations and model are the
    current gateway's); None without a store (`store`, or the current gateway's), as there is nothing to show."""

    async def health(_request: Request) -> Response:
        return Response('{"status":"ok"}', media_type="application/json")

    from starlette.routing import Route

    engine = holder.gateway.engine
    if store is None:
        found = engine.state_source if engine is not None else None
        store = found if isinstance(found, Store) else None
    if store is None:
        return None

    def migrations() -> list[Migration]:
        current = holder.gateway.engine
        return list(current.migrations.values()) if current is not None else []

    def model() -> SupergraphModel | None:
        return holder.gateway.model

    routes = [Route("/health", health, methods=["GET"]), *dashboard_routes(migrations, store, model, tokens)]
    return Starlette(routes=routes)


class _Quiet(uvicorn.Server):
    """A uvicorn server inside another one's process and loop: the main server handles the signals, and the
    process's log tells of the main server's start only (scripts and tests read it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def _serve(self, sockets: list[socket.socket] | None = None) -> None:
        if not self.config.loaded:
            self.config.load()
        self.lifespan = self.config.lifespan_class(self.config)
        await self.startup(sockets=sockets)
        if not self.should_exit:
            await self.main_loop()
        if self.started:
            await self.shutdown(sockets=sockets)

    def _log_started_message(self, listeners: Any) -> None:
        pass


class AdminServer:
    """The admin listener, run as a task beside the public server. Several worker processes share its port
    (SO_REUSEPORT where the system has it), as they share the public one."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.host, self.port = host, port
        # no log_level nor log_config: uvicorn would configure its loggers again, the main server's included
        self._server = _Quiet(
            uvicorn.Config(
                app, host=host, port=port, log_level=None, log_config=None, lifespan="off", access_log=False
            )
        )
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(128)
        except OSError as error:
            # the public port serves on: GraphQL matters more than the dashboard; the operator is told
            sock.close()
            log.error(
                "the admin listener (dashboard) cannot listen on %s:%d: %s; GraphQL is served without it",
                self.host,
                self.port,
                error.strerror or error,
            )
            return
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="turnout-admin")
        while not self._server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()
        log.info("admin listener on http://%s:%d/migrations/", self.host, self.port)

    async def stop(self) -> None:
        if self._task is not None:
            self._server.should_exit = True
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
