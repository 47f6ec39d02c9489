"""Noise is a measured rate: old against old, against old against new, per value; stored and shared by instances,
and a write between two runs cannot turn a real difference into noise."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support.clock import FakeClock
from support.fixtures import load_supergraph
from turnout.migration.compare import MigrationComparison
from turnout.migration.engine import MigrationEngine
from turnout.migration.model import Difference, Migration
from turnout.migration.noise import NoiseTally
from turnout.migration.recorder import Recorder
from turnout.migration.store import Store
from turnout.supergraph.join_spec import read_supergraph

MODEL = read_supergraph(load_supergraph("classroom"))
MIGRATION = Migration(
    name="assignments",
    from_subgraph="monolith",
    to_subgraph="assignments",
    fields=("Assignment.createdDate", "Assignment.renderedAt"),
)


def _comparison(**differing: int) -> MigrationComparison:
    coordinates = ("Assignment.createdDate", "Assignment.renderedAt")
    return MigrationComparison(
        differences=[Difference(path=(), coordinate=c.replace("_", "."), kind="value") for c in differing],
        values=dict.fromkeys(coordinates, 1),
        differing={c.replace("_", "."): n for c, n in differing.items()},
    )


def test_a_field_wrong_one_time_in_seven_is_not_noise_even_if_two_old_runs_once_differed() -> None:
    tally = NoiseTally()
    for i in range(70):
        # renderedAt differs on every call, both ways; createdDate differs from the new side 1 in 7, and once
        # between two old runs (a write landed in between)
        tally.against_itself(
            _comparison(**{"Assignment_renderedAt": 1}, **({"Assignment_createdDate": 1} if i == 5 else {}))
        )
        tally.against_candidate(
            _comparison(
                **{"Assignment_renderedAt": 1}, **({"Assignment_createdDate": 1} if i % 7 == 0 else {})
            )
        )
    assert tally.noisy() == {"Assignment.renderedAt"}


def test_too_few_values_decide_nothing() -> None:
    tally = NoiseTally()
    for _ in range(19):
        tally.against_itself(_comparison(Assignment_renderedAt=1))
        tally.against_candidate(_comparison(Assignment_renderedAt=1))
    assert tally.noisy() == set()


def test_the_verdict_expires_with_its_windows() -> None:
    clock = FakeClock()
    tally = NoiseTally(window_seconds=10.0, clock=clock)
    for _ in range(30):
        tally.against_itself(_comparison(Assignment_renderedAt=1))
        tally.against_candidate(_comparison(Assignment_renderedAt=1))
    assert tally.noisy() == {"Assignment.renderedAt"}
    clock.advance(15.0)  # the previous window still counts
    assert tally.noisy() == {"Assignment.renderedAt"}
    clock.advance(20.0)  # two windows later: forgotten
    assert tally.noisy() == set()


def test_instances_share_noise_through_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turnout.db'}"
    with Store.open(url) as store:
        store.create_schema()
        recorder = Recorder(store)
        measuring = MigrationEngine(MODEL, [MIGRATION], states=store, evidence=recorder, instance="gw-1")
        other = MigrationEngine(MODEL, [MIGRATION], states=store, evidence=recorder, instance="gw-2")
        for _ in range(25):
            measuring.learn_noise(MIGRATION, _comparison(Assignment_renderedAt=1))
            measuring.record_comparison(MIGRATION, "Detail", _comparison(Assignment_renderedAt=1), False)
        asyncio.run(recorder.flush())
        asyncio.run(other.refresh())
        assert other.noisy["assignments"] == {"Assignment.renderedAt"}  # learnt by gw-1, judged by gw-2
        outcome = other.record_comparison(MIGRATION, "Detail", _comparison(Assignment_renderedAt=1), False)
        assert outcome == "noise"
        asyncio.run(recorder.flush())
