"""`turnout demo`: the example shop's three subgraphs behind the gateway, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import signal
import sys
from collections.abc import Generator
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import orjson
import uvicorn
from graphql import parse
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax

from .gateway import Gateway
from .planner.display import print_plan
from .server.app import create_app
from .supergraph.join_spec import read_supergraph
from .transport.http import HttpTransport

__all__ = ["SAMPLE_QUERIES", "DemoError", "run_demo"]


class DemoError(RuntimeError):
    """The demo cannot start (examples not found, a port taken)."""


SAMPLE_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Top products, their reviews and the reviewers (three subgraphs, entity jumps, @provides)",
        """query TopProducts {
  topProducts(first: 2) {
    upc
    name
    price
    reviews {
      body
      author { username }
    }
  }
}""",
    ),
    (
        "A user with their reviews and the products reviewed (@requires on Product.valueScore)",
        """query UserReviews {
  user(id: "1") {
    name
    reviews {
      product { name valueScore }
    }
  }
}""",
    ),
)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the demo (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _find_examples(examples: Path | None) -> ModuleType:
    candidates = [examples] if examples else [Path.cwd() / "examples", Path(__file__).resolve().parents[2] / "examples"]
    for candidate in candidates:
        if candidate is not None and (candidate / "shop" / "supergraph.graphql").is_file():
            root = str(candidate.resolve().parent)
            if root not in sys.path:
                sys.path.insert(0, root)
            try:
                return importlib.import_module("examples.shop")
            except ImportError as error:
                raise DemoError(f"cannot load the example shop from {candidate}: {error}") from None
    raise DemoError("the examples/ folder was not found: run from the repository root or pass --examples PATH")


async def _start(servers: list[_Server]) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    while not all(server.started for server in servers):
        failed = [t for t in tasks if t.done()]
        if failed:
            for server in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            raise DemoError("a server did not start (is one of the ports taken?)")
        await asyncio.sleep(0.02)
    return tasks


async def _ask(session: aiohttp.ClientSession, url: str, query: str) -> Any:
    async with session.post(url, json={"query": query}) as response:
        return orjson.loads(await response.read())


async def run_demo(*, host: str, port: int, subgraph_port: int, duration: float | None,
                   examples: Path | None = None) -> None:
    console = Console()
    shop = _find_examples(examples)
    urls = {name: f"http://{host}:{subgraph_port + i}/graphql" for i, name in enumerate(shop.SUBGRAPHS)}
    model = read_supergraph(shop.supergraph_sdl(urls))
    gateway = Gateway(model, HttpTransport(timeout=10.0))
    servers = [
        _Server(uvicorn.Config(shop.app_for(name), host=host, port=subgraph_port + i, log_level="warning",
                               lifespan="off", access_log=False))
        for i, name in enumerate(shop.SUBGRAPHS)
    ]
    servers.append(_Server(uvicorn.Config(create_app(gateway), host=host, port=port, log_level="warning",
                                          access_log=False)))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    tasks = await _start(servers)
    gateway_url = f"http://{host}:{port}/graphql"
    try:
        console.print(Panel.fit(
            "\n".join([f"gateway      {gateway_url}"] + [f"{name:<12} {url}" for name, url in urls.items()]),
            title="turnout demo: the example shop", border_style="green"))
        async with aiohttp.ClientSession() as session:
            for title, query in SAMPLE_QUERIES:
                console.rule(title)
                console.print(Syntax(query, "graphql"))
                console.print(Syntax(print_plan(gateway.planner.plan(parse(query))), "text"))
                result = await _ask(session, gateway_url, query)
                text = orjson.dumps(result, option=orjson.OPT_INDENT_2).decode()
                lines = text.splitlines()
                shown = "\n".join(lines[:40]) + (f"\n... ({len(lines) - 40} more lines)" if len(lines) > 40 else "")
                console.print(Syntax(shown, "json"))
        console.print(f"\nServing at [bold]{gateway_url}[/bold]"
                      + (f" for {duration:g}s." if duration is not None else "; Ctrl-C stops."))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await gateway.client.close()
