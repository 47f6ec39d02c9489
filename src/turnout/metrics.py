"""One catalog of metric names, labels and their closed sets of values (cardinality bounded by construction)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .admission.gate import ExecutionGate
from .executor.memo import FetchRecord
from .migration.model import ComparisonOutcome, Difference
from .migration.recorder import Recorder

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Prometheus metrics of one gateway process. Labels: subgraph and migration names come from the
    supergraph and the config (bounded); kind, outcome and side are closed sets."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "turnout_requests",
            "GraphQL requests, by operation kind and outcome (ok, errors, rejected, timeout).",
            ["kind", "outcome"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "turnout_request_duration_seconds",
            "Time to answer a GraphQL request.",
            ["kind"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.subgraph_requests = Counter(
            "turnout_subgraph_requests",
            "Requests to subgraphs, by outcome (ok, error) and purpose (request: to "
            "answer a client; fallback: the old side again after the new one failed; shadow: for a comparison).",
            ["subgraph", "outcome", "purpose"],
            registry=r,
        )
        self.subgraph_seconds = Histogram(
            "turnout_subgraph_request_duration_seconds",
            "Time a subgraph took to answer.",
            ["subgraph"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.comparisons = Counter(
            "turnout_migration_comparisons",
            "Side-by-side comparisons, by outcome (match, mismatch, noise, error).",
            ["migration", "outcome"],
            registry=r,
        )
        self.differences = Counter(
            "turnout_migration_differences",
            "Differences found by side-by-side comparisons.",
            ["migration"],
            registry=r,
        )
        self.fallbacks = Counter(
            "turnout_migration_fallbacks",
            "Requests answered by the old subgraph after the new one failed.",
            ["migration"],
            registry=r,
        )
        self.dropped = Counter(
            "turnout_migration_shadow_dropped",
            "Comparisons dropped because the shadow queue was full.",
            ["migration"],
            registry=r,
        )
        self.migration_seconds = Histogram(
            "turnout_migration_fetch_duration_seconds",
            "Subgraph latency of a migration's old (from) and new (to) side.",
            ["migration", "side"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        """`metric.labels(*labels)`, remembered: the request path asks for the same few children every time."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # -- the request path -------------------------------------------------------------------------------

    def request(self, kind: str, outcome: str, seconds: float) -> None:
        self._child(self.requests, kind, outcome).inc()
        self._child(self.request_seconds, kind).observe(seconds)

    def fetches(self, records: Iterable[FetchRecord], purpose: str = "request") -> None:
        """Count subgraph calls; `purpose` is one of request, fallback, shadow."""
        for record in records:
            if record.memo_hit:
                continue
            self._child(self.subgraph_requests, record.service, "ok" if record.ok else "error", purpose).inc()
            self._child(self.subgraph_seconds, record.service).observe(record.milliseconds / 1000.0)

    # -- migration evidence (an EvidenceSink) ---------------------------------------------------------------

    def comparison(
        self,
        migration: str,
        operation: str,
        outcome: ComparisonOutcome,
        differences: list[Difference],
        noisy_coordinates: set[str],
        *,
        values: Mapping[str, int] | None = None,
        differing: Mapping[str, int] | None = None,
    ) -> None:
        self.comparisons.labels(migration, outcome).inc()
        if differences:
            self.differences.labels(migration).inc(len(differences))

    def latency(self, migration: str, side: str, ms: float) -> None:
        self.migration_seconds.labels(migration, side).observe(ms / 1000.0)

    def repeat(self, migration: str, values: Mapping[str, int], differing: Mapping[str, int]) -> None:
        pass  # noise runs are evidence for the store; comparisons are what /metrics counts

    def fallback(self, migration: str, operation: str, coordinates: Iterable[str] = ()) -> None:
        self.fallbacks.labels(migration).inc()  # per migration here; per field in the store

    def shadow_dropped(self, migration: str) -> None:
        self.dropped.labels(migration).inc()

    # -- the evidence recorder (the store's side) ---------------------------------------------------------

    def watch_recorder(self, recorder: Recorder) -> None:
        """Export the recorder's own counts: evidence dropped (buffer full while the store was away), rows
        waiting in memory, failed writes, batches the store had already taken."""
        self.registry.register(_RecorderCollector(recorder))

    def watch_gate(self, gate: ExecutionGate) -> None:
        """Export the execution gate's limit, requests executing and waiting, and how many had to wait."""
        self.registry.register(_GateCollector(gate))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _GateCollector(Collector):
    def __init__(self, gate: ExecutionGate) -> None:
        self.gate = gate

    def collect(self) -> Iterator[Metric]:
        g = self.gate
        yield GaugeMetricFamily(
            "turnout_execution_limit",
            "Requests this process executes at once (server.execution_limit).",
            g.limit,
        )
        yield GaugeMetricFamily("turnout_executing_requests", "Requests in execution.", g.active)
        yield GaugeMetricFamily(
            "turnout_waiting_requests", "Requests waiting for their turn to execute.", g.waiting
        )
        yield CounterMetricFamily(
            "turnout_requests_waited", "Requests that waited for their turn before executing.", value=g.waited
        )


class _RecorderCollector(Collector):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def collect(self) -> Iterator[Metric]:
        r = self.recorder
        yield CounterMetricFamily(
            "turnout_evidence_dropped",
            "Evidence records dropped because store.max_pending rows were waiting for "
            "the store (never written).",
            value=r.dropped,
        )
        yield GaugeMetricFamily(
            "turnout_evidence_pending_rows",
            "Evidence rows waiting in memory to be written to the store.",
            value=r.pending,
        )
        yield GaugeMetricFamily(
            "turnout_evidence_max_pending_rows",
            "The bound of rows waiting in memory (store.max_pending).",
            value=r.max_pending,
        )
        yield CounterMetricFamily(
            "turnout_evidence_failed_writes",
            "Batch writes to the store that failed (the batch is kept).",
            value=r.failed_flushes,
        )
        yield CounterMetricFamily(
            "turnout_evidence_duplicate_batches",
            "Batches written again that the store had taken already (an "
            "acknowledgement lost): not counted twice.",
            value=r.duplicates,
        )
        yield GaugeMetricFamily(
            "turnout_store_up",
            "1 when the last write to the store succeeded, 0 while writes fail.",
            value=0 if r.failing else 1,
        )
