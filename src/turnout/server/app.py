"""The Starlette application: /graphql, /health, and the lifecycle of the gateway's connections."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..gateway import Gateway
from ..observability.metrics import CONTENT_TYPE
from .dashboard import dashboard_routes
from .graphql_http import GraphQLEndpoint

__all__ = ["create_app"]


def create_app(gateway: Gateway, *, graphql_path: str = "/graphql", max_body_bytes: int = 2 * 1024 * 1024) -> Starlette:
    """An ASGI app serving `gateway`."""

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(_request: Request) -> Response:
        if gateway.metrics is None:
            return Response("metrics are off\n", status_code=404, media_type="text/plain")
        return Response(gateway.metrics.render(), media_type=CONTENT_TYPE)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.close()

    endpoint = GraphQLEndpoint(gateway, max_body_bytes=max_body_bytes)
    routes = [
        Route(graphql_path, endpoint.handle, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    engine = gateway.engine
    store = engine.state_source if engine is not None else None
    if engine is not None and store is not None and hasattr(store, "timeseries"):
        routes.extend(dashboard_routes(lambda: list(engine.migrations.values()), store,  # type: ignore[arg-type]
                                       lambda: gateway.model))
    return Starlette(routes=routes, lifespan=lifespan)
