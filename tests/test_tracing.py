"""OpenTelemetry: a span per request, per planning and per subgraph call, in one trace that the subgraphs join
(W3C `traceparent`); subgraph errors kept in the spans (redacted of secrets) even when clients see them redacted;
and `turnout serve` exporting its spans over OTLP/HTTP to a collector on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from support.fixtures import SUPERGRAPHS_DIR, load_supergraph
from support.servers import ServerThread
from support.waiting import wait_until
from test_gateway_support import RunSubgraphs, fail, marketplace_specs, subgraph_urls
from turnout.executor.plan_executor import REDACTED
from turnout.gateway import Gateway, GraphQLRequest
from turnout.observability.tracing import default_tracer
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport

QUERY = '{ order(id: "o1") { id buyer { name } } }'


def traced_gateway(subgraphs: Any, **options: Any) -> tuple[Gateway, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    model = read_supergraph(load_supergraph("marketplace"))
    gateway = Gateway(
        model,
        HttpTransport(timeout=10),
        urls=subgraph_urls(subgraphs),
        tracer=provider.get_tracer("turnout"),
        **options,
    )
    return gateway, exporter


def run(gateway: Gateway, query: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        try:
            return await gateway.execute(GraphQLRequest(query=query))
        finally:
            await gateway.client.close()

    return asyncio.run(go())


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def test_one_trace_per_request_with_its_plan_and_subgraph_calls(run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    gateway, exporter = traced_gateway(subgraphs)
    assert "errors" not in run(gateway, QUERY)
    spans = exporter.get_finished_spans()
    [request] = by_name(spans, "graphql.request")
    [planning] = by_name(spans, "turnout.plan")
    fetches = by_name(spans, "subgraph.fetch")
    assert request.context is not None and request.parent is None
    assert sorted(str((f.attributes or {})["turnout.subgraph"]) for f in fetches) == ["accounts", "orders"]
    assert {(f.attributes or {})["turnout.fetch"] for f in fetches} == {"root", "entities"}
    for child in (planning, *fetches):
        assert child.parent is not None and child.parent.span_id == request.context.span_id
    # the subgraphs received the trace context of their fetch's span
    trace_id = f"{request.context.trace_id:032x}"
    for name in ("accounts", "orders"):
        [received] = subgraphs[name].requests
        traceparent = received.headers.get("traceparent", "")
        assert traceparent.split("-")[1] == trace_id, received.headers


def test_subgraph_errors_are_kept_in_the_spans_not_shown_to_clients(run_subgraphs: RunSubgraphs) -> None:
    secret = "token sk_live_4f9a8b7c6d5e4f3a2b1c0d9e"
    subgraphs = run_subgraphs(
        marketplace_specs(
            root={"accounts": {"User.name": fail(f"name lookup failed for ada@example.com ({secret})")}}
        )
    )
    gateway, exporter = traced_gateway(subgraphs, expose_errors=False)
    answer = run(gateway, QUERY)
    assert [e["message"] for e in answer["errors"]] == [REDACTED]
    [accounts] = [
        f
        for f in by_name(exporter.get_finished_spans(), "subgraph.fetch")
        if (f.attributes or {})["turnout.subgraph"] == "accounts"
    ]
    assert accounts.status.status_code.name == "ERROR"
    [event] = accounts.events
    message = str((event.attributes or {})["message"])
    assert message.startswith("name lookup failed for [redacted]")
    assert "ada@example.com" not in message and "sk_live" not in message


def test_tracing_is_off_without_a_tracer_provider() -> None:
    assert default_tracer() is None  # nothing configured in this process: no spans, no cost


# -- turnout serve exporting over OTLP/HTTP ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def collector() -> Iterator[tuple[str, list[ExportTraceServiceRequest]]]:
    """An OTLP/HTTP trace collector on loopback: it keeps what it receives."""
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: Request) -> Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.body())
        received.append(message)
        return Response(b"", media_type="application/x-protobuf")

    server = ServerThread(Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])).start()
    try:
        yield server.base_url + "/v1/traces", received
    finally:
        server.stop()


def test_serve_exports_spans_over_otlp(run_subgraphs: RunSubgraphs, tmp_path: Path) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    port = _free_port()
    with collector() as (endpoint, received):
        config = tmp_path / "turnout.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "supergraph": str(SUPERGRAPHS_DIR / "marketplace" / "supergraph.graphql"),
                    "server": {"host": "127.0.0.1", "port": port},
                    "subgraphs": {name: {"url": s.url} for name, s in subgraphs.items()},
                    "tracing": {"otlp_endpoint": endpoint, "service_name": "gateway-under-test"},
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TURNOUT_", "OTEL_"))}
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "turnout"), "serve", "--config", str(config)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=env,
            )
        try:
            import urllib.request

            def answered() -> bool:
                assert process.poll() is None, log.read_text()
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=(b'{"query": "{ order(id: \\"o1\\") { id buyer { name } } }"}'),
                    headers={"content-type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert b'"errors"' not in response.read()
                return True

            wait_until(
                answered, 30, interval=0.2, ignoring=(OSError,), describe="turnout serve never answered"
            )
        finally:
            process.send_signal(signal.SIGTERM)  # the batch of spans is flushed on the way out
            process.wait(20)
        spans = [
            (span.name, resource.resource)
            for message in received
            for resource in message.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]
    names = [name for name, _resource in spans]
    assert "graphql.request" in names and names.count("subgraph.fetch") >= 2, names
    service = {a.value.string_value for _n, r in spans for a in r.attributes if a.key == "service.name"}
    assert service == {"gateway-under-test"}
