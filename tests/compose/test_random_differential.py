"""Random subgraph sets (tests/compose/generator.py) through turnout's and Apollo's composition: the same error
codes; where they compose, the same API schema, join metadata and hint codes. Skipped without Apollo's
composition (bench/peers/install.sh)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from turnout.compose import SubgraphInput, compose

from .facts import differences
from .generator import random_abstract_set, random_set
from .test_differential import APOLLO, SCRIPT

# (generator, seed): the first generator's sets are about entities and fields, the second's about interfaces,
# @interfaceObject, unions, @provides and Federation 1 subgraphs
SEEDS = [*((0, seed) for seed in range(200)), *((1, seed) for seed in range(150))]
GENERATORS = (random_set, random_abstract_set)


def _inputs(key: tuple[int, int]) -> list[SubgraphInput]:
    generator, seed = key
    return [
        SubgraphInput(name, f"http://127.0.0.1:{4101 + i}/graphql", sdl)
        for i, (name, sdl) in enumerate(GENERATORS[generator](seed).items())
    ]


@pytest.fixture(scope="module")
def apollo() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not APOLLO.is_dir():
        pytest.skip("Apollo's composition is not installed: run bench/peers/install.sh (needs node and npm)")
    payload = [
        {"name": str(key), "subgraphs": [{"name": s.name, "url": s.url, "sdl": s.sdl} for s in _inputs(key)]}
        for key in SEEDS
    ]
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_random_sets_agree_with_apollo(apollo: dict[str, Any]) -> None:
    disagreements: list[tuple[object, ...]] = []
    composed = 0
    for seed in SEEDS:
        theirs, ours = apollo[str(seed)], compose(_inputs(seed))
        their_codes = sorted({e["code"] for e in theirs["errors"]})
        our_codes = sorted({e.code for e in ours.errors})
        if our_codes != their_codes:
            disagreements.append((seed, our_codes, their_codes))
        elif theirs["supergraph"] is not None:
            composed += 1
            assert ours.supergraph_sdl is not None
            found = differences(ours.supergraph_sdl, theirs["supergraph"])
            hints = sorted({h.code for h in ours.hints}), sorted(set(theirs["hints"]))
            if found or hints[0] != hints[1]:
                disagreements.append((seed, found[:3], hints))
    assert disagreements == []
    assert composed >= 150  # enough of them compose for the join metadata to be compared


def test_the_generators_are_deterministic() -> None:
    for generator in GENERATORS:
        assert generator(7) == generator(7) and generator(7) != generator(8)
