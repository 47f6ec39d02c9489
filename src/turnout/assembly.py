"""Build a running gateway from a Config: store, recorder, metrics, migration engine, transport."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .config import Config, MigrationConfig
from .gateway import Gateway
from .migration.engine import EvidenceSink, Fanout, MigrationEngine
from .migration.model import CoordinateRule, Gates, Migration
from .migration.recorder import Recorder
from .migration.routing import CohortKey
from .migration.shadow import ShadowQueue
from .migration.store import Store
from .observability.metrics import Metrics
from .supergraph.model import SupergraphModel
from .transport.http import HttpTransport

__all__ = ["AssemblyError", "build_gateway", "build_migrations", "cohort_key", "open_store"]

log = logging.getLogger("turnout")


class AssemblyError(ValueError):
    """The configuration does not fit the supergraph (an unknown subgraph, a label nobody uses)."""


@dataclass(frozen=True)
class _Override:
    coordinate: str
    to: str
    frm: str


def _overrides_with_label(model: SupergraphModel, label: str) -> list[_Override]:
    found = []
    for typedef in model.types.values():
        for fdef in typedef.fields.values():
            for graph, info in fdef.in_graphs.items():
                if info.override_label == label and info.override_from:
                    frm = model.subgraphs.get(info.override_from)
                    found.append(_Override(fdef.coordinate, model.subgraphs[graph].name,
                                           frm.name if frm else info.override_from))
    return found


def build_migrations(configs: list[MigrationConfig], model: SupergraphModel) -> list[Migration]:
    """Migrations from the config, checked against the supergraph; labels bound to their @override fields."""
    migrations = []
    for cfg in configs:
        fields = tuple(cfg.fields)
        frm, to = cfg.from_subgraph, cfg.to_subgraph
        if cfg.label:
            overrides = _overrides_with_label(model, cfg.label)
            if not overrides:
                raise AssemblyError(f"migration {cfg.name}: no @override in the supergraph has label {cfg.label!r}")
            fields = fields or tuple(o.coordinate for o in overrides)
            frm = frm or overrides[0].frm
            to = to or overrides[0].to
        if not frm or not to:
            raise AssemblyError(f"migration {cfg.name}: `from` and `to` subgraphs are required")
        for name in (frm, to):
            if model.subgraph_by_name(name) is None:
                raise AssemblyError(f"migration {cfg.name}: the supergraph has no subgraph named {name!r}")
        if not fields:
            raise AssemblyError(f"migration {cfg.name}: no fields")
        for coordinate in fields:
            type_name, _, field_name = coordinate.partition(".")
            typedef = model.types.get(type_name)
            if typedef is None or field_name not in typedef.fields:
                raise AssemblyError(f"migration {cfg.name}: {coordinate} is not a field of the supergraph")
        migrations.append(Migration(
            name=cfg.name,
            from_subgraph=frm,
            to_subgraph=to,
            fields=fields,
            label=cfg.label,
            rules={k: CoordinateRule(**r.model_dump()) for k, r in cfg.rules.items()},
            sample_rate=cfg.sample_rate,
            noise_rate=cfg.noise_rate,
            shadow_mutations=cfg.shadow_mutations,
            reverse_compare=cfg.reverse_compare,
            gates=Gates(**cfg.gates.model_dump()),
        ))
    return migrations


def cohort_key(cfg: Config) -> CohortKey:
    if cfg.cohort.header:
        return CohortKey(source="header", name=cfg.cohort.header)
    if cfg.cohort.claim:
        return CohortKey(source="claim", name=cfg.cohort.claim)
    if cfg.cohort.variable:
        return CohortKey(source="variable", name=cfg.cohort.variable)
    return CohortKey()


def open_store(cfg: Config) -> Store:
    store = Store.open(cfg.store.url, samples_per_hour=cfg.store.samples_per_hour)
    store.create_schema()
    return store


def build_gateway(cfg: Config, model: SupergraphModel) -> Gateway:
    """The gateway the config describes; with migrations, their engine, store and recorder too."""
    transport = HttpTransport(timeout=cfg.subgraph_timeout, timeouts=cfg.subgraph_timeouts())
    metrics = Metrics() if cfg.metrics else None
    engine = None
    recorder = None
    if cfg.migrations:
        migrations = build_migrations(cfg.migrations, model)
        store = open_store(cfg)
        recorder = Recorder(store, flush_interval=cfg.store.flush_interval, full_values=cfg.store.full_values,
                            redact_patterns=cfg.store.redact_patterns or None)
        sinks: list[EvidenceSink] = [recorder]
        if metrics is not None:
            sinks.append(metrics)
        engine = MigrationEngine(
            model,
            migrations,
            states=store,
            evidence=Fanout(sinks),
            cohort=cohort_key(cfg),
            shadow=ShadowQueue(size=cfg.shadow.queue_size, concurrency=cfg.shadow.concurrency,
                               timeout=min(cfg.shadow.timeout, cfg.subgraph_timeout)),
            refresh_interval=cfg.refresh_interval,
        )
    gateway = Gateway(model, transport, introspection=cfg.server.introspection, urls=cfg.subgraph_urls(),
                      engine=engine, metrics=metrics)
    if recorder is not None:
        gateway.on_start.append(recorder.start)
        gateway.on_close.append(recorder.close)
    return gateway
