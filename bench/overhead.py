"""The gateway's overhead: a trivial query through `turnout serve` against the same query sent to the subgraph.

    .venv/bin/python -m bench.overhead [--duration 10] [--warmup 2] [--rounds 3] [--concurrency 1,16]

Starts the shop's products subgraph (`python -m examples.shop.serve products`, one uvicorn process) and one
gateway in front of it (`turnout serve`, one process), both on loopback; then, round after round and for each
concurrency, drives the subgraph directly and the gateway in turn (the order alternates every round) with a
closed loop of the same one-fetch query from this process (aiohttp, one asyncio loop, no threads), and prints
latency percentiles, requests/s, the latency the gateway adds and the CPU each process spends per request.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/overhead.py` as well as `python -m bench.overhead`
    sys.path.insert(0, str(ROOT))

from examples.shop import GRAPHQL_PATH, SUBGRAPHS, supergraph_sdl  # noqa: E402

from bench._procs import (  # noqa: E402
    ChildProcess,
    ChildProcesses,
    free_port,
    host_cpu,
    http_ready,
    loopback_host,
    machine_shares,
    marks_around,
    peak_rss_mb,
    report_logs,
    require_turnout,
    run_benchmark,
    url_host,
)
from bench._report import LatencyWindow, median, print_table  # noqa: E402

__all__ = ["QUERY", "Row", "main"]

SUBGRAPH = "products"
# one root field of one subgraph: the gateway plans one fetch and sends the subgraph (nearly) this same text
QUERY = "query Overhead { topProducts(first: 1) { upc name } }"
TARGETS: tuple[str, ...] = ("direct", "gateway")
HEADERS = {"content-type": "application/json", "accept": "application/json"}


# -- one measured row ---------------------------------------------------------------------------------------------


@dataclass
class Row(LatencyWindow):
    """One target (the subgraph directly, or the gateway) at one concurrency in one round: the measured window."""

    target: str
    concurrency: int
    round: int
    seconds: float
    latencies: list[float]  # seconds, of every request that ended in the window
    errors: int
    gateway_cpu: float  # CPU seconds in the window
    subgraph_cpu: float
    loadgen_cpu: float  # this process
    host_busy: float  # share of all cores busy in the window (0..1)
    others_busy: float  # share of all cores used by processes this benchmark did not start
    error_samples: list[str] = field(default_factory=list)


@dataclass
class Bench:
    args: argparse.Namespace
    urls: dict[str, str]  # target -> GraphQL URL
    subgraph: ChildProcess
    gateway: ChildProcess


@dataclass(frozen=True)
class CpuMark:
    gateway: float
    subgraph: float
    loadgen: float
    host: tuple[float, float]  # host_cpu(): the machine's busy and total CPU seconds


def cpu_mark(bench: Bench) -> CpuMark:
    host = host_cpu()
    return CpuMark(bench.gateway.cpu_seconds(), bench.subgraph.cpu_seconds(), time.process_time(), host)


def _answer_ok(status: int, payload: bytes) -> bool:
    return status == 200 and b'"data"' in payload and b'"errors"' not in payload


async def measure(
    bench: Bench, session: aiohttp.ClientSession, target: str, concurrency: int, round_no: int
) -> Row:
    """`--warmup` seconds of closed-loop load on `target`, then the window of `--duration` seconds."""
    args = bench.args
    url = bench.urls[target]
    body = json.dumps({"query": QUERY}).encode()
    for child in (bench.subgraph, bench.gateway):
        child.check_alive()
    t0 = time.perf_counter() + args.warmup
    t1 = t0 + args.duration
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    timeout = aiohttp.ClientTimeout(total=args.timeout)

    async def worker() -> None:
        nonlocal errors
        while time.perf_counter() < t1:
            start = time.perf_counter()
            status, detail = 0, ""
            try:
                async with session.post(url, data=body, headers=HEADERS, timeout=timeout) as response:
                    payload = await response.read()
                    status = response.status
                    detail = payload[:200].decode(errors="replace")
            except (TimeoutError, aiohttp.ClientError) as error:
                payload, detail = b"", f"{type(error).__name__}: {error}"
            end = time.perf_counter()
            if not t0 <= end <= t1:
                continue
            latencies.append(end - start)
            if not _answer_ok(status, payload):
                errors += 1
                if len(samples) < 5:
                    samples.append(f"HTTP {status} {detail}")
                await asyncio.sleep(0.01)  # a failing target must not turn the loop into a busy spin

    _, first, last = await marks_around(
        lambda: asyncio.gather(*(worker() for _ in range(concurrency))),
        t0,
        t1,
        functools.partial(cpu_mark, bench),
    )
    for child in (bench.subgraph, bench.gateway):
        child.check_alive()
    ours = (last.gateway - first.gateway) + (last.subgraph - first.subgraph) + (last.loadgen - first.loadgen)
    host_busy, others_busy = machine_shares(first.host, last.host, ours)
    return Row(
        target=target,
        concurrency=concurrency,
        round=round_no,
        seconds=args.duration,
        latencies=latencies,
        errors=errors,
        gateway_cpu=last.gateway - first.gateway,
        subgraph_cpu=last.subgraph - first.subgraph,
        loadgen_cpu=last.loadgen - first.loadgen,
        host_busy=host_busy,
        others_busy=others_busy,
        error_samples=samples,
    )


async def check_answers(bench: Bench, session: aiohttp.ClientSession) -> None:
    """Both targets answer the query with the same data (and no errors) before any load."""
    answers = {}
    for target, url in bench.urls.items():
        async with session.post(
            url, json={"query": QUERY}, headers=HEADERS, timeout=aiohttp.ClientTimeout(total=30)
        ) as response:
            payload = await response.read()
            if not _answer_ok(response.status, payload):
                raise RuntimeError(f"{target} ({url}) answered HTTP {response.status}: {payload[:300]!r}")
            answers[target] = json.loads(payload)["data"]
    if answers["direct"] != answers["gateway"]:
        raise RuntimeError(f"the gateway's data differs from the subgraph's: {answers}")
    print(f"both answer {json.dumps(answers['direct'])}")


async def run_rounds(bench: Bench, rows: list[Row]) -> None:
    args = bench.args
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        await check_answers(bench, session)
        for round_no in range(args.rounds):
            order = TARGETS if round_no % 2 == 0 else TARGETS[::-1]
            for concurrency in args.concurrency:
                for target in order:
                    row = await measure(bench, session, target, concurrency, round_no)
                    rows.append(row)
                    print(
                        f"  round {round_no + 1}/{args.rounds} c={concurrency:<3} {target:<7}: {row.rps:7.1f} req/s, "
                        f"p50 {row.quantile_ms(0.5):6.2f} ms, p99 {row.quantile_ms(0.99):6.2f} ms, "
                        f"{row.errors} errors, gateway cpu {row.per_request_ms(row.gateway_cpu):.3f} ms/req",
                        flush=True,
                    )


# -- the tables -----------------------------------------------------------------------------------------------------


def print_results(rows: Sequence[Row], gateway_rss: float) -> None:
    if not rows:
        return
    columns = (
        "row",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "errors",
        "gw cpu ms/req",
        "subgr cpu ms/req",
        "loadgen ms/req",
        "host busy",
        "others",
    )
    lines = [
        [
            f"r{r.round + 1} c={r.concurrency} {r.target}",
            f"{r.rps:.1f}",
            f"{r.quantile_ms(0.5):.2f}",
            f"{r.quantile_ms(0.9):.2f}",
            f"{r.quantile_ms(0.99):.2f}",
            str(r.errors),
            f"{r.per_request_ms(r.gateway_cpu):.3f}",
            f"{r.per_request_ms(r.subgraph_cpu):.3f}",
            f"{r.per_request_ms(r.loadgen_cpu):.3f}",
            f"{r.host_busy:.0%}",
            f"{r.others_busy:.0%}",
        ]
        for r in rows
    ]
    print_table("each row (gw cpu in a direct row: the idle gateway's own)", columns, lines)

    summary = (
        "concurrency",
        "direct req/s",
        "gateway req/s",
        "direct p50",
        "gateway p50",
        "added p50 ms",
        "direct p99",
        "gateway p99",
        "added p99 ms",
        "gw cpu ms/req",
        "subgr cpu ms/req (d/g)",
        "others",
    )
    lines = []
    for concurrency in sorted({r.concurrency for r in rows}):
        pairs: dict[int, dict[str, Row]] = {}
        for row in rows:
            if row.concurrency == concurrency:
                pairs.setdefault(row.round, {})[row.target] = row
        complete = [p for p in pairs.values() if len(p) == len(TARGETS)]
        if not complete:
            continue

        def med(target: str, figure: str, complete: list[dict[str, Row]] = complete) -> float:
            return median([_figure(p[target], figure) for p in complete], finite=True)

        added50 = median(
            [p["gateway"].quantile_ms(0.5) - p["direct"].quantile_ms(0.5) for p in complete], finite=True
        )
        added99 = median(
            [p["gateway"].quantile_ms(0.99) - p["direct"].quantile_ms(0.99) for p in complete], finite=True
        )
        others = median([r.others_busy for p in complete for r in p.values()], finite=True)
        lines.append(
            [
                str(concurrency),
                f"{med('direct', 'rps'):.1f}",
                f"{med('gateway', 'rps'):.1f}",
                f"{med('direct', 'p50'):.2f}",
                f"{med('gateway', 'p50'):.2f}",
                f"{added50:+.2f}",
                f"{med('direct', 'p99'):.2f}",
                f"{med('gateway', 'p99'):.2f}",
                f"{added99:+.2f}",
                f"{med('gateway', 'gw_cpu'):.3f}",
                f"{med('direct', 'sub_cpu'):.3f} / {med('gateway', 'sub_cpu'):.3f}",
                f"{others:.0%}",
            ]
        )
    rounds = len({r.round for r in rows})
    print_table(
        f"median of {rounds} round(s); added = gateway - direct, per round, then the median (ms)",
        summary,
        lines,
    )
    print(f"gateway peak RSS {gateway_rss:.0f} MB")
    for row in rows:
        for sample in row.error_samples:
            print(f"  ! r{row.round + 1} c={row.concurrency} {row.target}: {sample}")


def _figure(row: Row, figure: str) -> float:
    return {
        "rps": row.rps,
        "p50": row.quantile_ms(0.5),
        "p99": row.quantile_ms(0.99),
        "gw_cpu": row.per_request_ms(row.gateway_cpu),
        "sub_cpu": row.per_request_ms(row.subgraph_cpu),
    }[figure]


# -- setting it up --------------------------------------------------------------------------------------------------


def _concurrencies(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected numbers separated by commas, e.g. 1,16"
        ) from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: concurrencies must be positive")
    return values


def start(args: argparse.Namespace, tmp: Path, procs: ChildProcesses) -> Bench:
    host, python = args.host, sys.executable
    turnout = require_turnout()
    port = free_port(host)
    direct = f"http://{url_host(host)}:{port}{GRAPHQL_PATH}"
    subgraph = procs.start(
        SUBGRAPH,
        [
            python,
            "-m",
            "examples.shop.serve",
            SUBGRAPH,
            "--host",
            host,
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    procs.wait_ready(subgraph, functools.partial(http_ready, direct, body=b'{"query": "{ __typename }"}'))
    # the other shop subgraphs are not started: the query never reaches them; their URLs are free loopback ports
    urls = {name: f"http://{url_host(host)}:{free_port(host)}{GRAPHQL_PATH}" for name in SUBGRAPHS}
    urls[SUBGRAPH] = direct
    supergraph = tmp / "supergraph.graphql"
    supergraph.write_text(supergraph_sdl(urls), encoding="utf-8")
    gateway_port = free_port(host)
    base = f"http://{url_host(host)}:{gateway_port}"
    gateway = procs.start(
        "gateway",
        [
            turnout,
            "serve",
            "--supergraph",
            str(supergraph),
            "--host",
            host,
            "--port",
            str(gateway_port),
            "--log-level",
            args.gateway_log_level,
            "--reload-interval",
            "0",
        ],
        cwd=tmp,
    )
    procs.wait_ready(gateway, functools.partial(http_ready, f"{base}/health"), timeout=60)
    print(f"subgraph {SUBGRAPH} {direct} pid {subgraph.pid}; gateway {base}{GRAPHQL_PATH} pid {gateway.pid}")
    return Bench(args, {"direct": direct, "gateway": f"{base}{GRAPHQL_PATH}"}, subgraph, gateway)


_NOTABLE = re.compile(r"Traceback|ERROR|CRITICAL|WARNING")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.overhead", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per row (default 10)")
    parser.add_argument(
        "--warmup", type=float, default=2.0, help="seconds of load before each window (default 2)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of direct/gateway, alternating (default 3)"
    )
    parser.add_argument(
        "--concurrency",
        type=_concurrencies,
        default=[1, 16],
        help="requests in flight (closed loop), comma-separated (default 1,16)",
    )
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout per request, seconds")
    parser.add_argument(
        "--gateway-log-level", default="warning", choices=["error", "warning", "info", "debug"]
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, supergraph)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.rounds < 1:
        parser.error("--duration and --rounds must be positive, --warmup not negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[Row] = []
    rss = math.nan
    print(
        f"overhead benchmark: {args.rounds} round(s) x concurrency {','.join(map(str, args.concurrency))} x "
        f"direct/gateway, {args.warmup:g}s warm-up + {args.duration:g}s each, host {args.host}; query: {QUERY}"
    )

    def run(tmp: Path, procs: ChildProcesses) -> None:
        nonlocal rss
        bench = start(args, tmp, procs)
        asyncio.run(run_rounds(bench, rows))
        rss = peak_rss_mb(bench.gateway.pid)
        print_results(rows, rss)

    return run_benchmark(
        "turnout-overhead-",
        run,
        lambda: print_results(rows, rss),
        keep=args.keep,
        kept="logs and the supergraph",
        errors=(aiohttp.ClientError,),
        after_stop=functools.partial(report_logs, notable=_NOTABLE, name_width=9, count_distinct=False),
    )


if __name__ == "__main__":
    sys.exit(main())
