"""Helpers of the hardening tests: a gateway built from a Config (as `turnout serve` builds it) in front of
harness subgraphs, served on loopback, and raw HTTP requests whose every byte the test chooses."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from support.fixtures import load_supergraph
from support.servers import RunningSubgraph, ServerThread
from turnout.assembly import build_gateway
from turnout.config import Config
from turnout.gateway import Gateway
from turnout.server.app import create_app
from turnout.supergraph.join_spec import read_supergraph

ServeAsgi = Callable[..., ServerThread]

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names), body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def raw_request(url: str, method: str = "POST", body: bytes | None = None,
                headers: Mapping[str, str] | None = None, *, params: Mapping[str, str] | None = None,
                chunked: bool = False, timeout: float = 20.0) -> Answer:
    """One HTTP request with exactly these method, body and headers (plus Host, and Content-Length for a body)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + ("?" + urllib.parse.urlencode(params) if params else "")
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        if chunked:
            connection.request(method, path, body=iter([body or b""]), headers=dict(headers or {}),
                               encode_chunked=True)
        else:
            connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def post_json(url: str, payload: Any, *, accept: str = GRAPHQL_RESPONSE,
              headers: Mapping[str, str] | None = None) -> Answer:
    return raw_request(url, "POST", json.dumps(payload).encode(),
                       {"content-type": JSON, "accept": accept, **(headers or {})})


@dataclass
class Served:
    """A gateway built by `build_gateway` from a Config, served over HTTP."""

    gateway: Gateway
    server: ServerThread
    subgraphs: dict[str, RunningSubgraph]
    config: Config

    @property
    def url(self) -> str:
        return self.server.base_url + "/graphql"

    def post(self, query: str, variables: Mapping[str, Any] | None = None, *, accept: str = GRAPHQL_RESPONSE,
             headers: Mapping[str, str] | None = None) -> Answer:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        return post_json(self.url, payload, accept=accept, headers=headers)


def serve_configured(serve_asgi: ServeAsgi, subgraphs: Mapping[str, RunningSubgraph], settings: Mapping[str, Any]
                     | None = None, *, fixture: str = "marketplace") -> Served:
    """The gateway `turnout serve` would run with `settings` (a config file's content), the subgraph URLs
    pointing at the running `subgraphs` (per-subgraph settings merged in)."""
    data = json.loads(json.dumps(dict(settings or {})))
    per_subgraph = data.setdefault("subgraphs", {})
    for name, running in subgraphs.items():
        per_subgraph.setdefault(name, {})["url"] = running.url
    config = Config.model_validate(data)
    gateway = build_gateway(config, read_supergraph(load_supergraph(fixture)))
    server = serve_asgi(create_app(gateway, max_body_bytes=config.server.max_body_bytes), lifespan="on",
                        name=f"gateway-{fixture}")
    return Served(gateway, server, dict(subgraphs), config)
