"""The Starlette application: /graphql, /health, /ready, /metrics, and the lifecycle of the gateway (and of the
admin listener).

Every request reads the gateway it runs on from a GatewayHolder, so a supergraph reload swaps it between two
requests, never under one. The lifespan starts the gateway (and the process's services), the supergraph poller,
and at shutdown — after the server stopped accepting and let running requests finish — gives queued comparisons
what is left of the shutdown timeout, closes the gateways and flushes the evidence to the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..gateway import Gateway
from ..metrics import CONTENT_TYPE
from ..migration.recorder import Recorder
from ..observability.logs import new_request_context
from ..reload import GatewayHolder, SupergraphReloader
from .admin import AdminServer
from .graphql_http import GraphQLEndpoint
from .probes import Readiness

log = logging.getLogger("turnout")
access = logging.getLogger("turnout.access")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

__all__ = ["SHUTDOWN_DRAIN_SECONDS", "Background", "create_app"]


class Background(Protocol):
    """A task of the process started with the server and stopped before the gateways close (a config poller)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


SHUTDOWN_DRAIN_SECONDS = 5.0
"""After the server's own wait for running requests: how long queued comparisons (and any request still running)
get before the gateways close and the evidence recorder's final flush runs."""


def create_app(
    gateway: Gateway | GatewayHolder,
    *,
    graphql_path: str = "/graphql",
    max_body_bytes: int = 2 * 1024 * 1024,
    reloader: SupergraphReloader | None = None,
    shutdown_timeout: float = 30.0,
    admin: AdminServer | None = None,
    recorder: Recorder | None = None,
    drain_delay: float = 0.0,
    background: Sequence[Background] = (),
    access_log: bool = False,
) -> Starlette:
    """An ASGI app serving `gateway`: one, or the current one of a holder (swapped by `reloader`). GraphQL,
    health, readiness and metrics only: the dashboard is `admin`'s, a listener of its own started and stopped with
    it. On SIGTERM /ready fails at once, and the server stops accepting `drain_delay` seconds later."""
    holder = (
        gateway
        if isinstance(gateway, GatewayHolder)
        else GatewayHolder(gateway, drain_timeout=shutdown_timeout)
    )
    readiness = Readiness(holder, recorder, drain_delay=drain_delay)
    endpoints: weakref.WeakKeyDictionary[Gateway, GraphQLEndpoint] = weakref.WeakKeyDictionary()

    def endpoint_for(current: Gateway) -> GraphQLEndpoint:
        endpoint = endpoints.get(current)
        if endpoint is None:
            endpoint = endpoints[current] = GraphQLEndpoint(current, max_body_bytes=max_body_bytes)
        return endpoint

    async def graphql(request: Request) -> Response:
        context = new_request_context(request.headers.get("x-request-id"))
        traceparent = _TRACEPARENT.match(request.headers.get("traceparent", ""))
        if traceparent:  # the client's trace, until the gateway's own span (if tracing is on) says otherwise
            context["trace_id"] = traceparent.group(1)
        started = time.perf_counter()
        with holder.lease() as current:  # this request finishes on this gateway, whatever reloads meanwhile
            response = await endpoint_for(current).handle(request)
        response.headers["x-request-id"] = context["request_id"]
        if access_log and access.isEnabledFor(logging.INFO):
            status = response.status_code
            outcome = "ok" if status == 200 else "rejected" if status < 500 else "failed"
            access.info(
                "%s %s %d",
                request.method,
                request.url.path,
                status,
                extra={
                    "status": status,
                    "outcome": outcome,
                    "operation": request.query_params.get("operationName") or None,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        return response

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_request: Request) -> Response:
        report = readiness.report()
        return JSONResponse(report.body(), status_code=200 if report.ready else 503)

    async def metrics(_request: Request) -> Response:
        current = holder.gateway.metrics
        if current is None:
            return Response("metrics are off\n", status_code=404, media_type="text/plain")
        return Response(current.render(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        loop = type(asyncio.get_running_loop())
        log.debug("event loop: %s.%s", loop.__module__, loop.__qualname__)
        await holder.start()
        try:
            if reloader is not None:
                await reloader.start()
            if admin is not None:
                await admin.start()
            for service in background:
                await service.start()
            readiness.started = True
            with readiness.on_sigterm():
                yield
        finally:
            readiness.draining = True
            for service in reversed(background):
                await service.stop()
            if admin is not None:
                await admin.stop()
            if reloader is not None:
                await reloader.stop()
            # uvicorn has stopped accepting and waited (up to the shutdown timeout) for running requests: what is
            # left gets a short while more, with the comparisons already queued; then the evidence is flushed
            await holder.close(min(shutdown_timeout, SHUTDOWN_DRAIN_SECONDS))

    routes = [
        Route(graphql_path, graphql, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
