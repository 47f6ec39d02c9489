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
