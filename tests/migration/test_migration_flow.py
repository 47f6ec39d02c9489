"""The migration engine end to end: a monolith and a new service that disagree in known ways, over HTTP.

The new `assignments` service is deliberately imperfect: a timezone bug on one date, tags in another order,
scores rounded differently, and a `renderedAt` that differs on every call (noise) — exactly what a team sees
when it rewrites part of a monolith. Every test runs real subgraphs on loopback; the
instances share a store in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from support.clock import FakeClock
from support.fixtures import load_supergraph, with_subgraph_urls
from support.servers import RunningSubgraph
from support.subgraph import SubgraphSpec
from support.waiting import eventually
from turnout.gateway import Gateway, GraphQLRequest
from turnout.metrics import Metrics
from turnout.migration.engine import Fanout, MigrationEngine
from turnout.migration.memory_store import MemoryStore
from turnout.migration.model import CoordinateRule, Migration, Stage
from turnout.migration.recorder import Recorder
from turnout.migration.routing import CohortKey
from turnout.migration.shadow import ShadowQueue
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport

RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]

IDS = ("a1", "a2", "a3", "a4")


def _monolith_record(i: int) -> dict[str, Any]:
    return {
        "id": IDS[i],
        "title": f"Homework {i + 1}",
        "createdDate": f"2024-03-0{i + 1}T10:00:00Z",
        "tags": ["math", "week-1", f"t{i}"],
        "score": round(1 / 3 + i, 7),
    }


def _new_service_record(i: int) -> dict[str, Any]:
    record = _monolith_record(i)
    if IDS[i] == "a2":  # a timezone bug on one date
        record["createdDate"] = "2024-03-02T09:00:00Z"
    record["tags"] = list(reversed(record["tags"]))  # same tags, another order
    record["score"] = round(record["score"], 2)  # rounded differently
    return record


def _rendered_at(*_args: Any, **_kwargs: Any) -> str:
    return f"{time.perf_counter_ns()}"


def _specs() -> list[SubgraphSpec]:
    sdls = {
        name: (
            Path(__file__).parents[1] / "fixtures" / "supergraphs" / "classroom" / f"{name}.graphql"
        ).read_text()
        for name in ("monolith", "assignments")
    }
    monolith_rows = [_monolith_record(i) for i in range(len(IDS))]
    new_rows = [_new_service_record(i) for i in range(len(IDS))]

    def rename(_obj: Any, _info: Any, id: str, title: str) -> dict[str, Any]:
        row = next(r for r in monolith_rows if r["id"] == id)
        row["title"] = title
        return row

    return [
        SubgraphSpec(
            "monolith",
            sdls["monolith"],
            data={
                "Assignment": monolith_rows,
                "User": [{"id": "u1", "name": "Ada", "assignments": monolith_rows}],
            },
            root={
                "assignments": lambda *_a, **_k: monolith_rows,
                "assignment": lambda _o, _i, id: next(r for r in monolith_rows if r["id"] == id),
                "users": lambda *_a, **_k: [{"id": "u1", "name": "Ada", "assignments": monolith_rows}],
                "Mutation.renameAssignment": rename,
                "Assignment.renderedAt": _rendered_at,
            },
        ),
        SubgraphSpec(
            "assignments",
            sdls["assignments"],
            data={"Assignment": new_rows},
            root={
                "assignments": lambda *_a, **_k: new_rows,
                "assignment": lambda _o, _i, id: next(r for r in new_rows if r["id"] == id),
                "Mutation.renameAssignmentV2": lambda *_a, **_k: None,
                "Assignment.renderedAt": _rendered_at,
            },
        ),
    ]


FIELDS = (
    "Query.assignments",
    "Query.assignment",
    "Assignment.title",
    "Assignment.createdDate",
    "Assignment.tags",
    "Assignment.score",
    "Assignment.renderedAt",
)

BOARD = "query Board { assignments { id title createdDate tags score } }"


class Setup:
    """Subgraphs, a store in memory shared by the gateway instances built on them (as a database would be: the
    engine's logic is under test here, the stores' is in test_store.py), and a clock for their intervals."""

    def __init__(self, subgraphs: dict[str, RunningSubgraph]) -> None:
        self.subgraphs = subgraphs
        self.store = MemoryStore()
        self.clock = FakeClock()
        urls = {name: s.url for name, s in subgraphs.items()}
        self.model = read_supergraph(with_subgraph_urls(load_supergraph("classroom"), urls))

    def migration(self, **changes: Any) -> Migration:
        base = Migration(
            name="assignments",
            from_subgraph="monolith",
            to_subgraph="assignments",
            fields=FIELDS,
            sample_rate=1.0,
            noise_rate=0.0,
        )
        return replace(base, **changes)

    def gateway(
        self,
        migration: Migration,
        *,
        refresh: float = 60.0,
        cohort: CohortKey | None = None,
        metrics: Metrics | None = None,
        shadow: ShadowQueue | None = None,
    ) -> tuple[Gateway, Recorder]:
        store = self.store
        recorder = Recorder(store, flush_interval=0.05)
        sinks: list[Any] = [recorder] + ([metrics] if metrics else [])
        engine = MigrationEngine(
            self.model,
            [migration],
            states=store,
            evidence=Fanout(sinks),
            cohort=cohort or CohortKey(source="header", name="x-user"),
            shadow=shadow or ShadowQueue(size=100, concurrency=2, timeout=5.0),
            refresh_interval=refresh,
            clock=self.clock,
        )
        gateway = Gateway(self.model, HttpTransport(timeout=5.0), engine=engine, metrics=metrics)
        gateway.on_start.append(recorder.start)
        gateway.on_close.append(recorder.close)
        return gateway, recorder

    def stage(self, stage: Stage, percent: float = 100.0) -> None:
        self.store.set_stage("assignments", stage, percent=percent, by="test", reason="test", evidence={})


@pytest.fixture
def setup(run_subgraphs: RunSubgraphs) -> Setup:
    return Setup(run_subgraphs(_specs()))


async def _ask(
    gateway: Gateway, query: str, user: str = "u1", variables: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    return await gateway.execute(GraphQLRequest(query=query, variables=variables, headers={"x-user": user}))


async def _settle(gateway: Gateway, recorder: Recorder) -> None:
    assert gateway.engine is not None
    await gateway.engine.shadow.drain(timeout=10)
    await recorder.flush()


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_side_by_side_records_every_divergence_at_its_coordinate(setup: Setup) -> None:
    setup.stage(Stage.SIDE_BY_SIDE)

    async def scenario() -> list[dict[str, Any]]:
        gateway, recorder = setup.gateway(setup.migration())
        await gateway.start()
        try:
            answers = [await _ask(gateway, BOARD) for _ in range(3)]
            await _settle(gateway, recorder)
        finally:
            await gateway.close()
        return answers

    answers = _run(scenario())
    # users get the monolith's answer, untouched
    assert answers[0] == {
        "data": {"assignments": [{k: v for k, v in _monolith_record(i).items()} for i in range(len(IDS))]}
    }
    groups = {(g.coordinate, g.kind): g for g in setup.store.diff_groups("assignments")}
    assert set(groups) == {
        ("Assignment.createdDate", "value"),
        ("Assignment.tags", "order"),
        ("Assignment.score", "value"),
    }
    assert all(g.operation == "Board" and g.count == 3 for g in groups.values())
    assert all(not g.noise for g in groups.values())
    # the date sample shows the timezone bug, redacted to a preview
    sample = groups[("Assignment.createdDate", "value")].samples[0]
    assert "10:00" in sample.primary and "09:00" in sample.candidate
    evidence = setup.store.evidence("assignments")
    assert (evidence.comparisons, evidence.mismatches, evidence.matches) == (3, 3, 0)
    # and the new service was only asked what differs: the root query, not the monolith's
    assert len(setup.subgraphs["assignments"].requests) == 3


def test_rules_decide_what_counts_as_a_difference(setup: Setup) -> None:
    setup.stage(Stage.SIDE_BY_SIDE)
    rules = {
        "Assignment.tags": CoordinateRule(unordered=True),
        "Assignment.score": CoordinateRule(float_tolerance=0.01),
        "Assignment.createdDate": CoordinateRule(ignore=True),
    }

    async def scenario() -> None:
        gateway, recorder = setup.gateway(setup.migration(rules=rules))
        await gateway.start()
        try:
            for _ in range(2):
                await _ask(gateway, BOARD)
            await _ask(gateway, 'query One { assignment(id: "a3") { id title tags } }')
            await _settle(gateway, recorder)
        finally:
            await gateway.close()

    _run(scenario())
    assert [(g.coordinate, g.kind) for g in setup.store.diff_groups("assignments")] == []
    evidence = setup.store.evidence("assignments")
    assert (evidence.comparisons, evidence.matches, evidence.operations) == (3, 3, 2)
    assert evidence.match_rate == 1.0


def test_a_field_that_differs_between_two_primary_runs_is_noise(setup: Setup) -> None:
    setup.stage(Stage.SIDE_BY_SIDE)
    rules = {
        "Assignment.tags": CoordinateRule(unordered=True),
        "Assignment.score": CoordinateRule(float_tolerance=0.01),
    }

    async def scenario() -> None:
        gateway, recorder = setup.gateway(setup.migration(rules=rules, noise_rate=1.0))
        await gateway.start()
        try:
            for _ in range(30):
                await _ask(gateway, 'query Rendered { assignment(id: "a1") { id title renderedAt } }')
                assert (
                    gateway.engine is not None
                )  # each comparison and its repeat done before the next request:
                await gateway.engine.shadow.drain(timeout=10)
            await _settle(gateway, recorder)
        finally:
            await gateway.close()

    _run(scenario())
    groups = setup.store.diff_groups("assignments")
    assert [(g.coordinate, g.noise) for g in groups] == [("Assignment.renderedAt", True)]
    evidence = setup.store.evidence("assignments")
    # noise once the old side was seen to disagree with itself about as often as with the new side, over 20
    # values each way (NoiseTally.min_values); mismatches until then
    assert evidence.mismatches + evidence.noise == 30
    assert 19 <= evidence.mismatches <= 21 and evidence.noise >= 9
    assert evidence.open_diff_groups == 0


def test_a_mutation_is_never_sent_to_the_candidate(setup: Setup) -> None:
    setup.stage(Stage.SIDE_BY_SIDE)
    mutation = (
        'mutation Rename($id: ID!) { renameAssignment(id: $id, title: "x") { id title createdDate tags } }'
    )

    async def scenario() -> list[dict[str, Any]]:
        gateway, recorder = setup.gateway(setup.migration())
        await gateway.start()
        try:
            answers = [await _ask(gateway, mutation, variables={"id": i}) for i in IDS]
            await _settle(gateway, recorder)
        finally:
            await gateway.close()
        return answers

    answers = _run(scenario())
    assert all("errors" not in a and a["data"]["renameAssignment"]["title"] == "x" for a in answers)
    assert setup.subgraphs["assignments"].requests == []
    assert setup.store.evidence("assignments").comparisons == 0


@pytest.mark.parametrize("failure", ["hang", "down"])
def test_a_stalled_or_dead_candidate_never_touches_the_users_response(setup: Setup, failure: str) -> None:
    setup.stage(Stage.SIDE_BY_SIDE)
    new_service = setup.subgraphs["assignments"]
    if failure == "hang":
        new_service.set_mode("hang")
    else:
        new_service.stop()

    async def scenario() -> tuple[list[dict[str, Any]], float]:
        gateway, recorder = setup.gateway(
            setup.migration(), shadow=ShadowQueue(size=2, concurrency=1, timeout=1.0)
        )
        await gateway.start()
        try:
            started = time.perf_counter()
            answers = [await _ask(gateway, BOARD) for _ in range(5)]
            elapsed = time.perf_counter() - started
            await gateway.engine.shadow.drain(timeout=15)  # type: ignore[union-attr]
            await recorder.flush()
        finally:
            new_service.set_mode("ok")
            await gateway.close()
        return answers, elapsed

    answers, elapsed = _run(scenario())
    expected = {"data": {"assignments": [_monolith_record(i) for i in range(len(IDS))]}}
    assert all(a == expected for a in answers)
    # five answers while every comparison stalls for its full timeout (1 s each, one at a time)
    assert elapsed < 1.0
    evidence = setup.store.evidence("assignments")
    # a full queue drops comparisons (counted), never waits
    assert evidence.errors + evidence.shadow_dropped == 5
    assert evidence.shadow_dropped >= 1 if failure == "hang" else evidence.errors >= 1


def test_migrated_falls_back_to_the_monolith_when_the_new_service_is_down(setup: Setup) -> None:
    setup.stage(Stage.MIGRATED, percent=100.0)
    setup.subgraphs["assignments"].stop()
    metrics = Metrics()

    async def scenario() -> list[dict[str, Any]]:
        gateway, recorder = setup.gateway(setup.migration(), metrics=metrics)
        await gateway.start()
        try:
            answers = [
                await _ask(gateway, BOARD),
                await _ask(gateway, 'query One { assignment(id: "a2") { id } }'),
            ]
            await recorder.flush()
        finally:
            await gateway.close()
        return answers

    answers = _run(scenario())
    assert answers[0] == {"data": {"assignments": [_monolith_record(i) for i in range(len(IDS))]}}
    assert answers[1] == {"data": {"assignment": {"id": "a2"}}}
    evidence = setup.store.evidence("assignments")
    assert evidence.fallbacks == 2 and evidence.last_fallback is not None
    assert (
        metrics.registry.get_sample_value("turnout_migration_fallbacks_total", {"migration": "assignments"})
        == 2
    )

    # the failed calls and the calls made in their place are counted, each with its purpose
    def calls(subgraph: str, outcome: str, purpose: str) -> float:
        labels = {"subgraph": subgraph, "outcome": outcome, "purpose": purpose}
        return metrics.registry.get_sample_value("turnout_subgraph_requests_total", labels) or 0.0

    assert calls("assignments", "error", "request") == 2
    assert calls("monolith", "ok", "fallback") == 2
    assert calls("monolith", "ok", "request") == 0


def test_comparison_calls_are_counted_as_shadow(setup: Setup) -> None:
    setup.stage(Stage.SIDE_BY_SIDE)
    metrics = Metrics()

    async def scenario() -> None:
        gateway, recorder = setup.gateway(setup.migration(), metrics=metrics)
        await gateway.start()
        try:
            for _ in range(3):
                await _ask(gateway, BOARD)
            await _settle(gateway, recorder)
        finally:
            await gateway.close()

    _run(scenario())
    sample = metrics.registry.get_sample_value
    labels = {"subgraph": "assignments", "outcome": "ok"}
    assert sample("turnout_subgraph_requests_total", {**labels, "purpose": "shadow"}) == 3
    assert sample("turnout_subgraph_requests_total", {**labels, "purpose": "request"}) is None
    assert (
        sample(
            "turnout_subgraph_requests_total", {"subgraph": "monolith", "outcome": "ok", "purpose": "request"}
        )
        == 3
    )


def test_migrated_serves_the_new_service_for_its_rollout_share_sticky_per_user(setup: Setup) -> None:
    setup.stage(Stage.MIGRATED, percent=50.0)

    async def scenario() -> dict[str, list[str]]:
        gateway, _recorder = setup.gateway(setup.migration())
        await gateway.start()
        seen: dict[str, list[str]] = {}
        try:
            for user in [f"user-{n}" for n in range(40)]:
                for _ in range(2):
                    answer = await _ask(
                        gateway, 'query D { assignment(id: "a2") { createdDate } }', user=user
                    )
                    seen.setdefault(user, []).append(answer["data"]["assignment"]["createdDate"])
        finally:
            await gateway.close()
        return seen

    seen = _run(scenario())
    assert all(len(set(dates)) == 1 for dates in seen.values())  # sticky: a user always sees one side
    served_new = sum(1 for dates in seen.values() if dates[0] == "2024-03-02T09:00:00Z")
    assert 8 <= served_new <= 32  # about half of 40 users


def test_a_stage_change_through_one_instance_reaches_another(setup: Setup) -> None:
    async def scenario() -> tuple[str, str]:
        first, _r1 = setup.gateway(setup.migration(), refresh=2.0)
        second, _r2 = setup.gateway(setup.migration(), refresh=2.0)
        await first.start()
        await second.start()
        await eventually(lambda: setup.clock.sleeping == 2, 5, describe="the refreshers never waited")
        try:
            before = await _ask(second, 'query D { assignment(id: "a2") { createdDate } }')
            # an operator moves the migration with the first instance's store
            assert first.engine is not None and first.engine.state_source is not None
            await asyncio.to_thread(
                first.engine.state_source.set_stage,
                "assignments",
                Stage.REMOVED,
                percent=100.0,
                by="ops",
                reason="done",
                evidence={},
            )
            engine = second.engine
            assert engine is not None

            def seen() -> Stage:
                return engine.states["assignments"].stage

            setup.clock.advance(1.9)  # within a refresh interval: the second instance runs what it read
            assert seen() == Stage.MONOLITH
            setup.clock.advance(0.1)  # its refresh: it reads the change
            await eventually(lambda: seen() == Stage.REMOVED, 5, describe="the second instance never saw it")
            after = await _ask(second, 'query D { assignment(id: "a2") { createdDate } }')
        finally:
            await first.close()
            await second.close()
        return before["data"]["assignment"]["createdDate"], after["data"]["assignment"]["createdDate"]

    before, after = _run(scenario())
    assert before == "2024-03-02T10:00:00Z"  # monolith
    assert after == "2024-03-02T09:00:00Z"  # the new service
    log = setup.store.stage_log("assignments")
    assert [(c.to_stage, c.by) for c in log] == [(Stage.REMOVED, "ops")]
