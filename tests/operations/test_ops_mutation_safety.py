"""Side by side never writes twice: over 10,000 generated operations, no mutation reaches the candidate subgraph.

A seeded generator writes queries and mutations against the classroom graph (fields in and out of the migration,
aliases, fragments, @skip/@include, several root fields, documents holding a query and a mutation). They run
through Gateway.execute (the gateway `turnout serve` builds from the config, in process for speed) against real
loopback subgraphs (in a process of their own), with the migration in side_by_side sampling every request. The
candidate (`assignments`) records every request it gets; mutations run in batches, between which the shadow queue
is drained, so any candidate request during a batch would be a mutation's.
"""

from __future__ import annotations

import asyncio
import functools
import random
import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse
from ops_support import ASSIGNMENT_IDS, ClassroomProcess, classroom_migration

from support.fixtures import load_supergraph, with_subgraph_urls
from turnout.assembly import build_gateway
from turnout.config import Config
from turnout.gateway import Gateway, GraphQLRequest
from turnout.migration.model import Stage
from turnout.migration.store import Store
from turnout.supergraph.join_spec import read_supergraph

SEED = 20240611
OPERATIONS = 10_400
BATCH = 50
MUTATION_SHARE = 0.4
QUERY_DOCUMENTS = 250  # distinct documents, each run many times with other variables and users
MUTATION_DOCUMENTS = 150
ASSIGNMENT_FIELDS = ("id", "title", "createdDate", "tags", "score", "renderedAt", "__typename")


class Generator:
    """Random valid operations on the classroom API (Mutation.renameAssignmentV2, the new service's own write,
    is left out: it belongs to the candidate by design, not through the migration)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.count = 0

    def _alias(self) -> str:
        self.count += 1
        return f"x{self.count}"

    def assignment_selection(self, depth: int = 0) -> tuple[str, set[str]]:
        """A selection on Assignment and the Boolean variables it uses."""
        rng = self.rng
        parts: list[str] = []
        variables: set[str] = set()
        for name in rng.sample(ASSIGNMENT_FIELDS, rng.randint(1, 4)):
            text = f"{self._alias()}: {name}" if rng.random() < 0.3 else name
            if rng.random() < 0.15:
                flag = rng.choice(("on", "off"))
                variables.add(flag)
                text += f" @{rng.choice(('include', 'skip'))}(if: ${flag})"
            parts.append(text)
        if depth == 0 and rng.random() < 0.3:
            inner, used = self.assignment_selection(depth + 1)
            parts.append(f"... on Assignment {{ {inner} }}")
            variables |= used
        return " ".join(parts), variables

    def query_root(self) -> tuple[str, set[str], dict[str, Any]]:
        rng = self.rng
        selection, flags = self.assignment_selection()
        values: dict[str, Any] = {}
        kind = rng.choice(("assignments", "assignment", "users", "typename"))
        alias = f"{self._alias()}: " if rng.random() < 0.3 else ""
        if kind == "assignments":
            text = f"{alias}assignments {{ {selection} }}"
        elif kind == "assignment":
            name = f"id{self.count}"
            values[name] = rng.choice((*ASSIGNMENT_IDS, "nope"))
            text = f"{self._alias()}: assignment(id: ${name}) {{ {selection} }}"
        elif kind == "users":
            text = f"{alias}users {{ id name assignments {{ {selection} }} }}"
        else:
            text, flags = f"{alias}__typename", set()
        return text, flags, values

    def operation(self, kind: str, number: int) -> tuple[GraphQLRequest, bool]:
        """A request of `kind` (query or mutation), and whether it is a mutation."""
        rng = self.rng
        roots: list[str] = []
        flags: set[str] = set()
        values: dict[str, Any] = {}
        if kind == "query":
            for _ in range(rng.randint(1, 3)):
                text, used, more = self.query_root()
                roots.append(text)
                flags |= used
                values |= more
        else:
            for _ in range(rng.randint(1, 2)):
                selection, used = self.assignment_selection()
                flags |= used
                ident, title = f"id{self._alias()}", f"title{self.count}"
                values[ident] = rng.choice(ASSIGNMENT_IDS)
                values[title] = f"Homework {number}"
                roots.append(
                    f"{self._alias()}: renameAssignment(id: ${ident}, title: ${title}) {{ {selection} }}"
                )
        declared = [f"${name}: ID!" if name.startswith("id") else f"${name}: String!" for name in values]
        declared += [f"${flag}: Boolean!" for flag in sorted(flags)]
        values |= {"on": True, "off": False}
        variables = {k: v for k, v in values.items() if f"${k}:" in " ".join(declared)}
        header = f"({', '.join(declared)})" if declared else ""
        name = f"{'Q' if kind == 'query' else 'M'}{number}"
        anonymous = rng.random() < 0.25
        body = " ".join(roots)
        keyword = "query" if kind == "query" else "mutation"
        document = f"{keyword} {'' if anonymous else name}{header} {{ {body} }}"
        operation_name = None if anonymous else name
        if not anonymous and rng.random() < 0.2:  # a document with both kinds: the operation name chooses
            other = "mutation" if kind == "query" else "query"
            decoy = (
                'renameAssignment(id: "a1", title: "decoy") { id }'
                if other == "mutation"
                else "assignments { id createdDate tags }"
            )
            document = (
                f"{other} Other{number} {{ {decoy} }} {document}"
                if rng.random() < 0.5
                else f"{document} {other} Other{number} {{ {decoy} }}"
            )
        return GraphQLRequest(
            query=document,
            operation_name=operation_name,
            variables=variables,
            headers={"x-user": f"u{rng.randint(1, 500)}"},
        ), kind == "mutation"


@functools.cache
def _has_mutation(query: str | None) -> bool:
    if not query:
        return False
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation == OperationType.MUTATION
        for d in parse(query).definitions
    )


def _again(rng: random.Random, request: GraphQLRequest, number: int) -> GraphQLRequest:
    """The same document with new variable values and another user."""
    variables: dict[str, Any] = {}
    for name, value in (request.variables or {}).items():
        if name.startswith("title"):
            variables[name] = f"Homework {number}"
        elif name.startswith("idx"):  # a mutation's: an assignment that exists
            variables[name] = rng.choice(ASSIGNMENT_IDS)
        elif name.startswith("id"):
            variables[name] = rng.choice((*ASSIGNMENT_IDS, "nope"))
        else:
            variables[name] = value
    return replace(request, variables=variables, headers={"x-user": f"u{rng.randint(1, 500)}"})


@pytest.mark.timeout(600)
def test_no_mutation_reaches_the_candidate_over_10000_operations(tmp_path: Path) -> None:
    # the subgraphs agree (no planted differences) and run in a process of their own: the gateway's work is the
    # test's; a rename through the monolith is seen by the new service too, so comparisons keep matching
    subgraphs = ClassroomProcess(agree=True)
    try:
        figures = _run(subgraphs, tmp_path)
    finally:
        subgraphs.close()
    print(
        f"\n{figures['total']} operations ({figures['queries']} queries, {figures['mutations']} mutations in "
        f"{figures['mutation_batches']} batches; {figures['documents']} distinct documents) in "
        f"{figures['elapsed']:.1f}s; the candidate got {figures['candidate_requests']} requests, "
        f"{len(figures['candidate_mutations'])} of them mutations; the monolith got {figures['monolith_mutations']} "
        f"mutation requests; {figures['comparisons']} comparisons recorded"
    )
    assert figures["total"] >= 10_000 and figures["mutations"] > 3000
    assert figures["errors"] == [], figures["errors"][:3]
    assert figures["candidate_mutations"] == []
    assert figures["compared_mutations"] == []  # no comparison of a mutation was ever recorded
    assert figures["monolith_mutations"] >= figures["mutations"]  # the writes did happen, on the primary
    assert figures["comparisons"] > 3000 and figures["candidate_requests"] > 3000  # the shadow path was busy


def _run(subgraphs: ClassroomProcess, tmp_path: Path) -> dict[str, Any]:
    model = read_supergraph(
        with_subgraph_urls(
            load_supergraph("classroom"), {name: subgraphs.url(name) for name in subgraphs.ports}
        )
    )
    db = tmp_path / "turnout.db"
    cfg = Config.model_validate(
        {
            "store": {"url": f"sqlite:///{db}", "flush_interval": 0.5},
            "migrations": [classroom_migration()],  # sample_rate 1: every eligible request is compared
            "cohort": {"header": "x-user"},
            "shadow": {"queue_size": 5000, "concurrency": 8, "timeout": 10},
            "subgraph_timeout": 10,
        }
    )
    with Store.open(cfg.store.url) as store:
        store.create_schema()
        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="test", reason="test", evidence={})
    generator = Generator(SEED)
    pools = {
        kind: [generator.operation(kind, n)[0] for n in range(size)]
        for kind, size in (("query", QUERY_DOCUMENTS), ("mutation", MUTATION_DOCUMENTS))
    }
    rng = random.Random(SEED + 1)
    figures: dict[str, Any] = {
        "queries": 0,
        "mutations": 0,
        "mutation_batches": 0,
        "errors": [],
        "documents": QUERY_DOCUMENTS + MUTATION_DOCUMENTS,
    }

    async def run(gateway: Gateway) -> None:
        engine = gateway.engine
        assert engine is not None
        number = 0
        while number < OPERATIONS:
            kind = "mutation" if rng.random() < MUTATION_SHARE else "query"
            batch = [_again(rng, rng.choice(pools[kind]), number + i) for i in range(BATCH)]
            number += BATCH
            if kind == "mutation":
                await engine.shadow.drain(60)  # the comparisons of earlier queries are done
                before = await asyncio.to_thread(subgraphs.count, "assignments")
            answers = await asyncio.gather(
                *(gateway.execute(request) for request in batch), return_exceptions=True
            )
            for request, answer in zip(batch, answers, strict=True):
                if isinstance(answer, BaseException) or "errors" in answer:
                    figures["errors"].append((request.query, request.variables, answer))
            figures["mutations" if kind == "mutation" else "queries"] += len(batch)
            if kind == "mutation":
                figures["mutation_batches"] += 1
                await engine.shadow.drain(60)
                fetched = await asyncio.to_thread(subgraphs.recorded, "assignments", before)
                assert fetched == [], f"a batch of mutations made candidate fetches: {fetched[:3]}"
        await engine.shadow.drain(60)

    async def main() -> None:
        gateway = build_gateway(cfg, model)
        await gateway.start()
        try:
            await run(gateway)
        finally:
            await gateway.close()

    started = time.monotonic()
    asyncio.run(main())
    figures["elapsed"] = time.monotonic() - started
    figures["total"] = figures["queries"] + figures["mutations"]
    candidate = subgraphs.recorded("assignments")
    figures["candidate_requests"] = len(candidate)
    figures["candidate_mutations"] = [r["query"] for r in candidate if _has_mutation(r["query"])]
    figures["monolith_mutations"] = sum(
        1 for r in subgraphs.recorded("monolith") if _has_mutation(r["query"])
    )
    with sqlite3.connect(db) as connection:
        compared = dict(
            connection.execute(
                "SELECT operation, SUM(count) FROM turnout_comparisons GROUP BY operation"
            ).fetchall()
        )
    figures["compared_mutations"] = [name for name in compared if name.startswith(("M", "Other"))]
    figures["comparisons"] = sum(compared.values())
    return figures
