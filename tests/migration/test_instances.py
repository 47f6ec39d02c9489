"""Each gateway instance reports the stage and percent it actually runs, and since when, to the store (the
engine's and the report's logic, on the in-memory store; the store's side is in test_store.py's contract)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from support.clock import FakeClock
from support.fixtures import load_supergraph
from turnout.migration.engine import MigrationEngine
from turnout.migration.memory_store import MemoryStore
from turnout.migration.model import Migration, Stage
from turnout.migration.report import migration_report
from turnout.supergraph.join_spec import read_supergraph

MODEL = read_supergraph(load_supergraph("classroom"))
MIGRATION = Migration(
    name="assignments",
    from_subgraph="monolith",
    to_subgraph="assignments",
    fields=("Assignment.createdDate",),
)


def test_instances_report_what_they_picked_up() -> None:
    with MemoryStore() as store:
        clock = FakeClock()
        engines = [
            MigrationEngine(MODEL, [MIGRATION], states=store, instance=f"gw-{i}", clock=clock) for i in (1, 2)
        ]

        asyncio.run(engines[0].refresh())
        asyncio.run(engines[1].refresh())
        first = {i.instance: i for i in store.instances("assignments")}
        assert {(n, i.stage, i.percent) for n, i in first.items()} == {
            ("gw-1", Stage.MONOLITH, 100.0),
            ("gw-2", Stage.MONOLITH, 100.0),
        }

        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=25, by="ada", reason="go", evidence={})
        clock.advance(1.5)
        asyncio.run(engines[0].refresh())  # gw-2 has not refreshed yet: it still runs monolith
        seen = {i.instance: i for i in store.instances("assignments")}
        assert (seen["gw-1"].stage, seen["gw-1"].percent) == (Stage.SIDE_BY_SIDE, 25.0)
        assert seen["gw-1"].since - first["gw-1"].since == timedelta(seconds=1.5)  # when it picked it up
        assert (seen["gw-2"].stage, seen["gw-2"].since) == (Stage.MONOLITH, first["gw-2"].since)

        [row] = migration_report([MIGRATION], store, MODEL)
        assert [(i["instance"], i["stage"], i["percent"]) for i in row["instances"]] == [
            ("gw-1", "side_by_side", 25.0),
            ("gw-2", "monolith", 100.0),
        ]
        assert row["sampling"] == 25.0
