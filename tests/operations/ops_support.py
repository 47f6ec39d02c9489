"""Helpers of the operations tests: `turnout serve` in a real process, a load generator, the classroom subgraphs.

The gateway runs as `turnout serve` (the installed command) in its own process, with its log in a file; the
subgraphs run in threads of the test process (tests/support), so a test can stop, restart or break them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from graphql import DocumentNode, GraphQLError, execute, parse, validate

from support.fixtures import SUPERGRAPHS_DIR
from support.servers import RunningSubgraph, ServerThread
from support.subgraph import SubgraphSpec
from support.waiting import wait_until

TURNOUT = Path(sys.executable).with_name("turnout")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` in one step (as deployment tools do), so a poller never reads half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_config(path: Path, settings: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(settings), sort_keys=False), encoding="utf-8")
    return path


class GatewayProcess:
    """`turnout serve ARGS` in a process of its own; its stdout and stderr go to `log_path`."""

    def __init__(
        self, args: list[str], log_path: Path, *, port: int | None = None, cwd: Path | None = None
    ) -> None:
        self.port = port or free_port()
        self.admin_port = free_port()
        self.args = [
            str(TURNOUT),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--admin-port",
            str(self.admin_port),
            *args,
        ]
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("TURNOUT_")}
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            self.args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd or log_path.parent,
            start_new_session=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + "/graphql"

    @property
    def admin_url(self) -> str:
        """The admin listener: the dashboard, its API and its writes."""
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 20.0) -> GatewayProcess:
        def healthy() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"turnout serve exited with {self.process.returncode}:\n{self.log()}")
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return asyncio.run(_get_status(self.base_url + "/health")) == 200

        try:
            wait_until(healthy, timeout, ignoring=(OSError,))
        except AssertionError:
            raise TimeoutError(f"turnout serve not ready after {timeout}s:\n{self.log()}") from None
        return self

    def signal(self, number: int = signal.SIGTERM) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL (the whole process group) if it does not end within 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()
        return self.process.returncode

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))


async def _get_status(url: str) -> int:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
        session.get(url) as r,
    ):
        return r.status


@contextlib.contextmanager
def gateway_process(args: list[str], log_path: Path, **options: Any) -> Iterator[GatewayProcess]:
    process = GatewayProcess(args, log_path, **options)
    try:
        yield process.wait_ready()
    finally:
        process.stop()


def restart(subgraph: RunningSubgraph) -> None:
    """Serve a stopped subgraph again on its port (same app, same recorded requests)."""
    subgraph.app._closing = False
    subgraph.server = ServerThread(subgraph.app, port=subgraph.server.port, name=subgraph.name).start()


def _serve_classroom(ports: dict[str, int], ready: Any, stop: Any, agree: bool) -> None:  # in a child process
    """Both classroom subgraphs on aiohttp's server (its C parser keeps a request under a millisecond or so):
    the same federated schemas as the harness's, each distinct document parsed and validated once. With `agree`,
    both serve the same records (a rename through the monolith shows in the new service too)."""
    import threading

    from aiohttp import web

    from support.subgraph import build_subgraph_schema

    recorded: dict[str, list[dict[str, Any]]] = {}

    def make_app(spec: SubgraphSpec) -> web.Application:
        schema = build_subgraph_schema(spec)
        documents: dict[str, DocumentNode | list[GraphQLError]] = {}
        requests = recorded.setdefault(spec.name, [])

        async def graphql(request: web.Request) -> web.Response:
            body = orjson.loads(await request.read())
            query = body.get("query") or ""
            requests.append({"query": query, "variables": body.get("variables")})
            document = documents.get(query)
            if document is None:
                try:
                    parsed = parse(query)
                except GraphQLError as error:
                    document = [error]
                else:
                    document = validate(schema, parsed) or parsed
                documents[query] = document
            if isinstance(document, list):
                return web.Response(
                    body=orjson.dumps({"errors": [e.formatted for e in document]}),
                    status=400,
                    content_type="application/json",
                )
            result = execute(
                schema,
                document,
                variable_values=body.get("variables"),
                operation_name=body.get("operationName"),
                context_value={"request": request},
            )
            if isinstance(result, Awaitable):
                result = await result
            return web.Response(body=orjson.dumps(result.formatted), content_type="application/json")

        async def history(request: web.Request) -> web.Response:
            since = len(requests) if "count" in request.query else int(request.query.get("since", "0"))
            return web.Response(
                body=orjson.dumps({"count": len(requests), "requests": requests[since:]}),
                content_type="application/json",
            )

        app = web.Application()
        app.router.add_post("/graphql", graphql)
        app.router.add_get("/recorded", history)
        return app

    async def main() -> None:
        runners = []
        rows = [assignment_record(i) for i in range(len(ASSIGNMENT_IDS))]
        for spec in classroom_specs(monolith_rows=rows, new_rows=rows) if agree else classroom_specs():
            runner = web.AppRunner(make_app(spec), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", ports[spec.name]).start()
            runners.append(runner)
        ready.set()
        await asyncio.to_thread(stop.wait)
        for runner in runners:
            await runner.cleanup()

    threading.current_thread().name = "classroom-subgraphs"
    asyncio.run(main())


class ClassroomProcess:
    """The classroom subgraphs (fast ones) in a process of their own, so they do not share the test's GIL;
    `recorded(name)` fetches what a subgraph received."""

    def __init__(self, *, agree: bool = False) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.ports = {"monolith": free_port(), "assignments": free_port()}
        self._ready, self._stop = context.Event(), context.Event()
        self.process = context.Process(
            target=_serve_classroom, args=(self.ports, self._ready, self._stop, agree), daemon=True
        )
        self.process.start()
        if not self._ready.wait(60):
            self.close()
            raise TimeoutError("the classroom subgraphs did not start")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/graphql"

    def recorded(self, name: str, since: int = 0) -> list[dict[str, Any]]:
        """The requests subgraph `name` received (from the `since`-th on): query and variables of each."""
        import urllib.request

        url = f"http://127.0.0.1:{self.ports[name]}/recorded?since={since}"
        with urllib.request.urlopen(url, timeout=30) as response:
            found: list[dict[str, Any]] = orjson.loads(response.read())["requests"]
            return found

    def count(self, name: str) -> int:
        """How many requests subgraph `name` received."""
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports[name]}/recorded?count", timeout=30) as r:
            return int(orjson.loads(r.read())["count"])

    def close(self) -> None:
        self._stop.set()
        self.process.join(15)
        if self.process.is_alive():
            self.process.kill()


# ---------------------------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """A request the load sends, and what counts as its correct answer."""

    name: str
    query: str
    check: Callable[[int, Any], str | None]  # (status, body) -> a problem, or None when the answer is right
    variables: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None


def exact(expected: Any) -> Callable[[int, Any], str | None]:
    def check(status: int, body: Any) -> str | None:
        if status != 200:
            return f"HTTP {status}"
        if body != expected:
            return f"unexpected answer {str(body)[:300]}"
        return None

    return check


@dataclass
class LoadStats:
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    problems: list[tuple[float, str, str]] = field(default_factory=list)  # (second, operation, problem)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    @property
    def failures(self) -> int:
        return sum(self.failed.values())

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else 0.0

    def summary(self) -> str:
        return (
            f"{self.total} requests in {self.elapsed:.1f}s ({self.total / max(self.elapsed, 1e-9):.0f}/s), "
            f"{self.failures} failed, p50 {self.percentile(0.5) * 1000:.0f} ms, "
            f"p99 {self.percentile(0.99) * 1000:.0f} ms, max {max(self.latencies or [0]) * 1000:.0f} ms"
        )


async def run_load(
    url: str,
    operations: Callable[[random.Random], Operation],
    *,
    clients: int = 20,
    duration: float = 10.0,
    seed: int = 7,
    timeout: float = 15.0,
    during: Callable[[float], Coroutine[Any, Any, None]] | None = None,
) -> LoadStats:
    """`clients` concurrent clients (one keep-alive connection pool each) send operations for `duration` s;
    `during(started)` runs alongside (it changes the world while the load runs)."""
    stats = LoadStats()
    started = time.monotonic()
    stop_at = started + duration

    async def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            while time.monotonic() < stop_at:
                operation = operations(rng)
                body: dict[str, Any] = {"query": operation.query}
                if operation.variables is not None:
                    body["variables"] = dict(operation.variables)
                sent = time.monotonic()
                stats.sent[operation.name] += 1
                try:
                    async with session.post(
                        url, json=body, headers=dict(operation.headers or {})
                    ) as response:
                        status, text = response.status, await response.text()
                    try:
                        payload = await asyncio.to_thread(_json, text) if len(text) > 100_000 else _json(text)
                    except ValueError:
                        payload = text
                    problem = operation.check(status, payload)
                except (aiohttp.ClientError, TimeoutError) as error:
                    problem = f"{type(error).__name__}: {error}"
                stats.latencies.append(time.monotonic() - sent)
                if problem is not None:
                    stats.failed[operation.name] += 1
                    stats.problems.append((round(sent - started, 2), operation.name, problem))

    tasks = [asyncio.create_task(client(n)) for n in range(clients)]
    if during is not None:
        tasks.append(asyncio.create_task(during(started)))
    await asyncio.gather(*tasks)
    stats.elapsed = time.monotonic() - started
    return stats


def _json(text: str) -> Any:
    import json

    return json.loads(text)


async def sleep_until(started: float, second: float) -> None:
    """The load scenario's timeline (a write at second 5.0 of the load): the timing is the scenario."""
    await asyncio.sleep(max(0.0, started + second - time.monotonic()))


# ---------------------------------------------------------------------------------------------------------------
# The classroom fixture: a monolith and the new `assignments` service (tests/fixtures/supergraphs/classroom)
# ---------------------------------------------------------------------------------------------------------------

CLASSROOM = SUPERGRAPHS_DIR / "classroom"
ASSIGNMENT_IDS = ("a1", "a2", "a3", "a4")
MIGRATING_FIELDS = [
    "Query.assignments",
    "Query.assignment",
    "Assignment.title",
    "Assignment.createdDate",
    "Assignment.tags",
    "Assignment.score",
    "Assignment.renderedAt",
]


def assignment_record(i: int) -> dict[str, Any]:
    return {
        "id": ASSIGNMENT_IDS[i],
        "title": f"Homework {i + 1}",
        "createdDate": f"2024-03-0{i + 1}T10:00:00Z",
        "tags": ["math", "week-1", f"t{i}"],
        "score": round(1 / 3 + i, 7),
        "renderedAt": "2024-03-01",
    }


def classroom_specs(
    *,
    monolith_rows: list[dict[str, Any]] | None = None,
    new_rows: list[dict[str, Any]] | None = None,
    monolith_root: Mapping[str, Any] | None = None,
    new_root: Mapping[str, Any] | None = None,
) -> list[SubgraphSpec]:
    """The monolith and the assignments service; by default the new service has a timezone bug on a2."""
    old = (
        monolith_rows
        if monolith_rows is not None
        else [assignment_record(i) for i in range(len(ASSIGNMENT_IDS))]
    )
    if new_rows is None:
        new_rows = [dict(r) for r in old]
        new_rows[1]["createdDate"] = "2024-03-02T09:00:00Z"
    new = new_rows

    def rename(_obj: Any, _info: Any, id: str, title: str) -> dict[str, Any] | None:
        row = next((r for r in old if r["id"] == id), None)
        if row is not None:
            row["title"] = title
        return row

    users = [{"id": "u1", "name": "Ada", "assignments": old}]
    return [
        SubgraphSpec(
            "monolith",
            (CLASSROOM / "monolith.graphql").read_text(encoding="utf-8"),
            data={"Assignment": old, "User": users},
            root={
                "assignments": lambda *_a, **_k: old,
                "assignment": lambda _o, _i, id: next((r for r in old if r["id"] == id), None),
                "users": lambda *_a, **_k: users,
                "Mutation.renameAssignment": rename,
                **(monolith_root or {}),
            },
        ),
        SubgraphSpec(
            "assignments",
            (CLASSROOM / "assignments.graphql").read_text(encoding="utf-8"),
            data={"Assignment": new},
            root={
                "assignments": lambda *_a, **_k: new,
                "assignment": lambda _o, _i, id: next((r for r in new if r["id"] == id), None),
                "Mutation.renameAssignmentV2": lambda *_a, **_k: None,
                **(new_root or {}),
            },
        ),
    ]


def classroom_world(run_subgraphs: Any, tmp_path: Path, **settings: Any) -> dict[str, Any]:
    """The classroom subgraphs, a SQLite store with `assignments` in side_by_side, and a turnout.yaml with the
    `assignments` migration and `settings`: what the operations tests serve."""
    from support.fixtures import load_supergraph, with_subgraph_urls
    from turnout.migration.model import Stage
    from turnout.migration.store import Store

    subgraphs = run_subgraphs(classroom_specs())
    supergraph = with_subgraph_urls(load_supergraph("classroom"), {n: s.url for n, s in subgraphs.items()})
    store_url = f"sqlite:///{tmp_path / 'turnout.db'}"
    with Store.open(store_url) as store:
        store.create_schema()
        store.set_stage("assignments", Stage.SIDE_BY_SIDE, percent=100, by="test", reason="test", evidence={})
    config = write_config(
        tmp_path / "turnout.yaml",
        {
            "store": {"url": store_url, "flush_interval": 0.2},
            "migrations": [classroom_migration()],
            "cohort": {"header": "x-user"},
            **settings,
        },
    )
    return {"subgraphs": subgraphs, "supergraph": supergraph, "store_url": store_url, "config": config}


def classroom_migration(**changes: Any) -> dict[str, Any]:
    """The `assignments` migration as turnout.yaml declares it: side_by_side compares every request."""
    return {
        "name": "assignments",
        "from": "monolith",
        "to": "assignments",
        "fields": list(MIGRATING_FIELDS),
        "sample_rate": 1.0,
        "noise_rate": 0.0,
        **changes,
    }
