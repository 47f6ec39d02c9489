"""Each gateway instance reports the stage and percent it actually runs, and since when, to the store."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from support.fixtures import load_supergraph
from turnout.migration.engine import MigrationEngine
from turnout.migration.model import Migration, Stage
from turnout.migration.report import migration_report
from turnout.migration.store import Store
from turnout.supergraph.join_spec import read_supergraph

MODEL = read_supergraph(load_supergraph("classroom"))
MIGRATION = Migration(
    name="assignments",
    from_subgraph="monolith",
    to_subgraph="assignments",
    fields=("Assignment.createdDate",),
)


def test_instances_report_what_they_picked_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turnout.db'}"
    with Store.open(url) as store:
        store.create_schema()
        engines = [MigrationEngine(MODEL, [MIGRATION], states=store, instance=f"gw-{i}") for i in (1, 2)]

        asyncio.run(engines[0].refresh())
        asyncio.run(engines[1].refresh())
        first = {i.instance: i for i in store.instances("assignments")}
        assert {(n, i.stage, i.percent) for n, i in first.items()} == {
            ("gw-1", Stage.MONOLITH, 100.0),
            ("gw-2", Stage.MONOLITH, 100.0),
        }

        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=25, by="ada", reason="go", evidence={})
        time.sleep(0.01)
        asyncio.run(engines[0].refresh())  # gw-2 has not refreshed yet: it still runs monolith
        seen = {i.instance: i for i in store.instances("assignments")}
        assert (seen["gw-1"].stage, seen["gw-1"].percent) == (Stage.SIDE_BY_SIDE, 25.0)
        assert seen["gw-1"].since > first["gw-1"].since  # when it picked the new stage up
        assert (seen["gw-2"].stage, seen["gw-2"].since) == (Stage.MONOLITH, first["gw-2"].since)

        [row] = migration_report([MIGRATION], store, MODEL)
        assert [(i["instance"], i["stage"], i["percent"]) for i in row["instances"]] == [
            ("gw-1", "side_by_side", 25.0),
            ("gw-2", "monolith", 100.0),
        ]
        assert row["sampling"] == 25.0
