"""GraphQL over HTTP (POST and GET) in front of the Gateway, per the GraphQL-over-HTTP spec."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from ..gateway import Gateway, GraphQLRequest, RequestError

__all__ = ["GraphQLEndpoint"]

log = logging.getLogger("turnout.server")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if GRAPHQL_RESPONSE in accept or not accept:
        return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else JSON
    return JSON


def _response(payload: dict[str, Any], status: int, media_type: str) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=f"{media_type}; charset=utf-8")


def _parse_json_object(raw: bytes | str, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(f"{what} is not valid JSON.") from None


def _request_from_params(params: dict[str, Any], request: Request) -> GraphQLRequest:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadRequest("The request has no query string (a non-empty string is required).")
    operation_name = params.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequest("operationName must be a string.")
    variables = params.get("variables")
    if isinstance(variables, str) and request.method == "GET":
        variables = _parse_json_object(variables, "variables") if variables else None
    if variables is not None and not isinstance(variables, dict):
        raise BadRequest("variables must be an object.")
    extensions = params.get("extensions")
    if isinstance(extensions, str) and request.method == "GET":
        extensions = _parse_json_object(extensions, "extensions") if extensions else None
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequest("extensions must be an object.")
    return GraphQLRequest(
        query=query,
        operation_name=operation_name or None,
        variables=variables,
        extensions=extensions,
        headers=dict(request.headers),
        method=request.method,
    )


class GraphQLEndpoint:
    """The `/graphql` endpoint."""

    def __init__(self, gateway: Gateway, *, max_body_bytes: int = 2 * 1024 * 1024) -> None:
        self.gateway = gateway
        self.max_body_bytes = max_body_bytes

    async def handle(self, request: Request) -> Response:
        media_type = _media_type(request)
        try:
            graphql_request = await self._read(request)
        except BadRequest as error:
            return _response({"errors": [{"message": str(error)}]}, error.status, media_type)
        try:
            result = await self.gateway.execute(graphql_request)
        except RequestError as error:
            status = error.status if (media_type == GRAPHQL_RESPONSE or error.status == 405) else 200
            response = _response({"errors": error.errors}, status, media_type)
            if error.status == 405:
                response.headers["allow"] = "POST"
            return response
        except Exception:
            log.exception("request failed")
            return _response({"errors": [{"message": "Internal server error"}]}, 500, media_type)
        return _response(result, 200, media_type)

    async def _read(self, request: Request) -> GraphQLRequest:
        if request.method == "GET":
            return _request_from_params(dict(request.query_params), request)
        if request.method != "POST":
            raise BadRequest("Only GET and POST are supported.", status=405)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (JSON, GRAPHQL_RESPONSE, "application/graphql"):
            raise BadRequest("POST requests must have content-type application/json.", status=415)
        body = await request.body()
        if len(body) > self.max_body_bytes:
            raise BadRequest(f"The request body exceeds {self.max_body_bytes} bytes.", status=413)
        if content_type == "application/graphql":
            return _request_from_params({"query": body.decode("utf-8", "replace")}, request)
        params = _parse_json_object(body, "The request body")
        if isinstance(params, list):
            raise BadRequest("Batched requests are not enabled.")
        if not isinstance(params, dict):
            raise BadRequest("The request body must be a JSON object.")
        return _request_from_params(params, request)
