"""The sampling coin is flipped when a request is routed: each migration is compared at its own rate, a request
that no comparison will use carries no candidates (so it keeps no answers for one), and writes are candidates only
where the migration says they are safe to run twice."""

from __future__ import annotations

import random
from dataclasses import replace

from support.fixtures import load_supergraph
from turnout.migration.engine import MigrationEngine
from turnout.migration.model import Migration, MigrationState, Stage
from turnout.supergraph.join_spec import read_supergraph

MODEL = read_supergraph(load_supergraph("classroom"))
TITLES = Migration(
    name="titles", from_subgraph="monolith", to_subgraph="assignments", fields=("Assignment.title",)
)
SCORES = Migration(
    name="scores", from_subgraph="monolith", to_subgraph="assignments", fields=("Assignment.score",)
)


def _engine(percents: dict[str, float], *migrations: Migration, seed: int = 7) -> MigrationEngine:
    engine = MigrationEngine(MODEL, list(migrations), rng=random.Random(seed))
    for name, percent in percents.items():
        engine.states[name] = MigrationState(name=name, stage=Stage.SIDE_BY_SIDE, percent=percent)
    return engine


def _sampled(engine: MigrationEngine, kind: str, requests: int) -> dict[str, int]:
    counts = dict.fromkeys(engine.migrations, 0)
    for _ in range(requests):
        for name in engine.decide({}, None, kind).candidates:
            counts[name] += 1
    return counts


def test_each_migration_is_sampled_at_its_own_stored_percent() -> None:
    engine = _engine({"titles": 10.0, "scores": 40.0}, TITLES, SCORES)
    counts = _sampled(engine, "query", 20_000)
    assert abs(counts["titles"] / 20_000 - 0.10) < 0.01
    assert abs(counts["scores"] / 20_000 - 0.40) < 0.015


def test_an_unsampled_request_has_no_candidates_but_keeps_its_fallback() -> None:
    engine = _engine({"titles": 0.0}, TITLES, SCORES)
    engine.states["scores"] = MigrationState(name="scores", stage=Stage.MIGRATED, percent=100.0)
    for _ in range(200):
        decision = engine.decide({}, None, "query")
        assert dict(decision.candidates) == {}
        assert [m.name for m in decision.served_by_to] == ["scores"]
        assert decision.fallback is not None


def test_writes_are_candidates_only_when_declared_safe() -> None:
    unsafe = _engine({"titles": 100.0}, TITLES)
    assert _sampled(unsafe, "mutation", 50) == {"titles": 0}
    assert _sampled(unsafe, "query", 50) == {"titles": 50}
    safe = _engine({"titles": 100.0}, replace(TITLES, shadow_mutations=True))
    assert _sampled(safe, "mutation", 50) == {"titles": 50}


def test_one_comparison_per_request_two_sampled_migrations_take_turns() -> None:
    engine = _engine({"titles": 100.0, "scores": 100.0}, TITLES, SCORES)
    picks = [engine.pick_shadow(list(engine.decide({}, None, "query").candidates)) for _ in range(2_000)]
    names = [p.name for p in picks if p is not None]
    assert len(names) == 2_000
    assert 0.45 < names.count("titles") / 2_000 < 0.55
    assert engine.pick_shadow([]) is None
