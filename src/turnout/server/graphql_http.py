"""GraphQL over HTTP (POST and GET) in front of the Gateway, per the GraphQL-over-HTTP spec.

Before a request reaches the gateway: CSRF prevention (csrf.py), the body size (413, read incrementally, so a
large body is never held whole), the shape of the request, the batch size and the variables (limits.py). A
request refused here is answered 4xx with a GraphQL error whatever the media type; one that reaches the gateway
and fails to parse or validate is 400 with `application/graphql-response+json`, 200 with `application/json`
(the spec's rule for the legacy media type).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..admission.csrf import CsrfPrevention
from ..admission.limits import Limits, variables_error
from ..gateway import Gateway, GraphQLRequest, RequestError

__all__ = ["GraphQLEndpoint"]

log = logging.getLogger("turnout.server")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.status = status
        self.code = code

    def payload(self) -> dict[str, Any]:
        return {"errors": [{"message": str(self), "extensions": {"code": self.code}}]}


def _media_type(request: Request) -> str:
    accept = request.headers.get("accept", "")
    if GRAPHQL_RESPONSE in accept or not accept:
        return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else JSON
    return JSON


def _response(payload: Any, status: int, media_type: str) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=f"{media_type}; charset=utf-8")


def _parse_json(raw: bytes | str, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:  # invalid JSON or UTF-8, or nested more than orjson's 1024 levels
        raise BadRequest(f"{what} is not valid JSON.") from None


class GraphQLEndpoint:
    """The `/graphql` endpoint.

    `limits` and `csrf` default to the gateway's (`Gateway.limits`, `Gateway.csrf`), read on every request.
    """

    def __init__(
        self,
        gateway: Gateway,
        *,
        max_body_bytes: int = 2 * 1024 * 1024,
        limits: Limits | None = None,
        csrf: CsrfPrevention | None = None,
    ) -> None:
        self.gateway = gateway
        self.max_body_bytes = max_body_bytes
        self._limits = limits
        self._csrf = csrf

    @property
    def limits(self) -> Limits:
        return self._limits if self._limits is not None else self.gateway.limits

    @property
    def csrf(self) -> CsrfPrevention | None:
        return self._csrf if self._csrf is not None else self.gateway.csrf

    async def handle(self, request: Request) -> Response:
        media_type = _media_type(request)
        try:
            csrf = self.csrf
            if csrf is not None and csrf.blocks(request.headers):
                raise BadRequest(csrf.message(), code="CSRF_ERROR")
            params = await self._read(request)
            if isinstance(params, list):
                return await self._batch(params, request, media_type)
            graphql_request = self._request_from_params(params, request)
        except BadRequest as error:
            refused = _response(error.payload(), error.status, media_type)
            if error.status == 405:
                refused.headers["allow"] = "GET, POST"
            return refused
        try:
            result = await self.gateway.execute(graphql_request)
        except RequestError as error:
            # a wrong method and the request deadline keep their status whatever the media type
            status = error.status if (media_type == GRAPHQL_RESPONSE or error.status in (405, 504)) else 200
            response = _response({"errors": error.errors}, status, media_type)
            if error.status == 405:
                response.headers["allow"] = "POST"
            return response
        except Exception:
            log.exception("request failed")
            return _response({"errors": [{"message": "Internal server error"}]}, 500, media_type)
        return _response(result, 200, media_type)

    async def _read(self, request: Request) -> dict[str, Any] | list[Any]:
        """The request's parameters: an object, or a list of them (a batch)."""
        if request.method == "GET":
            if len(request.url.query) > self.max_body_bytes:
                raise BadRequest(
                    f"The query string exceeds {self.max_body_bytes} bytes.", status=414, code="URI_TOO_LONG"
                )
            return dict(request.query_params)
        if request.method != "POST":
            raise BadRequest("Only GET and POST are supported.", status=405, code="METHOD_NOT_ALLOWED")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in (JSON, GRAPHQL_RESPONSE, "application/graphql"):
            raise BadRequest(
                "POST requests must have content-type application/json (or "
                "application/graphql-response+json, or application/graphql).",
                status=415,
                code="UNSUPPORTED_MEDIA_TYPE",
            )
        body = await self._body(request)
        if content_type == "application/graphql":
            return {"query": body.decode("utf-8", "replace")}
        params = _parse_json(body, "The request body")
        if isinstance(params, list):
            return params
        if not isinstance(params, dict):
            raise BadRequest("The request body must be a JSON object.")
        return params

    async def _body(self, request: Request) -> bytes:
        """The body; 413 once it exceeds the limit. What is left of a body up to 4 times the limit is read and
        dropped first, so that the client, still sending, gets the answer rather than a reset connection; a
        larger one is refused without reading it (the connection is then closed)."""
        too_large = BadRequest(
            f"The request body exceeds {self.max_body_bytes} bytes.", status=413, code="PAYLOAD_TOO_LARGE"
        )
        drain_up_to = 4 * self.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > drain_up_to:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > drain_up_to:
                    raise too_large
                if size <= self.max_body_bytes:
                    chunks.append(chunk)
        except ClientDisconnect:
            raise BadRequest("The client disconnected before sending the whole body.") from None
        if size > self.max_body_bytes:
            raise too_large
        return b"".join(chunks)

    def _request_from_params(self, params: dict[str, Any], request: Request) -> GraphQLRequest:
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadRequest("The request has no query string (a non-empty string is required).")
        operation_name = params.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadRequest("operationName must be a string.")
        variables = params.get("variables")
        raw_variables: str | None = None
        if isinstance(variables, str) and request.method == "GET":
            raw_variables = variables
            variables = _parse_json(variables, "variables") if variables else None
        if variables is not None and not isinstance(variables, dict):
            raise BadRequest("variables must be an object.")
        if variables:
            problem = variables_error(
                variables, self.limits, (lambda: len(raw_variables.encode())) if raw_variables else None
            )
            if problem is not None:
                raise BadRequest(problem, code="VARIABLES_LIMIT")
        extensions = params.get("extensions")
        if isinstance(extensions, str) and request.method == "GET":
            extensions = _parse_json(extensions, "extensions") if extensions else None
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

    async def _batch(self, items: list[Any], request: Request, media_type: str) -> Response:
        """A batch (a JSON array of requests): each one run, each one answered, in order."""
        limits = self.limits
        if not limits.batching:
            raise BadRequest("Batched requests are not enabled.", code="BATCHING_NOT_ENABLED")
        if not items:
            raise BadRequest("The batch is empty.")
        if len(items) > limits.max_batch_size:
            raise BadRequest(
                f"The batch has {len(items)} operations, more than the limit of {limits.max_batch_size}.",
                code="BATCH_LIMIT_EXCEEDED",
            )
        answers = await asyncio.gather(*(self._batch_item(item, request) for item in items))
        return _response(answers, 200, media_type)

    async def _batch_item(self, item: Any, request: Request) -> dict[str, Any]:
        try:
            if not isinstance(item, dict):
                raise BadRequest("Each operation of a batch must be a JSON object.")
            graphql_request = self._request_from_params(item, request)
        except BadRequest as error:
            return error.payload()
        try:
            return await self.gateway.execute(graphql_request)
        except RequestError as error:
            return {"errors": error.errors}
        except Exception:
            log.exception("request failed")
            return {"errors": [{"message": "Internal server error"}]}
