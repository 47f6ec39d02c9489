"""OpenTelemetry traces: one span per GraphQL request, per planning, per subgraph fetch; the W3C trace context
sent on to the subgraphs.

Spans go through the OpenTelemetry API. Nothing is traced (and nothing costs) unless a tracer provider is set:
by `configure_otlp` (the config's `tracing.otlp_endpoint`), by the process (`opentelemetry-instrument`), or
given to the Gateway directly (tests)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.trace import Tracer

__all__ = ["configure_otlp", "default_tracer", "with_trace_context"]

log = logging.getLogger("turnout")

_CONFIGURED: set[str] = set()


def default_tracer() -> Tracer | None:
    """The process's tracer for turnout, or None when no tracer provider is set (tracing off)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider.get_tracer("turnout")


def configure_otlp(endpoint: str, service_name: str) -> None:
    """Export spans over OTLP/HTTP to `endpoint` (e.g. http://127.0.0.1:4318/v1/traces), batched, off the request
    path; once per process."""
    if endpoint in _CONFIGURED or not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _CONFIGURED.add(endpoint)
    log.info("tracing: spans exported over OTLP/HTTP to %s", endpoint)


def with_trace_context(headers: Mapping[str, str]) -> Mapping[str, str]:
    """A subgraph request's headers with the current span's W3C trace context (`traceparent`) added; the same
    headers when no span is recording."""
    if not trace.get_current_span().get_span_context().is_valid:
        return headers
    carrier: dict[str, str] = dict(headers)
    propagate.inject(carrier)
    return carrier
