"""`turnout demo`: a monolith, two new services and the gateway, with traffic, moving fields stage by stage."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import secrets
import signal
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from .assembly import build_gateway
from .config import Config, ServerConfig, ShadowConfig, StoreConfig
from .gateway import Gateway
from .migration.model import Stage
from .migration.report import migration_report
from .migration.stages import move_stage
from .migration.store import Store
from .migration.table import migrations_table
from .reload import GatewayHolder
from .server.admin import BearerTokens, create_admin_app
from .server.app import create_app
from .supergraph.join_spec import read_supergraph

__all__ = ["DemoError", "run_demo"]


class DemoError(RuntimeError):
    """The demo cannot start (examples not found, a port taken)."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the demo (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _find_examples(examples: Path | None) -> ModuleType:
    candidates = (
        [examples]
        if examples
        else [Path.cwd() / "examples", Path(__file__).resolve().parents[2] / "examples"]
    )
    for candidate in candidates:
        if candidate is not None and (candidate / "classroom" / "supergraph.graphql").is_file():
            root = str(candidate.resolve().parent)
            if root not in sys.path:
                sys.path.insert(0, root)
            try:
                return importlib.import_module("examples.classroom")
            except ImportError as error:
                raise DemoError(f"cannot load the classroom example from {candidate}: {error}") from None
    raise DemoError(
        "the examples/ folder was not found: run from the repository root or pass --examples PATH"
    )


@dataclass
class _Running:
    servers: dict[str, _Server] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def start(self, name: str, app: Any, host: str, port: int) -> None:
        server = _Server(
            uvicorn.Config(app, host=host, port=port, log_level="error", lifespan="auto", access_log=False)
        )
        task = asyncio.create_task(server.serve(), name=f"demo-{name}")
        while not server.started:
            if task.done():
                raise DemoError(f"{name} could not listen on {host}:{port} (is the port taken?)")
            await asyncio.sleep(0.02)
        self.servers[name], self.tasks[name] = server, task

    async def stop(self, name: str) -> None:
        server, task = self.servers.pop(name), self.tasks.pop(name)
        server.should_exit = True
        await asyncio.gather(task, return_exceptions=True)

    async def stop_all(self) -> None:
        for name in reversed(list(self.servers)):
            await self.stop(name)


class _Story:
    """The scripted part: what an operator does over a migration's life, with the evidence at each step."""

    def __init__(
        self,
        console: Console,
        gateway: Gateway,
        store: Store,
        step: float,
        traffic_counts: Callable[[], dict[str, int]],
    ) -> None:
        assert gateway.engine is not None
        self.console = console
        self.gateway = gateway
        self.engine = gateway.engine
        self.store = store
        self.step = step
        self.traffic_counts = traffic_counts

    def migrations(self) -> list[Any]:
        return list(self.engine.migrations.values())

    async def report(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(migration_report, self.migrations(), self.store, self.gateway.model)

    async def table(self, title: str) -> list[dict[str, Any]]:
        report = await self.report()
        self.console.print(migrations_table(report, title=title))
        return report

    async def wait(self, what: str, seconds: float) -> None:
        """Let traffic flow, with progress shown, while shadow comparisons and evidence accumulate."""
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[traffic]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        ) as progress:
            task = progress.add_task(what, total=seconds, traffic="")
            waited = 0.0
            while waited < seconds:
                await asyncio.sleep(0.25)
                waited += 0.25
                counts = self.traffic_counts()
                progress.update(
                    task, completed=waited, traffic=f"{counts['sent']} requests, {counts['errors']} errors"
                )
        for sink in getattr(self.engine.evidence, "sinks", ()):
            flush = getattr(sink, "flush", None)
            if flush is not None:
                await flush()

    async def move(
        self, name: str, stage: Stage, percent: float = 100.0, *, force_after: int = 3, force: bool = False
    ) -> bool:
        """Move a migration if its gate allows (the CLI's use case: current-stage evidence, compare-and-set),
        waiting a few steps for evidence; with `force`, move anyway after that (a slow machine gathers less
        evidence in a step), saying so."""
        migration = self.engine.migrations[name]
        for attempt in range(force_after + 1):
            last = attempt == force_after
            move = await asyncio.to_thread(
                move_stage,
                self.store,
                migration,
                stage,
                by="demo",
                percent=percent,
                model=self.gateway.model,
                force=force and last,
                reason=None,
            )
            if move.change is not None or move.unchanged:
                await self.engine.refresh()
                shown = f" {percent:g}%" if stage == Stage.MIGRATED else ""
                if move.change is not None and move.change.forced:
                    self.console.print(
                        f"[yellow]✔[/yellow] {name}: → {stage}{shown} (forced: {move.verdict.summary})"
                    )
                else:
                    self.console.print(f"[green]✔[/green] {name}: {move.state.stage} → {stage}{shown}")
                return True
            if not last:
                self.console.print(f"[yellow]…[/yellow] {name} → {stage}: {move.verdict.summary}")
                await self.wait(f"gathering evidence for {name}", self.step)
        self.console.print(
            f"[red]✘[/red] {name} stays in {self.engine.states[name].stage}: {move.verdict.summary}"
        )
        return False

    async def diffs(self, name: str, limit: int = 3) -> None:
        groups = await asyncio.to_thread(self.store.diff_groups, name)
        for group in groups[:limit]:
            sample = group.samples[0] if group.samples else None
            status = "noise" if group.noise else ("acknowledged" if group.acknowledged_until else "open")
            detail = f"{sample.primary} → {sample.candidate}" if sample else ""
            self.console.print(
                f"   {name}: [bold]{group.coordinate}[/bold] ({group.kind}, {group.operation}, "
                f"{group.count}x, {status}) {detail}"
            )


async def run_demo(
    *,
    host: str,
    port: int,
    subgraph_port: int,
    duration: float | None,
    examples: Path | None = None,
    admin_port: int = 4001,
    admin_token: str | None = None,
    step_seconds: float = 8.0,
    store_path: Path | None = None,
    users: int = 60,
    concurrency: int = 6,
) -> list[dict[str, Any]]:
    """Run the story; serve until Ctrl-C or `duration` seconds after it. Returns the final migrations report."""
    console = Console() if sys.stdout.isatty() else Console(width=180)
    # the new services fail on purpose; their tracebacks and the gateway's log of their errors belong in logs,
    # not in the story (which shows those errors as evidence)
    for noisy in ("ariadne", "examples.classroom", "graphql", "turnout.subgraph"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    classroom = _find_examples(examples)
    traffic_module = importlib.import_module("examples.classroom.traffic")
    ports = {name: subgraph_port + i for i, name in enumerate(classroom.SUBGRAPHS)}
    urls = {name: f"http://{host}:{p}/graphql" for name, p in ports.items()}
    store_file = store_path or Path(".turnout") / "demo.db"
    store_file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store_file}{suffix}").unlink(missing_ok=True)
    described = yaml.safe_load(
        (Path(str(classroom.__file__)).parent / "migrations.yaml").read_text(encoding="utf-8")
    )
    described.pop("store", None)
    for migration in described.get("migrations", []):
        # a demo lasts minutes, not days: the gates ask for evidence in proportion
        gates = migration.setdefault("gates", {})
        gates["min_comparisons"] = min(gates.get("min_comparisons", 100), 50)
        gates["removed_after_seconds"] = min(gates.get("removed_after_seconds", 86400.0), 3 * step_seconds)
    cfg = Config.model_validate(
        {
            **described,
            "server": ServerConfig(host=host, port=port).model_dump(),
            "store": StoreConfig(url=f"sqlite:///{store_file}", flush_interval=0.25).model_dump(),
            # comparisons run promptly or not at all: a step lasts seconds
            "shadow": ShadowConfig(timeout=5.0, max_wait=max(step_seconds / 2, 1.0)).model_dump(),
            "refresh_interval": 0.5,
            "subgraph_timeout": 5.0,
        }
    )
    model = read_supergraph(classroom.supergraph_sdl(urls))
    gateway = build_gateway(cfg, model)
    assert gateway.engine is not None and isinstance(gateway.engine.state_source, Store)
    store = gateway.engine.state_source

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    running = _Running()
    traffic_stop = asyncio.Event()
    counts = {"sent": 0, "errors": 0}

    def seen(response: Any) -> None:
        counts["sent"] += 1
        if not response.ok:
            counts["errors"] += 1

    gateway_url = f"http://{host}:{port}/graphql"
    traffic: asyncio.Task[Any] | None = None
    try:
        for name in classroom.SUBGRAPHS:
            await running.start(name, classroom.app_for(name), host, ports[name])
        await running.start("gateway", create_app(gateway), host, port)
        token = admin_token or secrets.token_urlsafe(18)
        holder = GatewayHolder(gateway)
        admin_app = create_admin_app(holder, BearerTokens({token: "demo"}))
        assert admin_app is not None  # the demo has migrations
        await running.start("admin", admin_app, host, admin_port)
        dashboard_url = f"http://{host}:{admin_port}/migrations/"
        console.rule("[bold]turnout demo: moving a monolith's fields to new services")
        console.print(
            f"gateway {gateway_url}   dashboard {dashboard_url} (admin token {token})   "
            + "   ".join(f"{n} {u}" for n, u in urls.items())
        )
        traffic = asyncio.create_task(
            traffic_module.run_traffic(
                gateway_url, users=users, concurrency=concurrency, stop_event=traffic_stop, on_response=seen
            )
        )
        story = _Story(console, gateway, store, step_seconds, lambda: counts)

        console.rule("1. Everything is served by the monolith")
        await story.wait("traffic on the monolith", step_seconds)
        await story.table("monolith: nothing to compare yet")

        console.rule("2. Side by side: a sample of requests also runs on the new services, compared")
        for name in ("progress", "assignments"):
            await story.move(name, Stage.SIDE_BY_SIDE, force=True)
        await story.wait("comparing old and new", step_seconds * 2)
        await story.table("side_by_side: the evidence")
        for name in ("progress", "assignments"):
            await story.diffs(name)

        console.rule("3. progress moves to migrated, 10% → 50% → 100% of users (sticky per user)")
        for percent in (10.0, 50.0, 100.0):
            if not await story.move("progress", Stage.MIGRATED, percent, force=True):
                break
            await story.wait(f"progress served by the new service for {percent:g}% of users", step_seconds)
            await story.table(f"progress migrated {percent:g}%")
        console.print("assignments cannot follow:")
        await story.move("assignments", Stage.MIGRATED, force_after=0)

        console.rule("4. The new progress service goes down: the monolith answers (fallback)")
        await running.stop("progress")
        await story.wait("progress service down", step_seconds)
        report = await story.table("fallbacks recorded while progress is down")
        await running.start("progress", classroom.app_for("progress"), host, ports["progress"])
        await story.wait("progress service back", max(step_seconds / 2, 1.0))

        console.rule("5. No fallback for a while: progress moves to removed, the old code may go")
        quiet = story.engine.migrations["progress"].gates.removed_after_seconds
        await story.wait("progress quiet, served by the new service only", quiet + 1.0)
        await story.move("progress", Stage.REMOVED, force_after=2)
        report = await story.table("final")
        console.print(f"\nDashboard: [bold]{dashboard_url}[/bold]   GraphQL: {gateway_url}")
        console.print(
            "Serving" + (f" for {duration:g}s more." if duration is not None else "; Ctrl-C stops.")
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=duration)
        return report
    finally:
        traffic_stop.set()
        if traffic is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(traffic, timeout=10)
        await running.stop_all()
