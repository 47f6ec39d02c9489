"""The gateway's own CPU per request on the throughput benchmark's query, without HTTP: in one process.

    .venv/bin/python -m bench.pipeline [--requests 2000] [--repeat 5] [--in-flight N] [--gate G]

The request path from `Gateway.execute` to the response's bytes (document cache, plan cache, the executor, the
projection, `orjson.dumps`), with a subgraph client that answers from the throughput benchmark's subgraphs in
the same process (`bench.throughput.Subgraph`: each distinct body executed once, then answered with its bytes),
parsed with orjson as the HTTP transport does. What it leaves out is HTTP: the server's and the subgraph calls'.
Prints the CPU per request of each repeat (the lowest is the figure: the machine is shared) and whether the
executor runs compiled (`make compiled`) or as pure Python. See bench/README.md.

`--in-flight N` keeps N requests in execution at once, each subgraph answer arriving a loop turn later, as
under load: their data interleave in the CPU's caches. `--gate G` lets only G of them execute at once through
an `ExecutionGate` (admission/gate.py), the others waiting their turn, as `server.execution_limit` does.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.throughput import (  # noqa: E402
    QUERY_PATH,
    SUBGRAPHS,
    Subgraph,
    expected_response,
    generate_data,
    subgraph_schema,
    supergraph_sdl,
)
from turnout.admission.gate import ExecutionGate  # noqa: E402
from turnout.executor import projection  # noqa: E402
from turnout.gateway import Gateway, GraphQLRequest  # noqa: E402
from turnout.supergraph.join_spec import read_supergraph  # noqa: E402


class InProcess:
    """A SubgraphClient answering from in-process subgraphs, by URL."""

    def __init__(self, subgraphs: Mapping[str, Subgraph]) -> None:
        self.subgraphs = subgraphs
        self.answers: dict[tuple[str, bytes], bytes] = {}
        self.turn = False

    async def send(
        self, subgraph: str, url: str, request: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        body = orjson.dumps(request)
        raw = self.answers.get((subgraph, body))
        if raw is None:
            status, raw = self.subgraphs[subgraph].execute(body)
            assert status == 200, raw
            self.answers[(subgraph, body)] = raw
        if self.turn:
            await asyncio.sleep(0)  # answered after the other requests had their turn
        answer: dict[str, Any] = orjson.loads(raw)
        return answer

    async def close(self) -> None:
        return None


async def run(requests: int, repeat: int, in_flight: int = 1, gate: int | None = None) -> list[float]:
    data = generate_data()
    subgraphs = {name: Subgraph(name, subgraph_schema(name, data)) for name in SUBGRAPHS}
    sdl = supergraph_sdl({name: f"http://in-process/{name}" for name in SUBGRAPHS})
    client = InProcess(subgraphs)
    gateway = Gateway(read_supergraph(sdl), client, gate=ExecutionGate(gate) if gate else None)
    query = QUERY_PATH.read_text(encoding="utf-8")
    request = GraphQLRequest(query=query)
    if await gateway.execute(request) != expected_response(data, query):
        raise SystemExit("the gateway's answer is not the expected one")
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)  # as `turnout serve` (assembly.tune_gc)
    client.turn = in_flight > 1
    figures = []

    async def serve(count: int) -> None:
        for _ in range(count):
            orjson.dumps(await gateway.execute(request))

    for _ in range(repeat):
        started = time.process_time()
        if in_flight == 1:
            await serve(requests)
        else:
            await asyncio.gather(*(serve(requests // in_flight) for _ in range(in_flight)))
        figures.append((time.process_time() - started) / (requests // in_flight * in_flight) * 1000)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per repeat (2000)")
    parser.add_argument("--repeat", type=int, default=5, help="repeats (5); the lowest is the figure")
    parser.add_argument("--in-flight", type=int, default=1, help="requests executing at once (1)")
    parser.add_argument("--gate", type=int, default=None, help="an execution gate of this limit (none)")
    args = parser.parse_args(argv)
    figures = asyncio.run(run(args.requests, args.repeat, max(1, args.in_flight), args.gate))
    build = "compiled" if not (projection.__file__ or "").endswith(".py") else "pure Python"
    shape = f"{args.in_flight} in flight" + (f", gate {args.gate}" if args.gate else "")
    print(f"executor: {build}; {shape}; CPU ms per request: " + ", ".join(f"{f:.3f}" for f in figures))
    print(f"lowest: {min(figures):.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
