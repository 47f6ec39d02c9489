"""Shared pytest fixtures: real federated subgraphs and ASGI servers on loopback."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp

from support.servers import RunningSubgraph, ServerThread, start_subgraphs, stop_all
from support.subgraph import SubgraphApp, SubgraphSpec

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # so tests can import the examples/ package
    sys.path.insert(0, str(REPO_ROOT))

RunSubgraphs = Callable[..., dict[str, RunningSubgraph]]

# Modules that start gateway processes, drive load or explore many generated inputs: marked `slow`, left out by
# `make test-fast` (measured: each costs seconds to minutes; everything else runs in under two minutes).
SLOW = (
    "operations/",
    "browser/",
    "hardening/test_hardening_fuzz.py",
    "hardening/test_hardening_connections.py",
    "hardening/test_hardening_work.py",
    "hardening/test_hardening_properties.py",
    "hardening/test_hardening_deadline.py",
    "migration/test_evidence_scenario.py",
    "difftest/test_generator.py",
    "test_demo_command.py",
    "compose/test_dev.py",
    "compose/test_differential.py",
    "compose/test_random_differential.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        where = item.path.resolve().relative_to(tests).as_posix()
        if where.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def run_subgraphs() -> Iterator[RunSubgraphs]:
    """Factory: ``run_subgraphs(spec_a, spec_b)`` or ``run_subgraphs([specs])`` -> ``{name: RunningSubgraph}``.

    Accepts :class:`SubgraphSpec` or ready :class:`SubgraphApp` objects; every subgraph
    started is stopped when the test ends.
    """
    started: list[RunningSubgraph] = []

    def run(
        *items: SubgraphSpec | SubgraphApp | list[SubgraphSpec | SubgraphApp],
    ) -> dict[str, RunningSubgraph]:
        flat: list[SubgraphSpec | SubgraphApp] = []
        for item in items:
            flat.extend(item if isinstance(item, list | tuple) else [item])
        running = start_subgraphs(flat)
        started.extend(running.values())
        return running

    yield run
    stop_all(started)


@pytest.fixture
def serve_asgi() -> Iterator[Callable[..., ServerThread]]:
    """Factory: ``serve_asgi(app, **ServerThread options)`` -> a started :class:`ServerThread`, stopped after the test."""
    started: list[ServerThread] = []

    def serve(app: ASGIApp, **options: Any) -> ServerThread:
        server = ServerThread(app, **options).start()
        started.append(server)
        return server

    yield serve
    stop_all(started)


@pytest.fixture
def shop_subgraphs(run_subgraphs: RunSubgraphs) -> dict[str, RunningSubgraph]:
    """The example shop (accounts, products, reviews) served as recording subgraphs."""
    from examples import shop

    apps = [SubgraphApp(name, shop.schema_for(name), sdl=shop.sdl_for(name)) for name in shop.SUBGRAPHS]
    return run_subgraphs(apps)
