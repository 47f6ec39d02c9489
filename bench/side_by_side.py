"""The primary path's latency with both classroom migrations in side_by_side at 0%, 10% and 100% sampling.

    .venv/bin/python -m bench.side_by_side [--duration 20] [--rounds 3] [--concurrency 16] [--rate R]
                                           [--host 127.0.0.1]

Starts the classroom's three subgraphs (monolith, assignments, progress) and three gateways, one per sampling
rate (`turnout serve`, each its own process, one SQLite store shared by them), on loopback; sets both migrations
to side_by_side; then, round after round, drives each gateway in turn (the order rotates every round) with a
closed loop of classroom queries from this process (or, with --rate, an open loop at that many requests per
second), and prints requests/s, latency percentiles, errors, the
comparisons and drops the gateway counted, and the CPU each process spent per request. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import math
import re
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/side_by_side.py` as well as `python -m bench.side_by_side`
    sys.path.insert(0, str(ROOT))

from examples.classroom import GRAPHQL_PATH, MIGRATIONS_PATH, SUBGRAPHS, supergraph_sdl  # noqa: E402
from examples.classroom.traffic import TrafficResponse, run_traffic  # noqa: E402

from bench._procs import (  # noqa: E402
    ChildProcess,
    ChildProcesses,
    cpu_seconds,
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

__all__ = ["RATES", "Row", "main"]

RATES: tuple[float, ...] = (0.0, 0.1, 1.0)
MIGRATIONS: tuple[str, ...] = ("assignments", "progress")
SETTLE_QUIET = 1.0  # seconds without a new comparison or drop: the shadow queue has drained
SETTLE_LIMIT = 60.0  # give up waiting for the drain after this long


# -- the gateway's /metrics ------------------------------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Counters:
    """The counters of one gateway's /metrics this benchmark reads (sums over the migrations)."""

    comparisons: dict[str, float] = field(default_factory=dict)  # outcome -> count
    by_migration: dict[str, float] = field(default_factory=dict)  # migration -> comparisons
    dropped: float = 0.0
    requests: dict[str, float] = field(default_factory=dict)  # outcome (ok, errors, rejected) -> count

    @property
    def compared(self) -> float:
        return sum(self.comparisons.values())


def parse_metrics(text: str) -> Counters:
    comparisons: dict[str, float] = {}
    by_migration: dict[str, float] = {}
    requests: dict[str, float] = {}
    dropped = 0.0
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, value = match["name"], float(match["value"])
        labels = dict(_LABEL.findall(match["labels"] or ""))
        if name == "turnout_migration_comparisons_total":
            outcome, migration = labels.get("outcome", "?"), labels.get("migration", "?")
            comparisons[outcome] = comparisons.get(outcome, 0.0) + value
            by_migration[migration] = by_migration.get(migration, 0.0) + value
        elif name == "turnout_migration_shadow_dropped_total":
            dropped += value
        elif name == "turnout_requests_total":
            outcome = labels.get("outcome", "?")
            requests[outcome] = requests.get(outcome, 0.0) + value
    return Counters(comparisons, by_migration, dropped, requests)


async def scrape(session: aiohttp.ClientSession, base_url: str) -> Counters:
    async with session.get(f"{base_url}/metrics", timeout=aiohttp.ClientTimeout(total=10)) as response:
        response.raise_for_status()
        return parse_metrics(await response.text())


# -- what one row measures --------------------------------------------------------------------------------------


@dataclass
class Row(LatencyWindow):
    """One gateway (one sampling rate) in one round: a warm-up, then the measured window.

    Latencies, requests/s, errors, the load generator's CPU and the machine's load are of the window; the
    comparisons, drops and the gateway's and subgraphs' CPU are of every request the row sent (warm-up included),
    counted until the shadow work they queued has drained, so that work is charged to them."""

    rate: float
    round: int
    seconds: float  # the window's length
    latencies: list[float]  # seconds, of every request that ended in the window
    errors: int  # of those
    sent: int  # requests the row sent, warm-up included
    comparisons: float
    outcomes: dict[str, float]
    dropped: float
    gateway_cpu: float  # CPU seconds of the row, until the shadow work drained
    subgraph_cpu: float  # the three subgraphs together, same span
    loadgen_cpu: float  # this process, during the window
    host_busy: float  # share of all cores busy during the window (0..1)
    others_busy: float  # share of all cores other processes (not this benchmark's) used
    settle: float  # seconds the shadow work ran on after the load stopped
    gateway_rss: float  # the gateway's peak resident set so far, MiB
    error_samples: list[str] = field(default_factory=list)

    def per_sent_ms(self, cpu: float) -> float:
        return cpu / self.sent * 1000.0 if self.sent else math.nan


@dataclass
class Bench:
    """The running system: subgraphs, one gateway per sampling rate, and the options."""

    args: argparse.Namespace
    subgraphs: list[ChildProcess]
    gateways: dict[float, tuple[str, ChildProcess]]  # rate -> (base URL, process)
    store_urls: dict[float, str]  # rate -> its gateway's store


@dataclass
class CpuMark:
    """CPU seconds used so far: by the measured gateway, the subgraphs, this process, everything we started
    (the idle gateways too) and the whole machine."""

    gateway: float
    subgraphs: float
    loadgen: float
    ours: float
    host: tuple[float, float]  # host_cpu(): the machine's busy and total CPU seconds


def cpu_mark(bench: Bench, gateway: ChildProcess) -> CpuMark:
    host = host_cpu()
    subgraphs = sum(cpu_seconds(s.pid) for s in bench.subgraphs)
    gateways = sum(child.cpu_seconds() for _base, child in bench.gateways.values())
    loadgen = time.process_time()
    return CpuMark(gateway.cpu_seconds(), subgraphs, loadgen, subgraphs + gateways + loadgen, host)


async def settle(session: aiohttp.ClientSession, base_url: str, load_end: float) -> tuple[Counters, float]:
    """Poll /metrics until comparisons and drops stop moving (the shadow queue has drained); the counters then,
    and how long after `load_end` they last moved."""
    counters = await scrape(session, base_url)
    last = (counters.compared, counters.dropped)
    moved = load_end
    deadline = load_end + SETTLE_LIMIT
    while True:
        now = time.perf_counter()
        if now - moved >= SETTLE_QUIET or now >= deadline:
            return counters, moved - load_end
        await asyncio.sleep(0.25)
        counters = await scrape(session, base_url)
        key = (counters.compared, counters.dropped)
        if key != last:
            last, moved = key, time.perf_counter()


async def measure(bench: Bench, rate: float, round_no: int, session: aiohttp.ClientSession) -> Row:
    """Warm-up, then a window of `--duration` seconds of closed-loop load on the gateway sampling at `rate`,
    then a wait until the shadow work it queued has drained."""
    args = bench.args
    base_url, gateway = bench.gateways[rate]
    for child in (*bench.subgraphs, gateway):
        child.check_alive()
    before = await scrape(session, base_url)
    start = cpu_mark(bench, gateway)
    t0 = time.perf_counter() + args.warmup
    t1 = t0 + args.duration
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []

    def on_response(response: TrafficResponse) -> None:
        nonlocal errors
        end = time.perf_counter()
        if not t0 <= end <= t1:
            return
        latencies.append(response.seconds)
        if not response.ok:
            errors += 1
            if len(samples) < 5:
                detail = response.error or str((response.body or {}).get("errors"))[:300]
                samples.append(f"{response.operation} as {response.user}: HTTP {response.status} {detail}")

    # the same seed for every row of a round: each gateway gets the same requests in the same order
    traffic = functools.partial(
        run_traffic,
        f"{base_url}{GRAPHQL_PATH}",
        users=args.users,
        concurrency=args.concurrency,
        duration=args.warmup + args.duration,
        mutation_share=0.0,
        on_response=on_response,
        seed=args.seed + round_no,
        timeout=args.timeout,
        rate=args.rate,
    )
    result, first, last = await marks_around(traffic, t0, t1, functools.partial(cpu_mark, bench, gateway))
    after, settled = await settle(session, base_url, time.perf_counter())
    drained = cpu_mark(bench, gateway)
    for child in (*bench.subgraphs, gateway):
        child.check_alive()
    host_busy, others_busy = machine_shares(first.host, last.host, last.ours - first.ours)
    return Row(
        rate=rate,
        round=round_no,
        seconds=args.duration,
        latencies=latencies,
        errors=errors,
        sent=result.sent,
        comparisons=after.compared - before.compared,
        outcomes={k: v - before.comparisons.get(k, 0.0) for k, v in after.comparisons.items()},
        dropped=after.dropped - before.dropped,
        gateway_cpu=drained.gateway - start.gateway,
        subgraph_cpu=drained.subgraphs - start.subgraphs,
        loadgen_cpu=last.loadgen - first.loadgen,
        host_busy=host_busy,
        others_busy=others_busy,
        settle=settled,
        gateway_rss=peak_rss_mb(gateway.pid),
        error_samples=samples,
    )


async def run_rounds(bench: Bench, rows: list[Row]) -> dict[float, Counters]:
    """Every round measures each rate once, in an order that rotates; rows are appended as they finish.
    Returns each gateway's counters at the end."""
    args = bench.args
    async with aiohttp.ClientSession() as session:
        for round_no in range(args.rounds):
            shift = round_no % len(RATES)
            for rate in RATES[shift:] + RATES[:shift]:
                row = await measure(bench, rate, round_no, session)
                rows.append(row)
                print(
                    f"  round {round_no + 1}/{args.rounds} {rate:>4.0%}: {row.rps:6.1f} req/s, "
                    f"p99 {row.quantile_ms(0.99):6.1f} ms, {row.errors} errors, "
                    f"{row.comparisons:.0f} comparisons, {row.dropped:.0f} dropped",
                    flush=True,
                )
        return {rate: await scrape(session, base) for rate, (base, _child) in bench.gateways.items()}


# -- the table ------------------------------------------------------------------------------------------------------

_COLUMNS = (
    "sampling",
    "req/s",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99/0%",
    "errors",
    "comparisons",
    "cmp/req",
    "dropped",
    "gw cpu ms/req",
    "subgr cpu ms/req",
    "loadgen ms/req",
    "host busy",
    "others",
    "settle s",
    "gw peak MB",
)


def _figures(rows: Sequence[Row]) -> dict[str, float]:
    """The median over `rows` (one per round) of each figure."""
    return {
        "rps": median([r.rps for r in rows]),
        "p50": median([r.quantile_ms(0.50) for r in rows]),
        "p90": median([r.quantile_ms(0.90) for r in rows]),
        "p99": median([r.quantile_ms(0.99) for r in rows]),
        "errors": median([float(r.errors) for r in rows]),
        "comparisons": median([r.comparisons for r in rows]),
        "cmp_per_req": median([r.comparisons / r.sent if r.sent else math.nan for r in rows]),
        "dropped": median([r.dropped for r in rows]),
        "gw_cpu": median([r.per_sent_ms(r.gateway_cpu) for r in rows]),
        "sub_cpu": median([r.per_sent_ms(r.subgraph_cpu) for r in rows]),
        "gen_cpu": median([r.per_request_ms(r.loadgen_cpu) for r in rows]),
        "busy": median([r.host_busy for r in rows]),
        "others": median([r.others_busy for r in rows]),
        "settle": median([r.settle for r in rows]),
        "rss": median([r.gateway_rss for r in rows]),
    }


def _cells(label: str, f: dict[str, float], base_p99: float) -> list[str]:
    ratio = f["p99"] / base_p99 if base_p99 and not math.isnan(base_p99) else math.nan
    return [
        label,
        f"{f['rps']:.1f}",
        f"{f['p50']:.1f}",
        f"{f['p90']:.1f}",
        f"{f['p99']:.1f}",
        f"{ratio:.3f}",
        f"{f['errors']:g}",
        f"{f['comparisons']:g}",
        f"{f['cmp_per_req']:.3f}",
        f"{f['dropped']:g}",
        f"{f['gw_cpu']:.2f}",
        f"{f['sub_cpu']:.2f}",
        f"{f['gen_cpu']:.2f}",
        f"{f['busy']:.0%}",
        f"{f['others']:.0%}",
        f"{f['settle']:.1f}",
        f"{f['rss']:.0f}",
    ]


def _print_table(title: str, lines: list[list[str]]) -> None:
    print_table(title, _COLUMNS, lines, name_left=False)


def print_results(rows: Sequence[Row], rounds: int) -> None:
    if not rows:
        return
    by_round: dict[int, dict[float, Row]] = {}
    for row in rows:
        by_round.setdefault(row.round, {})[row.rate] = row
    lines = []
    for round_no, rates in sorted(by_round.items()):
        base = rates.get(0.0)
        base_p99 = base.quantile_ms(0.99) if base else math.nan
        for rate in RATES:
            if rate in rates:
                lines.append(_cells(f"r{round_no + 1} {rate:.0%}", _figures([rates[rate]]), base_p99))
    _print_table("each round (p99/0%: to the same round's 0% row)", lines)

    summary = {
        rate: _figures([r for r in rows if r.rate == rate])
        for rate in RATES
        if any(r.rate == rate for r in rows)
    }
    base_p99 = summary[0.0]["p99"] if 0.0 in summary else math.nan
    _print_table(
        f"median of {len({r.round for r in rows})} round(s) of {rounds} "
        "(p99/0%: median p99 over the 0% row's median p99)",
        [_cells(f"{rate:.0%}", f, base_p99) for rate, f in summary.items()],
    )
    ratios = [
        rates[0.1].quantile_ms(0.99) / rates[0.0].quantile_ms(0.99)
        for rates in by_round.values()
        if 0.0 in rates and 0.1 in rates
    ]
    if ratios:
        goal = "met" if statistics.median(ratios) <= 1.05 else "NOT met"
        print(
            f"\n10% vs 0%, p99 ratio per round: {', '.join(f'{r:.3f}' for r in ratios)}; "
            f"median {statistics.median(ratios):.3f} (goal <= 1.05: {goal})"
        )
    if 0.0 in summary:

        def total(f: dict[str, float]) -> float:
            return f["gw_cpu"] + f["sub_cpu"] + f["gen_cpu"]

        shown = [
            f"{rate:.0%} {total(f):.1f} ms ({total(f) / total(summary[0.0]) - 1:+.0%})"
            for rate, f in summary.items()
        ]
        print(
            f"CPU per request of the gateway, subgraphs and load generator: {', '.join(shown)} "
            "(a closed loop saturates the cores: its latency grows with this; an open loop's only once the "
            "rate nears the capacity)"
        )
    others = median(r.others_busy for r in rows)
    if others > 0.10:
        print(
            f"note: other processes used {others:.0%} of the machine during the windows (median): the latency "
            "figures carry their noise; CPU per request is the steadier figure"
        )
    for row in rows:
        for sample in row.error_samples:
            print(f"  ! r{row.round + 1} {row.rate:.0%}: {sample}")


# -- setting it up --------------------------------------------------------------------------------------------------


def write_configs(
    tmp: Path, urls: dict[str, str], store_urls: dict[float, str], log_level: str
) -> dict[float, Path]:
    """The supergraph with the real URLs and one turnout.yaml per sampling rate, each with a store of its own:
    the sampling share of side_by_side is the stage's percent, which lives in the store."""
    supergraph = tmp / "supergraph.graphql"
    supergraph.write_text(supergraph_sdl(urls), encoding="utf-8")
    classroom = yaml.safe_load(MIGRATIONS_PATH.read_text(encoding="utf-8"))
    found = sorted(m["name"] for m in classroom["migrations"])
    if found != sorted(MIGRATIONS):
        raise RuntimeError(
            f"{MIGRATIONS_PATH} has migrations {found}; this benchmark expects {sorted(MIGRATIONS)}"
        )
    configs = {}
    for rate in RATES:
        config: dict[str, Any] = {
            "supergraph": str(supergraph),
            "log_level": log_level,
            "store": {"url": store_urls[rate]},
            "migrations": [{**m, "sample_rate": rate} for m in classroom["migrations"]],
            "cohort": classroom.get("cohort", {}),
        }
        path = tmp / f"turnout-{rate * 100:.0f}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        configs[rate] = path
    return configs


def set_side_by_side(turnout: str, config: Path, rate: float) -> None:
    """Both migrations to side_by_side in the store, comparing `rate` of the requests, with the operator
    command."""
    for name in MIGRATIONS:
        done = subprocess.run(
            [
                turnout,
                "migrate",
                name,
                "--to",
                "side_by_side",
                "--percent",
                f"{rate * 100:g}",
                "--force",
                "--reason",
                "bench",
                "--by",
                "bench",
                "--config",
                str(config),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"turnout migrate {name} failed ({done.returncode}): {done.stderr.strip()}")
        print(f"  {done.stdout.strip()}")


def check_stages(base_url: str) -> None:
    """The gateway's dashboard API (on its admin listener) shows both migrations in side_by_side."""
    with urllib.request.urlopen(f"{base_url}/migrations/api", timeout=30) as response:
        document = json.loads(response.read())
    stages = {m["name"]: m["stage"] for m in document["migrations"]}
    if any(stages.get(name) != "side_by_side" for name in MIGRATIONS):
        raise RuntimeError(f"the gateway at {base_url} reports stages {stages}, not side_by_side")


def start(args: argparse.Namespace, tmp: Path, procs: ChildProcesses) -> Bench:
    host, python = args.host, sys.executable
    turnout = require_turnout()
    urls: dict[str, str] = {}
    subgraphs: list[ChildProcess] = []
    for name in SUBGRAPHS:
        port = free_port(host)
        urls[name] = f"http://{url_host(host)}:{port}{GRAPHQL_PATH}"
        subgraphs.append(
            procs.start(
                name,
                [
                    python,
                    "-m",
                    "examples.classroom.serve",
                    name,
                    "--host",
                    host,
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
            )
        )
    probe = b'{"query": "{ __typename }"}'
    for name, child in zip(SUBGRAPHS, subgraphs, strict=True):
        procs.wait_ready(child, functools.partial(http_ready, urls[name], body=probe))
    store_urls = {rate: f"sqlite:///{tmp / f'bench-{rate * 100:.0f}.db'}" for rate in RATES}
    configs = write_configs(tmp, urls, store_urls, args.gateway_log_level)
    print(
        f"subgraphs up ({', '.join(f'{n} pid {c.pid}' for n, c in zip(SUBGRAPHS, subgraphs, strict=True))}); "
        "setting both migrations to side_by_side:"
    )
    for rate, config in configs.items():
        set_side_by_side(turnout, config, rate)
    gateways: dict[float, tuple[str, ChildProcess]] = {}
    admins: dict[float, str] = {}
    for rate, config in configs.items():
        port, admin = free_port(host), free_port(host)
        base = f"http://{url_host(host)}:{port}"
        admins[rate] = f"http://{url_host(host)}:{admin}"
        child = procs.start(
            f"gateway-{rate * 100:.0f}",
            [
                turnout,
                "serve",
                "--config",
                str(config),
                "--host",
                host,
                "--port",
                str(port),
                "--admin-host",
                host,
                "--admin-port",
                str(admin),
            ],
            cwd=tmp,
        )
        gateways[rate] = (base, child)
    for rate, (base, child) in gateways.items():
        procs.wait_ready(child, functools.partial(http_ready, f"{base}/health"), timeout=60)
        check_stages(admins[rate])
    print(
        "gateways up: "
        + ", ".join(f"{rate:.0%} {base} pid {child.pid}" for rate, (base, child) in gateways.items())
    )
    return Bench(args, subgraphs, gateways, store_urls)


# -- after the run: the store against the metrics, and the logs ----------------------------------------------------


def cross_check(bench: Bench, final: dict[float, Counters]) -> None:
    """What the gateways counted in /metrics against what their recorders wrote to the store (after their
    graceful stop, which flushes it)."""
    from turnout.migration.store import Store

    print("\nevidence: /metrics of each gateway (whole run) against its store")
    for rate, url in bench.store_urls.items():
        store = Store.open(url)
        try:
            for name in MIGRATIONS:
                evidence = store.evidence(name)
                counted = final[rate].by_migration.get(name, 0.0) if rate in final else 0.0
                stored = (
                    f"{evidence.comparisons} comparisons (match {evidence.matches}, mismatch "
                    f"{evidence.mismatches}, noise {evidence.noise}, error {evidence.errors}), "
                    f"{evidence.shadow_dropped} dropped"
                )
                flag = "" if evidence.comparisons == counted else "   <-- differs"
                print(f"  {rate:>4.0%} {name:<12} metrics {counted:.0f} comparisons; store {stored}{flag}")
        finally:
            store.close()
    for rate, counters in final.items():
        outcomes = ", ".join(f"{k} {v:.0f}" for k, v in sorted(counters.comparisons.items())) or "none"
        requests = ", ".join(f"{k} {v:.0f}" for k, v in sorted(counters.requests.items()))
        print(
            f"  gateway {rate:>4.0%}: requests {requests}; comparisons {outcomes}; dropped {counters.dropped:.0f}"
        )


_NOTABLE = re.compile(r"Traceback|ERROR|CRITICAL|WARNING|Exception|Killed|Error:")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.side_by_side", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured per row (default 20)")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds of load before each window (default 5)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of 0%%/10%%/100%%, interleaved (default 3)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="requests in flight (closed loop, default 16; with --rate: at most this many)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open loop: requests per second, sent on time whatever the answers (latency from when each "
        "was due); below the host's capacity, this shows what comparisons do to a user's latency rather "
        "than to a saturated closed loop's throughput",
    )
    parser.add_argument("--users", type=int, default=50, help="simulated students (x-user-id), default 50")
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--seed", type=int, default=1, help="seed of the request mix (round N uses seed+N)")
    parser.add_argument("--timeout", type=float, default=10.0, help="client timeout per request, seconds")
    parser.add_argument(
        "--gateway-log-level", default="warning", choices=["error", "warning", "info", "debug"]
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (logs, configs, store)"
    )
    args = parser.parse_args(argv)
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be positive")
    if args.duration <= 0 or args.warmup < 0 or args.rounds < 1 or args.concurrency < 1 or args.users < 1:
        parser.error(
            "--duration, --rounds, --concurrency and --users must be positive, --warmup not negative"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[Row] = []
    print(
        f"side_by_side benchmark: {args.rounds} round(s) x {len(RATES)} rows, {args.warmup:g}s warm-up + "
        f"{args.duration:g}s each, "
        + (
            f"open loop at {args.rate:g} req/s (at most {args.concurrency} in flight)"
            if args.rate
            else f"closed loop of {args.concurrency}"
        )
        + f", {args.users} users, host {args.host}"
    )

    def run(tmp: Path, procs: ChildProcesses) -> None:
        bench = start(args, tmp, procs)
        final = asyncio.run(run_rounds(bench, rows))
        print_results(rows, args.rounds)
        for _base, child in bench.gateways.values():
            procs.stop(child)  # graceful: the recorder's last flush
        cross_check(bench, final)

    return run_benchmark(
        "turnout-bench-",
        run,
        lambda: print_results(rows, args.rounds),
        keep=args.keep,
        kept="logs, configs and the store",
        errors=(aiohttp.ClientError,),
        after_stop=functools.partial(report_logs, notable=_NOTABLE),
    )


if __name__ == "__main__":
    sys.exit(main())
