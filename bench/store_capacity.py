"""The store side of a fleet: N gateway instances' evidence writers and stage readers on one real PostgreSQL.

Each simulated instance does what a gateway's recorder and migration engine do against the store, through the
real `Store` code: every `flush_interval` it writes one batch (under its own batch id) holding what its
comparisons of the last interval add up to, keyed exactly as the recorder keys them (per migration, operation,
minute and outcome; per coordinate and operation; latency buckets; diff groups and their samples); every
`refresh_interval` it reads the stages, reports what it runs and reads the noise counts. The batches are built
directly (the recorder's aggregation is not what is measured), from `--rate` comparisons per second per
instance over `--operations` operations and `--coordinates` migrating fields, `--mismatch` of them differing.

All instances share one connection pool of `--pool` connections (as behind PgBouncer; the server's
max_connections is the limit the numbers in docs/deploy.md discuss). Prints rows/s, transactions/s, write and
read latency (p50, p99, max) and the CPU of the PostgreSQL server's processes and of this process.

    .venv/bin/python -m bench.store_capacity --dsn postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python -m bench.store_capacity --instances 100 --rate 100 --seconds 30 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from turnout.migration.evidence import DiffGroupRow, DiffSampleRow, EvidenceBatch, diff_signature, hour_bucket
from turnout.migration.model import InstanceStage, Stage
from turnout.migration.store import Store
from turnout.migration.store_engine import create_store_engine

OUTCOMES = ("match", "mismatch")


@dataclass
class Tally:
    writes: list[float] = field(default_factory=list)  # seconds per batch write
    reads: list[float] = field(default_factory=list)  # seconds per stage refresh (3 calls)
    rows: int = 0
    comparisons: int = 0
    generated: int = 0  # comparisons in batches the store took, warm-up included (what the store must hold)
    failures: int = 0


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _postgres_cpu_seconds() -> float:
    """utime + stime of every process named postgres on this machine (the server under test is local)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            if name.startswith("postgres"):
                fields = stat[stat.rindex(")") + 2 :].split()
                total += int(fields[11]) + int(fields[12])
    return total / ticks


def _batch(rng: random.Random, args: argparse.Namespace, at: datetime) -> EvidenceBatch:
    """What one instance's recorder holds after `flush_interval` seconds at `rate` comparisons/s."""
    batch = EvidenceBatch()
    count = max(1, round(args.rate * args.flush_interval))
    coordinates = [f"Type{c}.field{c}" for c in range(args.coordinates)]
    for _ in range(count):
        operation = f"Operation{min(int(rng.paretovariate(1.2)) - 1, args.operations - 1)}"  # a few are most
        outcome = "mismatch" if rng.random() < args.mismatch else "match"
        batch.add_comparison("assignments", operation, outcome, at)
        asked = coordinates[: rng.randint(1, len(coordinates))]
        for coordinate in asked:
            batch.add_coverage(
                "assignments",
                coordinate,
                operation,
                at,
                values=3,
                differing=1 if outcome == "mismatch" and coordinate == asked[-1] else 0,
            )
        for side in ("from", "to"):
            batch.add_latency("assignments", side, rng.lognormvariate(2.5, 0.6), at)
        if outcome == "mismatch":
            coordinate = asked[-1]
            signature = diff_signature("assignments", coordinate, operation, "value")
            batch.add_diff_group(
                DiffGroupRow(
                    signature=signature,
                    migration="assignments",
                    coordinate=coordinate,
                    operation=operation,
                    kind="value",
                    noise=False,
                    count=1,
                    first_seen=at,
                    last_seen=at,
                )
            )
            batch.add_diff_sample(
                DiffSampleRow(
                    signature=signature,
                    hour=hour_bucket(at),
                    at=at,
                    path="a.0.b",
                    primary='"2024-03-02T10:00:00Z"',
                    candidate='"2024-03-02T09:00:00Z"',
                    primary_hash="a" * 64,
                    candidate_hash="b" * 64,
                ),
                5,
            )
    return batch


async def _instance(
    number: int, store: Store, args: argparse.Namespace, tally: Tally, stop_at: float, started: float
) -> None:
    rng = random.Random(number)
    prefix = uuid.uuid4().hex[:12]
    sequence = 0
    name = f"sim-{number}"
    picked = {"assignments": InstanceStage(stage=Stage.SIDE_BY_SIDE, percent=10.0, since=datetime.now(UTC))}
    # instances do not flush in step: each starts at its own offset in the interval
    await asyncio.sleep(rng.random() * args.flush_interval)
    next_refresh = time.monotonic() + rng.random() * args.refresh_interval
    while time.monotonic() < stop_at:
        tick = time.monotonic()
        batch = _batch(rng, args, datetime.now(UTC))
        sequence += 1
        try:
            began = time.perf_counter()
            await asyncio.to_thread(store.write, batch, f"{prefix}-{sequence}")
            tally.generated += sum(batch.comparisons.values())
            if time.monotonic() - started > args.warmup:
                tally.writes.append(time.perf_counter() - began)
                tally.rows += batch.size()
                tally.comparisons += sum(batch.comparisons.values())
        except Exception as error:
            tally.failures += 1
            print(f"instance {number}: write failed: {type(error).__name__}: {error}", file=sys.stderr)
        if time.monotonic() >= next_refresh:
            next_refresh += args.refresh_interval
            began = time.perf_counter()
            try:
                await asyncio.to_thread(_refresh, store, name, picked)
                if time.monotonic() - started > args.warmup:
                    tally.reads.append(time.perf_counter() - began)
            except Exception as error:
                tally.failures += 1
                print(f"instance {number}: refresh failed: {type(error).__name__}: {error}", file=sys.stderr)
        await asyncio.sleep(max(0.0, args.flush_interval - (time.monotonic() - tick)))


def _refresh(store: Store, name: str, picked: dict[str, InstanceStage]) -> None:
    """A migration engine's refresh: the stages, its report, the noise counts of the last two hours."""
    store.get_states()
    store.report_instance(name, picked)
    store.noise_rates("assignments", datetime.now(UTC) - timedelta(hours=2))


@contextlib.contextmanager
def _schema(dsn: str, keep: bool) -> Iterator[str]:
    base = make_url(dsn)
    if base.drivername in ("postgres", "postgresql"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"turnout_capacity_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        if not keep:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    host = make_url(args.dsn).host or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(
            "bench.store_capacity measures a PostgreSQL on this machine (its CPU is read from /proc)"
        )
    with _schema(args.dsn, args.keep) as url:
        engine = create_store_engine(url)
        engine.dispose()
        engine = sa.create_engine(
            engine.url, pool_size=args.pool, max_overflow=0, pool_timeout=60, pool_pre_ping=True
        )
        stores = [Store(engine) for _ in range(args.instances)]
        stores[0].create_schema()
        stores[0].set_stage(
            "assignments", Stage.SIDE_BY_SIDE, percent=10, by="bench", reason="bench", evidence={}
        )
        tally = Tally()

        async def main() -> float:
            asyncio.get_running_loop().set_default_executor(
                ThreadPoolExecutor(max_workers=args.instances + 8)
            )
            started = time.monotonic()
            stop_at = started + args.warmup + args.seconds
            await asyncio.gather(
                *(_instance(i, stores[i], args, tally, stop_at, started) for i in range(args.instances))
            )
            return started

        cpu_pg_0 = _postgres_cpu_seconds()
        usage_0 = resource.getrusage(resource.RUSAGE_SELF)
        wall_0 = time.monotonic()
        asyncio.run(main())
        wall = time.monotonic() - wall_0
        pg_cpu = _postgres_cpu_seconds() - cpu_pg_0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with engine.connect() as conn:
            stored = conn.execute(
                sa.text("SELECT coalesce(sum(count), 0) FROM turnout_comparisons")
            ).scalar_one()
            size = conn.execute(
                sa.text(
                    "SELECT pg_total_relation_size('turnout_coverage') + "
                    "pg_total_relation_size('turnout_comparisons')"
                )
            ).scalar_one()
        engine.dispose()
    measured = args.seconds
    return {
        "instances": args.instances,
        "rate_per_instance": args.rate,
        "flush_interval": args.flush_interval,
        "refresh_interval": args.refresh_interval,
        "operations": args.operations,
        "coordinates": args.coordinates,
        "pool": args.pool,
        "seconds": measured,
        "transactions_per_s": round(len(tally.writes) / measured, 1),
        "rows_per_s": round(tally.rows / measured),
        "rows_per_batch": round(tally.rows / max(len(tally.writes), 1), 1),
        "comparisons_per_s": round(tally.comparisons / measured),
        "write_ms": {
            "p50": round(_quantile(tally.writes, 0.5) * 1000, 1),
            "p99": round(_quantile(tally.writes, 0.99) * 1000, 1),
            "max": round(max(tally.writes, default=0) * 1000, 1),
            "mean": round(statistics.fmean(tally.writes) * 1000, 1) if tally.writes else 0.0,
        },
        "refresh_ms": {
            "p50": round(_quantile(tally.reads, 0.5) * 1000, 1),
            "p99": round(_quantile(tally.reads, 0.99) * 1000, 1),
        },
        "postgres_cpu_cores": round(pg_cpu / wall, 2),
        "bench_cpu_cores": round(
            (usage.ru_utime + usage.ru_stime - usage_0.ru_utime - usage_0.ru_stime) / wall, 2
        ),
        "failures": tally.failures,
        "comparisons_written": tally.generated,
        "comparisons_in_store": int(stored),
        "evidence_table_bytes": int(size),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.store_capacity", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--dsn",
        default=os.environ.get(
            "TURNOUT_TEST_POSTGRES_DSN", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument(
        "--rate", type=float, default=100.0, help="comparisons/s per instance (R req/s x sampling)"
    )
    parser.add_argument("--flush-interval", type=float, default=1.0)
    parser.add_argument("--refresh-interval", type=float, default=2.0)
    parser.add_argument("--operations", type=int, default=20)
    parser.add_argument("--coordinates", type=int, default=5)
    parser.add_argument("--mismatch", type=float, default=0.05)
    parser.add_argument("--pool", type=int, default=30, help="connections shared by the simulated instances")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--keep", action="store_true", help="keep the schema (for a look at the tables)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
