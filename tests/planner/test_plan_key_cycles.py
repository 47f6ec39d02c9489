"""Keys that need each other: `Item` is known to the catalog by `id` only; five subgraphs take it by `id code`, and
`code` comes from any of them or from `codes` (the only one reached by `id` alone). Looking for a way into one
part leads through the others and back: the planner's memo must keep what such a cycle settles (Tarjan's
lowlink), or every estimate walks the whole cycle again (3,253 memoized computations for this operation before;
181 now: the bound below fails with the old memo)."""

from __future__ import annotations

import pytest
from graphql import parse

from support.fixtures import load_supergraph
from turnout.planner import costs
from turnout.planner.plan_nodes import Fetch, Flatten, Parallel, PlanNode, Sequence
from turnout.planner.query_planner import QueryPlanner
from turnout.supergraph.join_spec import read_supergraph


def services(node: PlanNode | None) -> list[object]:
    """The plan's shape: services in order, a Parallel as a set."""
    if isinstance(node, Sequence):
        return [services(child) for child in node.nodes]
    if isinstance(node, Parallel):
        return [frozenset(str(services(child)) for child in node.nodes)]
    if isinstance(node, Flatten):
        return services(node.node)
    assert isinstance(node, Fetch)
    return [node.service]


def test_a_cycle_of_keys_plans_through_the_one_way_in(monkeypatch: pytest.MonkeyPatch) -> None:
    computations = 0
    memo = costs.CostModel._memo

    def counting(
        self: costs.CostModel,
        cache: dict[tuple[object, ...], object],
        key: tuple[object, ...],
        compute: object,
        in_cycle: object,
    ) -> object:
        def counted() -> object:
            nonlocal computations
            computations += 1
            return compute()  # type: ignore[operator]

        return memo(self, cache, key, counted, in_cycle)

    monkeypatch.setattr(costs.CostModel, "_memo", counting)
    planner = QueryPlanner(read_supergraph(load_supergraph("itemcodes")))
    plan = planner.plan(parse("{ items { f2 f3 f4 f5 f6 } }"))
    assert services(plan.node) == [
        ["catalog"],
        ["codes"],
        [frozenset(str([f"part{i}"]) for i in range(2, 7))],
    ]
    assert computations < 600, computations
