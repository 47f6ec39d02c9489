"""Throughput on the GraphQL gateways benchmark's scenario: turnout against Apollo Gateway, in the same run.

    .venv/bin/python -m bench.throughput [--duration 30] [--warmup 10] [--rounds 2] [--connections 50]
    .venv/bin/python -m bench.throughput subgraph NAME [--host 127.0.0.1] [--port 4201]   # one subgraph alone

The scenario of graphql-hive/graphql-gateways-benchmark: four subgraphs (accounts, inventory, products, reviews),
one heavy query (bench/throughput/query.graphql, an answer of about 87 KB), a closed loop of 50 connections.
This starts the four subgraphs (this module's `subgraph` command, one process each), then, round after round,
each gateway in turn on the committed supergraph (turnout serve; Apollo Gateway when bench/peers/install.sh has
installed it), warms it up, measures it with wrk (or a built-in aiohttp load generator in its own process),
checks every answer against the one computed from the data, and stops it. It prints requests/s, latency, errors,
the gateway's CPU per request and peak memory, and the subgraph calls per request. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import glob
import json
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/throughput.py` as well as `python -m bench.throughput`
    sys.path.insert(0, str(ROOT))

from bench._procs import (  # noqa: E402
    ChildProcess,
    ChildProcesses,
    cpu_seconds,
    find_turnout,
    free_port,
    host_cpu,
    http_ready,
    is_loopback_url,
    loopback_host,
    machine_shares,
    peak_rss_mb,
    run_benchmark,
    tree_total,
    url_host,
)
from bench._report import median, nearest_rank, print_table  # noqa: E402

if TYPE_CHECKING:
    from graphql import GraphQLSchema

__all__ = ["SUBGRAPHS", "Data", "Row", "expected_response", "generate_data", "main", "subgraph_schema"]

# bench/throughput/ holds this module's other files: no Python there (a folder without __init__.py does not
# shadow this module: `bench.throughput` imports the module)
FILES = Path(__file__).resolve().parent / "throughput"  # SDLs, query, supergraph, wrk script
PEERS = Path(__file__).resolve().parent / "peers"  # package.json, install.sh, apollo-gateway.mjs
SUBGRAPHS: tuple[str, ...] = ("accounts", "inventory", "products", "reviews")
DEFAULT_PORTS = {name: 4201 + i for i, name in enumerate(SUBGRAPHS)}  # the supergraph's placeholder URLs
GRAPHQL_PATH = "/graphql"
QUERY_PATH = FILES / "query.graphql"
SUPERGRAPH_PATH = FILES / "supergraph.graphql"
WRK_SCRIPT = FILES / "check.lua"
PEER = "apollo-gateway"
CACHE_LIMIT = 10_000  # distinct request bodies a subgraph keeps the answer of


# -- the data: generated from a seed, the benchmark's shape and sizes ----------------------------------------

# The benchmark's data (its Rust subgraphs): 6 users, 9 products, 11 reviews of products 1 to 4 with bodies of
# these lengths. The texts, names and numbers here are generated; the counts, lengths and links are the same.
USER_COUNT = 6
PRODUCT_COUNT = 9
REVIEW_BODY_LENGTHS = (445, 289, 275, 143, 445, 289, 275, 143, 143, 143, 844)
REVIEW_PRODUCTS = ("1", "1", "1", "1", "2", "2", "2", "2", "3", "4", "4")
TOP_PRODUCTS = 5  # topProducts(first: Int = 5)
AUTHOR_ID = "1"  # as in the benchmark: every review's author is user 1 ...
USER_REVIEWS = 2  # ... and every user's reviews are the first two reviews

_FIRST = (
    "Ada",
    "Boris",
    "Chiara",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hiroshi",
    "Ines",
    "Jonas",
    "Kofi",
    "Leila",
    "Mateo",
    "Nadia",
    "Oskar",
    "Priya",
)
_LAST = (
    "Abernathy",
    "Castellano",
    "Dimitriou",
    "Eriksson",
    "Fontaine",
    "Gallagher",
    "Haddad",
    "Ivanova",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okonkwo",
    "Petrovic",
    "Quintero",
    "Rasmussen",
)
_PRODUCTS = (
    "Table",
    "Couch",
    "Glass",
    "Chair",
    "TV",
    "Lamp",
    "Grill",
    "Fridge",
    "Sofa",
    "Desk",
    "Shelf",
    "Rug",
    "Clock",
    "Mirror",
    "Bench",
    "Stool",
)
_PRICES = (15, 99, 499, 899, 1299, 3999, 6999, 9999, 100000)
_WEIGHTS = (20, 100, 300, 800, 1000, 2000, 6000)
_WORDS = (
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "cupidatat",
    "non",
    "proident",
    "sunt",
    "culpa",
    "qui",
    "officia",
    "deserunt",
    "mollit",
    "anim",
    "id",
    "est",
    "laborum",
)

Record = dict[str, Any]


@dataclass(frozen=True)
class Data:
    """What the four subgraphs serve: users (accounts), products (products), stock (inventory), reviews."""

    users: list[Record]  # id, name, username, birthday
    products: list[Record]  # upc, name, price, weight
    stock: dict[str, bool]  # upc -> inStock
    reviews: list[Record]  # id, body, productUpc

    @functools.cached_property
    def users_by_id(self) -> dict[str, Record]:
        return {user["id"]: user for user in self.users}

    @functools.cached_property
    def products_by_upc(self) -> dict[str, Record]:
        return {product["upc"]: product for product in self.products}

    @functools.cached_property
    def reviews_by_id(self) -> dict[str, Record]:
        return {review["id"]: review for review in self.reviews}

    def reviews_of(self, upc: str) -> list[Record]:
        return [review for review in self.reviews if review["productUpc"] == upc]


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = -1
    while size < length:
        words.append(rng.choice(_WORDS))
        size += len(words[-1]) + 1
    text = " ".join(words)[:length].rstrip()
    return (text[0].upper() + text[1:] + "." * length)[:length]


def generate_data(seed: int = 1) -> Data:
    """The benchmark's data set, its texts and numbers drawn from ``seed`` (the same seed, the same data)."""
    rng = random.Random(seed)
    users = []
    for i, (first, last) in enumerate(
        zip(rng.sample(_FIRST, USER_COUNT), rng.sample(_LAST, USER_COUNT), strict=True)
    ):
        users.append(
            {
                "id": str(i + 1),
                "name": f"{first} {last}",
                "username": (first[0] + last).lower(),
                "birthday": rng.randrange(0, 2_000_000_000),
            }
        )
    products = [
        {"upc": str(i + 1), "name": name, "price": rng.choice(_PRICES), "weight": rng.choice(_WEIGHTS)}
        for i, name in enumerate(rng.sample(_PRODUCTS, PRODUCT_COUNT))
    ]
    stock = {str(product["upc"]): rng.random() < 0.5 for product in products}
    reviews = [
        {"id": str(i + 1), "body": _text(rng, length), "productUpc": upc}
        for i, (length, upc) in enumerate(zip(REVIEW_BODY_LENGTHS, REVIEW_PRODUCTS, strict=True))
    ]
    return Data(users, products, stock, reviews)


def shipping_estimate(price: int | None, weight: int | None) -> int | None:
    """inventory's Product.shippingEstimate: free over 1000, else half the weight."""
    if price is None:
        return None
    if price > 1000:
        return 0
    return None if weight is None else weight // 2


# -- the expected answer: the query run on one plain schema over the same data (no federation involved) ------

_MONOLITH_SDL = """
type Query { me: User  user(id: ID!): User  users: [User]  topProducts(first: Int = 5): [Product] }
type User { id: ID!  name: String  username: String  birthday: Int  reviews: [Review] }
type Product { upc: String!  name: String  price: Int  weight: Int  inStock: Boolean  shippingEstimate: Int
               reviews: [Review] }
type Review { id: ID!  body: String  product: Product  author: User }
"""


def expected_response(data: Data, query: str) -> dict[str, Any]:
    """The answer every gateway must give to ``query``: the query executed by graphql-core on the graph the
    supergraph describes, as one schema whose resolvers read ``data`` directly."""
    from graphql import GraphQLObjectType, build_schema, graphql_sync

    schema = build_schema(_MONOLITH_SDL)
    resolvers: dict[tuple[str, str], Callable[..., Any]] = {
        ("Query", "me"): lambda _o, _i: data.users_by_id[AUTHOR_ID],
        ("Query", "user"): lambda _o, _i, id: data.users_by_id.get(id),
        ("Query", "users"): lambda _o, _i: data.users,
        ("Query", "topProducts"): lambda _o, _i, first=TOP_PRODUCTS: data.products[:first],
        ("User", "reviews"): lambda _u, _i: data.reviews[:USER_REVIEWS],
        ("Product", "inStock"): lambda p, _i: data.stock.get(p["upc"]),
        ("Product", "shippingEstimate"): lambda p, _i: shipping_estimate(p["price"], p["weight"]),
        ("Product", "reviews"): lambda p, _i: data.reviews_of(p["upc"]),
        ("Review", "product"): lambda r, _i: data.products_by_upc[r["productUpc"]],
        ("Review", "author"): lambda _r, _i: data.users_by_id[AUTHOR_ID],
    }
    for (type_name, field_name), resolve in resolvers.items():
        object_type = schema.type_map[type_name]
        assert isinstance(object_type, GraphQLObjectType)
        object_type.fields[field_name].resolve = resolve
    result = graphql_sync(schema, query)
    if result.errors:
        raise RuntimeError(f"the expected answer has errors: {result.errors}")
    return {"data": result.data}


# -- the subgraphs -------------------------------------------------------------------------------------------


def subgraph_schema(name: str, data: Data) -> GraphQLSchema:
    """The federated schema of subgraph ``name`` (its SDL in bench/throughput/NAME.graphql), with ariadne's
    `_service` and `_entities`; the resolvers read ``data``, as the benchmark's subgraphs do."""
    from ariadne import QueryType
    from ariadne.contrib.federation import FederatedObjectType, make_federated_schema

    sdl = (FILES / f"{name}.graphql").read_text(encoding="utf-8")
    query = QueryType()
    user, product = FederatedObjectType("User"), FederatedObjectType("Product")
    review = FederatedObjectType("Review")
    bindables: list[Any] = [query]
    if name == "accounts":
        query.set_field("me", lambda *_: data.users_by_id[AUTHOR_ID])
        query.set_field("user", lambda _o, _i, id: data.users_by_id.get(id))
        query.set_field("users", lambda *_: data.users)
        user.reference_resolver(lambda _o, _i, ref: data.users_by_id.get(ref["id"]))
        bindables.append(user)
    elif name == "products":
        query.set_field("topProducts", lambda _o, _i, first=TOP_PRODUCTS: data.products[:first])
        product.reference_resolver(lambda _o, _i, ref: data.products_by_upc.get(ref["upc"]))
        bindables.append(product)
    elif name == "inventory":
        # the representation carries the price and weight the gateway fetched from products (@requires)
        product.reference_resolver(
            lambda _o, _i, ref: (
                {
                    "upc": ref["upc"],
                    "inStock": data.stock.get(ref["upc"]),
                    "price": ref.get("price"),
                    "weight": ref.get("weight"),
                }
                if ref["upc"] in data.stock
                else None
            )
        )
        product.set_field("shippingEstimate", lambda p, _i: shipping_estimate(p["price"], p["weight"]))
        bindables.append(product)
    elif name == "reviews":
        author = {"id": AUTHOR_ID, "username": data.users_by_id[AUTHOR_ID]["username"]}  # @provides username
        review.reference_resolver(lambda _o, _i, ref: data.reviews_by_id.get(ref["id"]))
        review.set_field("product", lambda r, _i: {"upc": r["productUpc"]})
        review.set_field("author", lambda *_: author)
        user.reference_resolver(lambda _o, _i, ref: {"id": ref["id"]})
        user.set_field("reviews", lambda *_: data.reviews[:USER_REVIEWS])
        product.reference_resolver(lambda _o, _i, ref: {"upc": ref["upc"]})
        product.set_field("reviews", lambda p, _i: data.reviews_of(p["upc"]))
        bindables += [review, user, product]
    else:
        raise ValueError(f"unknown subgraph {name!r}: one of {', '.join(SUBGRAPHS)}")
    return make_federated_schema(sdl, *bindables)


class Subgraph:
    """One subgraph over HTTP: POST /graphql, GET /health, GET /stats (requests served, answers cached).

    The data never changes, so an answer depends on the request body alone: the first request with a given
    body is executed (graphql-core), its JSON answer kept, and the same body is then answered with those bytes
    (up to CACHE_LIMIT distinct bodies; with --no-cache every request is executed). A gateway sends the same
    few bodies for every run of the benchmark's query, so the subgraphs cost little and are not what is
    measured."""

    def __init__(self, name: str, schema: GraphQLSchema, *, cache: bool = True) -> None:
        self.name, self.schema, self.cache_enabled = name, schema, cache
        self.cache: dict[bytes, bytes] = {}
        self.requests = 0
        self.executed = 0

    def execute(self, body: bytes) -> tuple[int, bytes]:
        from graphql import graphql_sync

        self.executed += 1
        try:
            request = orjson.loads(body)
            query, variables = request["query"], request.get("variables")
            operation = request.get("operationName")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return 400, orjson.dumps({"errors": [{"message": "expected a JSON object with a query"}]})
        result = graphql_sync(self.schema, query, variable_values=variables, operation_name=operation)
        return 200, orjson.dumps(result.formatted)

    async def graphql(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        answer = self.cache.get(body)
        if answer is None:
            status, answer = self.execute(body)
            if status != 200:
                return web.Response(status=status, body=answer, content_type="application/json")
            if self.cache_enabled and len(self.cache) < CACHE_LIMIT:
                self.cache[body] = answer
        return web.Response(body=answer, content_type="application/json")

    async def health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def stats(self, _request: web.Request) -> web.Response:
        return web.json_response(
            {
                "name": self.name,
                "pid": os.getpid(),
                "requests": self.requests,
                "executed": self.executed,
                "cached_bodies": len(self.cache),
            }
        )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_post(GRAPHQL_PATH, self.graphql)
        app.router.add_get("/health", self.health)
        app.router.add_get("/stats", self.stats)
        return app


def subgraph_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput subgraph",
        description="Serve one subgraph of the throughput benchmark (aiohttp).",
    )
    parser.add_argument("name", choices=SUBGRAPHS)
    parser.add_argument("--host", type=loopback_host, default="127.0.0.1", help="loopback address to bind")
    parser.add_argument(
        "--port",
        type=int,
        help="default: 4201 accounts, 4202 inventory, 4203 products, "
        "4204 reviews (the committed supergraph's URLs)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    parser.add_argument("--no-cache", action="store_true", help="execute every request (no answer cache)")
    args = parser.parse_args(argv)
    port = args.port if args.port is not None else DEFAULT_PORTS[args.name]
    subgraph = Subgraph(
        args.name, subgraph_schema(args.name, generate_data(args.seed)), cache=not args.no_cache
    )
    print(
        f"subgraph {args.name} (pid {os.getpid()}) at http://{url_host(args.host)}:{port}{GRAPHQL_PATH}",
        flush=True,
    )
    web.run_app(subgraph.app(), host=args.host, port=port, access_log=None, print=None, shutdown_timeout=5)
    return 0


# -- load generators: wrk, or a closed loop of aiohttp requests in a process of its own ----------------------


@dataclass(frozen=True)
class Load:
    """What one load generator run measured (its window only)."""

    requests: int  # answers received in the window
    sent: int  # requests the gateway got: those answered, and those still in flight at the end
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non200: int
    mismatch: int  # HTTP 200 with a body other than the reference
    socket_errors: int  # connect, read, write errors and timeouts
    cpu: float  # CPU seconds of the load generator

    @property
    def errors(self) -> int:
        return self.non200 + self.mismatch + self.socket_errors


async def _closed_loop(
    url: str,
    body: bytes,
    reference: bytes,
    connections: int,
    duration: float,
    timeout: float,
    sample_path: Path | None,
) -> dict[str, Any]:
    latencies: list[float] = []
    counts = {"non200": 0, "mismatch": 0, "socket": 0, "sent": 0}
    headers = {"content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=connections, limit_per_host=connections)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    # no Accept-Encoding (as wrk): the answer comes uncompressed and is compared as is
    async with aiohttp.ClientSession(
        connector=connector, timeout=client_timeout, skip_auto_headers=("Accept-Encoding", "User-Agent")
    ) as session:
        start = time.perf_counter()
        end = start + duration

        def sample(status: int, text: bytes) -> None:
            if sample_path is not None and not sample_path.exists():
                sample_path.write_bytes(f"HTTP {status}\n".encode() + text)

        async def connection() -> None:
            while time.perf_counter() < end:
                sent = time.perf_counter()
                counts["sent"] += 1
                try:
                    async with session.post(url, data=body, headers=headers) as response:
                        answer = await response.read()
                        status = response.status
                except (TimeoutError, aiohttp.ClientError, OSError):
                    counts["socket"] += 1
                    continue
                done = time.perf_counter()
                if done > end:  # sent in the window, answered after it: counted as sent only
                    break
                latencies.append(done - sent)
                if status != 200:
                    counts["non200"] += 1
                    sample(status, answer)
                elif answer != reference:
                    counts["mismatch"] += 1
                    sample(status, answer)

        await asyncio.gather(*(connection() for _ in range(connections)))
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": duration,
        "p50_ms": nearest_rank(latencies, 0.50) * 1000,
        "p90_ms": nearest_rank(latencies, 0.90) * 1000,
        "p99_ms": nearest_rank(latencies, 0.99) * 1000,
        **counts,
    }


def load_main(argv: Sequence[str]) -> int:
    """The built-in load generator (its own process, so its CPU is not the runner's): a closed loop of
    --connections requests for --duration seconds; writes its figures as JSON to --out."""
    parser = argparse.ArgumentParser(prog="python -m bench.throughput load", description=load_main.__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", type=Path, required=True, help="file with the request body (JSON)")
    parser.add_argument("--reference", type=Path, required=True, help="file with the expected answer's bytes")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--sample", type=Path, help="where to write the first wrong answer")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if not is_loopback_url(args.url):
        parser.error("--url must be a loopback address")
    result = asyncio.run(
        _closed_loop(
            args.url,
            args.body.read_bytes(),
            args.reference.read_bytes(),
            args.connections,
            args.duration,
            args.timeout,
            args.sample,
        )
    )
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


_RESULT = re.compile(r"^RESULT (.*)$", re.MULTILINE)


class LoadGenerator:
    """Runs load against a URL, as a child process (wrk, or `python -m bench.throughput load`)."""

    def __init__(self, procs: ChildProcesses, tmp: Path, args: argparse.Namespace, wrk: str | None) -> None:
        self.procs, self.tmp, self.args, self.wrk = procs, tmp, args, wrk
        self.body = tmp / "request.json"

    @property
    def label(self) -> str:
        if self.wrk:
            return f"wrk ({self.wrk}, {self.args.wrk_threads} threads)"
        return "built-in aiohttp closed loop (one process)"

    def run(self, tag: str, url: str, reference: Path, duration: float) -> Load:
        connections, timeout = self.args.connections, self.args.timeout
        sample = self.tmp / f"{tag}.wrong-answer"
        out = self.tmp / f"{tag}.json"
        if self.wrk:
            argv = [
                self.wrk,
                f"-t{min(self.args.wrk_threads, connections)}",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                f"--timeout={max(1, math.ceil(timeout))}s",
                "-s",
                str(WRK_SCRIPT),
                url,
                "--",
                str(self.body),
                str(reference),
                str(sample),
            ]
        else:
            argv = [
                sys.executable,
                "-m",
                "bench.throughput",
                "load",
                "--url",
                url,
                "--body",
                str(self.body),
                "--reference",
                str(reference),
                "--connections",
                str(connections),
                "--duration",
                str(duration),
                "--timeout",
                str(timeout),
                "--sample",
                str(sample),
                "--out",
                str(out),
            ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        child = self.procs.start(tag, argv, cwd=ROOT)
        try:
            child.popen.wait(duration + timeout + 60)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(
                f"the load generator was still running {error.timeout:g}s after it started:\n"
                f"{child.log_tail()}"
            ) from None
        finally:
            self.procs.stop(child)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if child.popen.returncode != 0:
            raise RuntimeError(
                f"the load generator exited with {child.popen.returncode}:\n{child.log_tail()}"
            )
        if self.wrk:
            found = _RESULT.findall(child.log_path.read_text(errors="replace"))
            if not found:
                raise RuntimeError(f"wrk printed no RESULT line:\n{child.log_tail()}")
            kv = {k: float(v) for k, v in (item.split("=", 1) for item in found[-1].split())}
            # when wrk stops, every connection has one request in flight: the gateway got those too
            answered = int(kv["requests"])
            return Load(
                answered,
                answered + connections,
                kv["seconds"],
                kv["p50_us"] / 1000,
                kv["p90_us"] / 1000,
                kv["p99_us"] / 1000,
                int(kv["non200"]),
                int(kv["mismatch"]),
                int(kv["connect"] + kv["read"] + kv["write"] + kv["timeout"]),
                cpu,
            )
        got = json.loads(out.read_text(encoding="utf-8"))
        return Load(
            got["requests"],
            got["sent"],
            got["seconds"],
            got["p50_ms"],
            got["p90_ms"],
            got["p99_ms"],
            got["non200"],
            got["mismatch"],
            got["socket"],
            cpu,
        )

    def wrong_answer(self, tag: str) -> str | None:
        """The first wrong answer of run ``tag`` (its start), if any was kept."""
        kept = sorted(glob.glob(f"{glob.escape(str(self.tmp / tag))}.wrong-answer*"))
        return Path(kept[0]).read_bytes()[:300].decode(errors="replace") if kept else None


# -- the gateways --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gateway:
    """A row: how to start the gateway on a host, port and supergraph file; or why it cannot run here."""

    name: str
    command: Callable[[str, int, Path], list[str]]
    env: dict[str, str] = field(default_factory=dict)
    skipped: str | None = None
    version: str = ""


def turnout_gateway(args: argparse.Namespace) -> Gateway:
    turnout = find_turnout()
    if turnout is None:
        return Gateway(
            "turnout",
            lambda *_: [],
            skipped="the turnout command was not found next to this Python "
            "nor on PATH (make .venv/.installed)",
        )
    workers = ["--workers", str(args.workers)] if args.workers else []

    def command(host: str, port: int, supergraph: Path) -> list[str]:
        return [
            turnout,
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--supergraph",
            str(supergraph),
            "--log-level",
            "warning",
            *workers,
        ]

    from importlib.metadata import version

    return Gateway(
        "turnout",
        command,
        version=f"turnout {version('turnout')}" + (f", --workers {args.workers}" if args.workers else ""),
    )


def find_node(args: argparse.Namespace) -> str | None:
    """--node, else the runtime bench/peers/install.sh pinned (bench/peers/runtime), else node on PATH."""
    if args.node:
        return str(args.node)
    pinned = sorted(glob.glob(str(PEERS / "runtime" / "node_modules" / "node-*" / "bin" / "node")))
    return pinned[0] if pinned else shutil.which("node")


def apollo_gateway(args: argparse.Namespace) -> Gateway:
    node = find_node(args)
    script = PEERS / "apollo-gateway.mjs"
    installed = PEERS / "node_modules" / "@apollo" / "gateway" / "package.json"

    def skip(reason: str) -> Gateway:
        return Gateway(PEER, lambda *_: [], skipped=reason)

    if node is None:
        return skip(
            "node was not found (bench/peers/install.sh, or Node.js 20 or later on PATH, or --node PATH)"
        )
    try:
        node_version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as error:
        return skip(f"{node} --version failed: {error}")
    if int(node_version.lstrip("v").split(".")[0]) < 20:
        return skip(f"node {node_version} is too old (@apollo/server 5 needs 20 or later)")
    if not installed.exists():
        return skip(f"not installed: run bench/peers/install.sh (npm ci into {PEERS / 'node_modules'})")
    gateway_version = json.loads(installed.read_text(encoding="utf-8"))["version"]

    def command(host: str, port: int, supergraph: Path) -> list[str]:
        return [node, str(script), "--host", host, "--port", str(port), "--supergraph", str(supergraph)]

    return Gateway(
        PEER,
        command,
        env={"NODE_ENV": "production"},
        version=f"@apollo/gateway {gateway_version} on node {node_version}",
    )


# -- one row: a gateway started fresh, warmed up, measured, stopped ------------------------------------------


@dataclass
class Row:
    """One gateway in one round. Requests/s, latency and errors are of the window; the CPU and subgraph calls
    are of the requests the gateway got in the window, counted until it had answered the last of them."""

    gateway: str
    round: int
    load: Load
    answer_ok: bool  # the gateway's first answer equals the expected one
    gateway_cpu: float  # CPU seconds (the process and its descendants)
    subgraph_cpu: float  # the four subgraphs
    subgraph_calls: int  # requests the subgraphs served
    peak_rss: float  # MiB, the sum of the gateway's processes' peaks
    others: float  # share of the machine used in the window by processes not started here
    wrong_answer: str | None = None

    @property
    def rps(self) -> float:
        return self.load.requests / self.load.seconds if self.load.seconds else math.nan

    def per_request(self, value: float) -> float:
        """``value`` per request the gateway got in the window (answered in it or in flight at its end)."""
        return value / self.load.sent if self.load.sent else math.nan


@dataclass
class Bench:
    args: argparse.Namespace
    procs: ChildProcesses
    tmp: Path
    subgraphs: dict[str, tuple[str, ChildProcess]]  # name -> (base URL, process)
    supergraph: Path
    expected: dict[str, Any]
    expected_bytes: bytes
    loadgen: LoadGenerator


@dataclass(frozen=True)
class Mark:
    """CPU seconds used so far by the gateway, the subgraphs and this process; the subgraphs' request count;
    the machine's busy and total CPU seconds."""

    gateway: float
    subgraphs: float
    own: float
    calls: int
    host: tuple[float, float]  # host_cpu(): the machine's busy and total CPU seconds


def _post(url: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _subgraph_requests(bench: Bench) -> int:
    total = 0
    for base, _child in bench.subgraphs.values():
        with urllib.request.urlopen(f"{base}/stats", timeout=10) as response:
            total += int(json.loads(response.read())["requests"])
    return total


def mark(bench: Bench, gateway_pid: int) -> Mark:
    calls = _subgraph_requests(bench)
    subgraphs = sum(cpu_seconds(child.pid) for _base, child in bench.subgraphs.values())
    host = host_cpu()
    return Mark(tree_total(gateway_pid, cpu_seconds), subgraphs, time.process_time(), calls, host)


def wait_idle(bench: Bench, child: ChildProcess, *, quiet: float = 0.5, limit: float = 60.0) -> Mark:
    """Wait until the gateway has answered what a load generator left in flight when it stopped (no subgraph
    call and under 20 ms of its CPU for ``quiet`` seconds); the mark then."""
    deadline = time.monotonic() + limit
    last = mark(bench, child.pid)
    still = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        child.check_alive()
        now = mark(bench, child.pid)
        if now.calls != last.calls or now.gateway - last.gateway > 0.02:
            last, still = now, time.monotonic()
        elif time.monotonic() - still >= quiet:
            return now
    print(f"  ! {child.name} was still busy {limit:g}s after the load stopped", flush=True)
    return mark(bench, child.pid)


def measure(bench: Bench, gateway: Gateway, round_no: int) -> Row:
    """Start the gateway, check its answer, warm it up, measure a window of load, stop it."""
    args = bench.args
    host = args.host
    port = args.port or free_port(host)
    url = f"http://{url_host(host)}:{port}{GRAPHQL_PATH}"
    tag = f"{gateway.name}.r{round_no + 1}"
    for _base, sub in bench.subgraphs.values():
        sub.check_alive()
    child = bench.procs.start(
        tag, gateway.command(host, port, bench.supergraph), cwd=ROOT, env={**os.environ, **gateway.env}
    )
    try:
        body = bench.loadgen.body.read_bytes()
        bench.procs.wait_ready(
            child, functools.partial(http_ready, url, body=body, timeout=10), timeout=args.ready_timeout
        )
        status, first = _post(url, body, args.timeout)
        try:
            answer_ok = status == 200 and orjson.loads(first) == bench.expected
        except orjson.JSONDecodeError:
            answer_ok = False
        # the reference every answer is compared with, byte for byte: this gateway's own serialisation of the
        # expected answer when its first answer is right, else the expected answer (then every answer counts
        # as an error)
        reference = bench.tmp / f"{tag}.reference.json"
        reference.write_bytes(first if answer_ok else bench.expected_bytes)
        if not answer_ok:
            print(
                f"  ! {gateway.name}: its first answer (HTTP {status}, {len(first)} bytes) differs from the "
                f"expected one: {first[:200].decode(errors='replace')}",
                flush=True,
            )
        if args.warmup > 0:
            bench.loadgen.run(f"{tag}.warmup", url, reference, args.warmup)
        # the window starts on an idle gateway: the warm-up's last requests are not charged to it ...
        start = wait_idle(bench, child)
        load = bench.loadgen.run(f"{tag}.load", url, reference, args.duration)
        stop = mark(bench, child.pid)
        # ... and the window's last requests (in flight when the load generator stopped) are
        drained = wait_idle(bench, child)
        peak = tree_total(child.pid, peak_rss_mb)  # MiB, the sum of each process's peak
    finally:
        bench.procs.stop(child)
    ours = (
        (stop.gateway - start.gateway)
        + (stop.subgraphs - start.subgraphs)
        + (stop.own - start.own)
        + load.cpu
    )
    _, others = machine_shares(start.host, stop.host, ours)
    return Row(
        gateway.name,
        round_no,
        load,
        answer_ok,
        drained.gateway - start.gateway,
        drained.subgraphs - start.subgraphs,
        drained.calls - start.calls,
        peak,
        others,
        bench.loadgen.wrong_answer(f"{tag}.load"),
    )


def run_rounds(bench: Bench, gateways: Sequence[Gateway], rows: list[Row]) -> None:
    """Every round measures each gateway once; the order flips from one round to the next."""
    for round_no in range(bench.args.rounds):
        order = list(gateways) if round_no % 2 == 0 else list(reversed(gateways))
        for gateway in order:
            row = measure(bench, gateway, round_no)
            rows.append(row)
            print(
                f"  round {round_no + 1}/{bench.args.rounds} {gateway.name}: {row.rps:.1f} req/s, "
                f"p99 {row.load.p99_ms:.1f} ms, {row.load.errors} errors, "
                f"gateway {row.per_request(row.gateway_cpu) * 1000:.2f} CPU-ms/req",
                flush=True,
            )


# -- the table -----------------------------------------------------------------------------------------------

_COLUMNS = (
    "gateway",
    "RPS",
    "p50 ms",
    "p99 ms",
    "errors",
    "gw CPU ms/req",
    "peak RSS MB",
    "subgraph calls/req",
    "subgraph CPU ms/req",
    "loadgen CPU ms/req",
    "others",
    "answer",
    f"vs {PEER}",
)


def _cells(label: str, rows: Sequence[Row], peer_rps: float) -> list[str]:
    rps = median([r.rps for r in rows])
    ratio = f"{rps / peer_rps:.2f}x" if peer_rps and not math.isnan(peer_rps) else "-"
    return [
        label,
        f"{rps:.1f}",
        f"{median([r.load.p50_ms for r in rows]):.1f}",
        f"{median([r.load.p99_ms for r in rows]):.1f}",
        str(sum(r.load.errors for r in rows)),
        f"{median([r.per_request(r.gateway_cpu) * 1000 for r in rows]):.2f}",
        f"{max(r.peak_rss for r in rows):.0f}",
        f"{median([r.per_request(r.subgraph_calls) for r in rows]):.2f}",
        f"{median([r.per_request(r.subgraph_cpu) * 1000 for r in rows]):.2f}",
        f"{median([r.per_request(r.load.cpu) * 1000 for r in rows]):.2f}",
        f"{median([r.others for r in rows]):.0%}",
        "ok" if all(r.answer_ok for r in rows) else "DIFFERS",
        ratio,
    ]


def print_results(rows: Sequence[Row], rounds: int) -> None:
    if not rows:
        return
    names = list(dict.fromkeys(r.gateway for r in rows))
    lines = []
    for round_no in sorted({r.round for r in rows}):
        in_round = {r.gateway: r for r in rows if r.round == round_no}
        peer = in_round.get(PEER)
        for name in names:
            if name in in_round:
                lines.append(
                    _cells(f"r{round_no + 1} {name}", [in_round[name]], peer.rps if peer else math.nan)
                )
    print_table(f"each round (vs {PEER}: RPS over the same round's {PEER} RPS)", _COLUMNS, lines)
    by_name = {name: [r for r in rows if r.gateway == name] for name in names}
    peer_rps = median([r.rps for r in by_name[PEER]]) if PEER in by_name else math.nan
    print_table(
        f"median of {len({r.round for r in rows})} round(s) of {rounds} (errors: the sum; peak RSS: the "
        f"largest; vs {PEER}: median RPS over its median RPS)",
        _COLUMNS,
        [_cells(name, group, peer_rps) for name, group in by_name.items()],
    )
    others = median([r.others for r in rows])
    if others > 0.10:
        print(
            f"note: other processes used {others:.0%} of the machine during the windows (median): RPS and "
            "latency carry their noise; CPU-ms per request is the steadier figure"
        )
    for row in rows:
        if row.load.errors:
            print(
                f"  ! r{row.round + 1} {row.gateway}: {row.load.errors} errors: {row.load.non200} HTTP statuses "
                f"other than 200, {row.load.mismatch} wrong answers, {row.load.socket_errors} connection errors "
                "or timeouts (--timeout)"
            )
        if row.wrong_answer:
            print(f"  ! r{row.round + 1} {row.gateway}: first wrong answer: {row.wrong_answer!r}")


# -- setting it up -------------------------------------------------------------------------------------------


_JOIN_GRAPH = re.compile(r'(@join__graph\(name: "(?P<name>[^"]+)", url: ")(?P<url>[^"]*)(")')


def supergraph_sdl(urls: dict[str, str]) -> str:
    """The committed supergraph with the subgraphs' real URLs in place of the placeholders."""
    sdl = SUPERGRAPH_PATH.read_text(encoding="utf-8")
    found = [m["name"] for m in _JOIN_GRAPH.finditer(sdl)]
    if sorted(found) != sorted(SUBGRAPHS):
        raise RuntimeError(f"{SUPERGRAPH_PATH} joins {found}, expected {list(SUBGRAPHS)}")
    return _JOIN_GRAPH.sub(lambda m: m.group(1) + urls[m["name"]] + m.group(4), sdl)


def find_wrk(args: argparse.Namespace) -> str | None:
    if args.loadgen == "python":
        return None
    wrk = args.wrk or shutil.which("wrk")
    if wrk is None and args.loadgen == "wrk":
        raise RuntimeError(
            "--loadgen wrk: wrk was not found on PATH (apt-get install wrk, or give --wrk PATH)"
        )
    return wrk


def start(args: argparse.Namespace, tmp: Path, procs: ChildProcesses) -> Bench:
    host, python = args.host, sys.executable
    data = generate_data(args.seed)
    query = QUERY_PATH.read_text(encoding="utf-8")
    expected = expected_response(data, query)
    expected_bytes = orjson.dumps(expected)
    (tmp / "request.json").write_bytes(orjson.dumps({"query": query}))
    (tmp / "expected.json").write_bytes(expected_bytes)
    subgraphs: dict[str, tuple[str, ChildProcess]] = {}
    for name in SUBGRAPHS:
        port = free_port(host)
        argv = [
            python,
            "-m",
            "bench.throughput",
            "subgraph",
            name,
            "--host",
            host,
            "--port",
            str(port),
            "--seed",
            str(args.seed),
            *(["--no-cache"] if args.no_cache else []),
        ]
        subgraphs[name] = (f"http://{url_host(host)}:{port}", procs.start(f"subgraph-{name}", argv, cwd=ROOT))
    for base, child in subgraphs.values():
        procs.wait_ready(child, functools.partial(http_ready, f"{base}/health"))
    supergraph = tmp / "supergraph.graphql"
    urls = {name: f"{base}{GRAPHQL_PATH}" for name, (base, _child) in subgraphs.items()}
    supergraph.write_text(supergraph_sdl(urls), encoding="utf-8")
    loadgen = LoadGenerator(procs, tmp, args, find_wrk(args))
    print(f"subgraphs up: {', '.join(f'{n} {b} pid {c.pid}' for n, (b, c) in subgraphs.items())}")
    print(
        f"expected answer: {len(expected_bytes)} bytes (data seed {args.seed}); load generator: {loadgen.label}"
    )
    return Bench(args, procs, tmp, subgraphs, supergraph, expected, expected_bytes, loadgen)


def report_subgraphs(bench: Bench) -> None:
    parts = []
    for name, (base, _child) in bench.subgraphs.items():
        with (
            contextlib.suppress(OSError, ValueError),
            urllib.request.urlopen(f"{base}/stats", timeout=10) as r,
        ):
            stats = json.loads(r.read())
            parts.append(f"{name} {stats['requests']} requests, {stats['executed']} executed")
    if parts:
        print(f"subgraphs (whole run): {'; '.join(parts)}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description=(__doc__ or "").split("\n")[0],
        epilog="`python -m bench.throughput subgraph --help`: one subgraph on its own. See bench/README.md.",
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured per row (default 30)")
    parser.add_argument(
        "--warmup", type=float, default=10.0, help="seconds of load before each window (default 10)"
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of every row, the order flipping (default 2)"
    )
    parser.add_argument(
        "--connections", "-c", type=int, default=50, help="concurrent connections (default 50)"
    )
    parser.add_argument(
        "--host", type=loopback_host, default="127.0.0.1", help="loopback address everything binds"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="the gateways' port (default: a free one per row)"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="turnout serve --workers N (default: not given)"
    )
    parser.add_argument("--no-peer", action="store_true", help=f"no {PEER} row")
    parser.add_argument(
        "--node",
        help="the node binary for the peer (default: the one bench/peers/install.sh "
        "pinned, else node on PATH)",
    )
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="wrk, the built-in aiohttp loop, or auto: wrk when found (default)",
    )
    parser.add_argument("--wrk", help="the wrk binary (default: wrk on PATH)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--ready-timeout", type=float, default=60.0, help="seconds a gateway gets to answer")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    parser.add_argument(
        "--no-cache", action="store_true", help="subgraphs execute every request (no answer cache)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (logs, supergraph, answers)"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.rounds < 1 or args.connections < 1 or args.workers < 0:
        parser.error(
            "--duration, --rounds and --connections must be positive, --warmup and --workers not negative"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["subgraph"]:
        return subgraph_main(argv[1:])
    if argv[:1] == ["load"]:
        return load_main(argv[1:])
    args = parse_args(argv)
    gateways = [turnout_gateway(args)] + ([] if args.no_peer else [apollo_gateway(args)])
    for gateway in gateways:
        if gateway.skipped:
            print(f"{gateway.name}: skipped: {gateway.skipped}")
    gateways = [g for g in gateways if not g.skipped]
    if not gateways:
        print("nothing to measure", file=sys.stderr)
        return 1
    print(
        f"throughput benchmark: {args.rounds} round(s) x {len(gateways)} row(s), {args.warmup:g}s warm-up + "
        f"{args.duration:g}s each, {args.connections} connections, host {args.host}, {os.cpu_count()} cores"
    )
    print("rows: " + "; ".join(f"{g.name} ({g.version})" for g in gateways))
    rows: list[Row] = []

    def run(tmp: Path, procs: ChildProcesses) -> None:
        bench = start(args, tmp, procs)
        run_rounds(bench, gateways, rows)
        print_results(rows, args.rounds)
        report_subgraphs(bench)

    return run_benchmark(
        "turnout-throughput-",
        run,
        lambda: print_results(rows, args.rounds),
        keep=args.keep,
        kept="logs, the supergraph and the answers",
    )


if __name__ == "__main__":
    sys.exit(main())
