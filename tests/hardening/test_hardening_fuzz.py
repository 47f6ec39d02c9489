"""3,000 malformed requests against `turnout serve` (a subprocess, configured with the defaults): random bytes,
wrong JSON shapes, 10,000 levels of nesting (JSON, selections, values, types, fragments), huge strings, bad
variables, unknown operations, invalid UTF-8, wrong methods and content types, broken HTTP. Not one answer is
a 5xx, the process stays up and keeps answering, and its memory grows less than 20 MB (RSS from /proc, after a
warm-up with the same mix)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hardening_support import raw_request, rss, turnout_serve

from test_gateway_support import RunSubgraphs, marketplace_specs

pytestmark = [
    pytest.mark.timeout(400),
    pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the gateway's RSS from /proc"),
]

MALFORMED = 3_000
WARM_UP = 6_000
MAX_GROWTH = 20 * 1024 * 1024
PREFLIGHT = {"apollo-require-preflight": "1"}
JSON_TYPE = {"content-type": "application/json"}


@dataclass
class Request:
    kind: str
    method: str = "POST"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_TYPE))
    params: dict[str, str] | None = None
    raw: bytes | None = None  # sent as is on a socket: not even HTTP


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def _query(query: str, **extra: Any) -> bytes:
    return _json({"query": query, **extra})


# -- the generators: each draws one malformed request ----------------------------------------------------------


def random_bytes(rng: random.Random) -> Request:
    return Request(
        "random bytes",
        body=rng.randbytes(rng.randint(0, 3000)),
        headers={
            "content-type": rng.choice(
                ["application/json", "application/graphql", "application/graphql-response+json"]
            )
        },
    )


def content_types(rng: random.Random) -> Request:
    content_type = rng.choice(
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "",
            "application/json; charset=latin-1",
            "json",
            "*/*",
            "application/json, text/plain",
            "APPLICATION/JSON",
        ]
    )
    headers = {"content-type": content_type} if content_type else {}
    if rng.random() < 0.5:
        headers.update(PREFLIGHT)
    return Request("content types", body=_query("{ users { id } }"), headers=headers)


SHAPES: list[Any] = [
    1,
    -1.5,
    "query",
    None,
    True,
    [],
    [1, 2],
    [{"query": "{ users { id } }"}] * 50,
    {},
    {"query": 1},
    {"query": ["{ users { id } }"]},
    {"query": {"a": 1}},
    {"query": ""},
    {"query": "   "},
    {"query": None},
    {"query": "{ users { id } }", "variables": "x"},
    {"query": "{ users { id } }", "variables": [1]},
    {"query": "{ users { id } }", "variables": 3},
    {"query": "{ users { id } }", "operationName": 5},
    {"query": "{ users { id } }", "operationName": ["a"]},
    {"query": "{ users { id } }", "extensions": "x"},
    {"query": "{ users { id } }", "extensions": [1]},
    {"variables": {"a": 1}},
    {"operationName": "A"},
    {"Query": "{ users { id } }"},
    {"query": "{ users { id } }", "variables": {"": None}},
]


def wrong_shapes(rng: random.Random) -> Request:
    return Request("wrong JSON shapes", body=_json(rng.choice(SHAPES)))


def deep_json(rng: random.Random) -> Request:
    depth = rng.choice([1_000, 1_025, 10_000, 100_000])
    if rng.random() < 0.5:
        body = ("[" * depth + "]" * depth).encode()
    else:
        body = ('{"a":' * depth + "1" + "}" * depth).encode()
    where = rng.choice(["body", "variables", "variables"])
    if where == "variables":
        inner = rng.choice([body, ("[" * 500 + "]" * 500).encode(), ("[" * 70 + "]" * 70).encode()])
        body = b'{"query": "query($a: ID) { users { id } }", "variables": {"a": ' + inner + b"}}"
    return Request("deep JSON", body=body)


def deep_graphql(rng: random.Random) -> Request:
    n = rng.choice([300, 1_000, 10_000])
    query = rng.choice(
        [
            "{" * n + "}" * n,
            "{ users " + "{ orders " * n + "{ id }" + " }" * (n + 1),
            "{ user(id: " + "[" * n + "]" * n + ") { id } }",
            "{ user(id: " + "{a: " * n + "1" + "}" * n + ") { id } }",
            "query($v: " + "[" * n + "ID" + "]" * n + ") { users { id } }",
            "{ ...F0 } " + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(min(n, 3000))),
            "{ users { " + "... on User { " * n + "id" + " }" * n + " } }",
            "{ users { ...A } } fragment A on User { ...B } fragment B on User { ...A id }",
        ]
    )
    return Request("deep GraphQL", body=_query(query))


def huge_strings(rng: random.Random) -> Request:
    choice = rng.random()
    if choice < 0.25:  # beyond the body limit: refused before it is read
        return Request("huge strings", body=_query("{ users { id } }", pad="x" * 2_500_000))
    if choice < 0.5:  # large variables: refused by the variables limit
        return Request(
            "huge strings",
            body=_query("query($id: ID!) { user(id: $id) { id } }", variables={"id": "u" * 600_000}),
        )
    if choice < 0.75:
        return Request("huge strings", body=_query("{ users { id } }", operationName="O" * 1_000_000))
    # a query the lexer must read whole (the rarest: the most expensive to refuse)
    text = rng.choice(
        [
            '{ user(id: "' + "a" * 1_500_000 + '") { id } }',
            "{ " + "a" * 1_000_000 + " }",
            "#" + "c" * 1_500_000 + "\n{ users { id } }",
            '{ user(id: """' + "b" * 1_000_000 + '""") { id } }',
        ]
    )
    return Request("huge strings", body=_query(text))


VARIABLES: list[tuple[str, Any]] = [
    ("query($id: ID!) { user(id: $id) { id } }", {}),
    ("query($id: ID!) { user(id: $id) { id } }", {"id": None}),
    ("query($id: ID!) { user(id: $id) { id } }", {"id": {"a": 1}}),
    ("query($id: ID!) { user(id: $id) { id } }", {"id": [1, 2]}),
    ("query($id: ID!) { user(id: $id) { id } }", {"id": True}),
    ("query($id: ID!) { user(id: $id) { id } }", {"id": 1e300}),
    ("query($id: ID!) { user(id: $id) { id } }", {"id": "u1", "extra": {"deep": [1, [2, [3]]]}}),
    ("query($id: [ID!]!) { user(id: $id) { id } }", {"id": ["u1"]}),
    ("query($id: Nope) { users { id } }", {"id": 1}),
    ("query($id: ID! = 1) { users { id } }", {}),
    ("query($s: Boolean!) { users @skip(if: $s) { id } }", {"s": "yes"}),
    ("query($sku: String!, $vendor: String!) { product(sku: $sku, vendor: $vendor) { sku } }", {"sku": 1}),
]


def bad_variables(rng: random.Random) -> Request:
    query, variables = rng.choice(VARIABLES)
    return Request("bad variables", body=_query(query, variables=variables))


OPERATIONS: list[dict[str, Any]] = [
    {"query": "query A { users { id } } query B { orders { id } }"},
    {"query": "query A { users { id } } query B { orders { id } }", "operationName": "C"},
    {"query": "query A { users { id } }", "operationName": "B"},
    {"query": "{ users { id } }", "operationName": "A"},
    {"query": "subscription S { users { id } }"},
    {"query": "mutation M { users { id } }"},
    {"query": "query A { users { id } } query A { users { id } }", "operationName": "A"},
    {"query": "fragment F on User { id }"},
    {"query": "{ users { ...Nope } }"},
    {"query": "{ nope }"},
    {
        "query": '{ __type(name: "User") { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } }'
    },
    {"query": "type T { a: Int } { users { id } }"},
]


def unknown_operations(rng: random.Random) -> Request:
    payload = rng.choice(OPERATIONS)
    if rng.random() < 0.3:
        params = {k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}
        return Request("unknown operations", method="GET", body=None, headers=dict(PREFLIGHT), params=params)
    return Request("unknown operations", body=_json(payload))


def invalid_utf8(rng: random.Random) -> Request:
    bad = rng.choice([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\x00"])
    return rng.choice(
        [
            Request("invalid UTF-8", body=b'{"query": "{ users { id ' + bad + b' } }"}'),
            Request(
                "invalid UTF-8", body=b'{"query": "{ users { id } }", "variables": {"a": "' + bad + b'"}}'
            ),
            Request(
                "invalid UTF-8",
                body=b"{ users { " + bad + b" } }",
                headers={"content-type": "application/graphql"},
            ),
            Request("invalid UTF-8", body=b'{"query": "{ users { id } }"' + bad + b"}"),
            Request("invalid UTF-8", body=b'{"query": "\\ud800 { users { id } }"}'),
            Request(
                "invalid UTF-8",
                method="GET",
                body=None,
                headers=dict(PREFLIGHT),
                params={"query": "{ users { id " + bad.decode("latin-1") + " } }"},
            ),
        ]
    )


def wrong_methods(rng: random.Random) -> Request:
    method = rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "GET", "GET", "POST"])
    headers = dict(rng.choice([{}, PREFLIGHT, JSON_TYPE]))
    body = _query("{ users { id } }") if method not in ("GET", "HEAD", "TRACE") else None
    params = rng.choice(
        [
            None,
            {},
            {"query": ""},
            {"variables": "{}"},
            {"query": "{ users { id } }", "variables": "{bad"},
            {"query": "{ users { id } }", "extensions": "[1]"},
            {"query": "{ users { id } }", "operationName": ""},
        ]
    )
    return Request("wrong methods", method=method, body=body, headers=headers, params=params)


def bombs(rng: random.Random) -> Request:
    n = rng.choice([200, 5_000, 20_000])
    query = rng.choice(
        [
            "{ users { " + "id " * n + "} }",
            "{ " + " ".join(f"a{i}: users {{ id }}" for i in range(min(n, 3_000))) + " }",
            "{ users " + "@skip(if: false) " * min(n, 3_000) + "{ id } }",
            "{ ...F0 } "
            + " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
            + " fragment F40 on Query { users { id } }",
            "{ users { id } }" + " # x\n" * n,
            "query(" + ", ".join(f"$v{i}: ID" for i in range(min(n, 3_000))) + ") { users { id } }",
            "{ user(id: " + '"u1" ' * min(n, 3_000) + ") { id } }",
        ]
    )
    return Request("token, alias, directive and fragment bombs", body=_query(query))


def broken_http(rng: random.Random) -> Request:
    raw = rng.choice(
        [
            b"GARBAGE\r\n\r\n",
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}",  # body shorter than declared
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET /graphql HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"a" * 100_000 + b"\r\n\r\n",
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
            b'Content-Length: 7\r\n\r\n{"a":1}',
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello
        ]
    )
    return Request("broken HTTP", raw=raw)


GENERATORS: list[tuple[Callable[[random.Random], Request], float]] = [
    (random_bytes, 12),
    (content_types, 8),
    (wrong_shapes, 12),
    (deep_json, 6),
    (deep_graphql, 8),
    (huge_strings, 0.6),
    (bad_variables, 10),
    (unknown_operations, 10),
    (invalid_utf8, 8),
    (wrong_methods, 10),
    (bombs, 2),
    (broken_http, 2),
]


def draw(rng: random.Random, count: int) -> list[Request]:
    """`count` requests of the mix, half of them asking for application/graphql-response+json."""
    functions, weights = zip(*GENERATORS, strict=True)
    requests = []
    for _ in range(count):
        request = rng.choices(functions, weights)[0](rng)
        if rng.random() < 0.5:
            request.headers["accept"] = "application/graphql-response+json"
        requests.append(request)
    return requests


def warm_up(rng: random.Random) -> list[Request]:
    """As many requests of the same mix as the measured run, then every kind in bursts.

    The largest requests (a few MB each while they are parsed and refused) raise the allocators' high-water
    mark when several run at once; CPython and glibc keep that memory for the next burst rather than give it
    back. That is not a leak, and the warm-up reaches it, so that the measured run shows what stays."""
    bursts = [generator(rng) for generator, _weight in GENERATORS for _ in range(24)]
    return draw(rng, WARM_UP) + bursts


# -- sending ---------------------------------------------------------------------------------------------------


async def _send(session: aiohttp.ClientSession, base: str, request: Request) -> str:
    """The status, or what happened instead of one."""
    if request.raw is not None:
        host, port = base.removeprefix("http://").split(":")
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError as error:
            return f"connect failed: {error}"
        try:
            writer.write(request.raw)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 10)
        except (OSError, TimeoutError):
            line = b""
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        parts = line.split()
        return (
            parts[1].decode() if len(parts) > 1 and parts[0].startswith(b"HTTP/") else "closed by the server"
        )
    try:
        return await _send_http(session, base, request)
    except (aiohttp.ClientError, TimeoutError) as error:
        return f"client error: {type(error).__name__}"


async def _send_http(session: aiohttp.ClientSession, base: str, request: Request) -> str:
    skip = () if "content-type" in request.headers else ("Content-Type",)
    body = request.body
    data: bytes | io.BytesIO | None = body
    if body is not None and len(body) > 1_000_000:  # aiohttp warns about large bytes bodies
        data = io.BytesIO(body)
    async with session.request(
        request.method,
        base + "/graphql",
        data=data,
        headers=request.headers,
        params=request.params,
        skip_auto_headers=skip,
    ) as response:
        body = await response.read()
        if 400 <= response.status < 500 and response.status not in (404, 405) and response.method != "HEAD":
            payload = json.loads(body)  # a GraphQL error, in JSON
            assert isinstance(payload, dict) and payload["errors"][0]["message"], payload
        return str(response.status)


async def _run(base: str, requests: list[Request], concurrency: int = 4) -> Counter[tuple[str, str]]:
    """Sends `requests`, `concurrency` at a time, but one large one (20 kB or more) at a time."""
    seen: Counter[tuple[str, str]] = Counter()
    queue = list(reversed(requests))
    timeout = aiohttp.ClientTimeout(total=60)
    large = asyncio.Lock()
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def worker() -> None:
            while queue:
                request = queue.pop()
                if len(request.body or request.raw or b"") >= 20_000:
                    async with large:
                        seen[(request.kind, await _send(session, base, request))] += 1
                else:
                    seen[(request.kind, await _send(session, base, request))] += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return seen


# -- the gateway process ---------------------------------------------------------------------------------------


def _valid_query_works(base: str) -> None:
    answer = raw_request(base + "/graphql", "POST", _query('{ user(id: "u2") { name } }'), JSON_TYPE)
    assert (answer.status, answer.json) == (200, {"data": {"user": {"name": "Alan Turing"}}})


def test_malformed_requests_never_get_a_5xx(tmp_path: Path, run_subgraphs: RunSubgraphs) -> None:
    subgraphs = run_subgraphs(marketplace_specs())
    with turnout_serve(tmp_path, {name: s.url for name, s in subgraphs.items()}) as (base, process):
        _valid_query_works(base)
        asyncio.run(_run(base, warm_up(random.Random(1))))  # caches and allocator at their working size
        _valid_query_works(base)
        before = rss(process.pid)
        started = time.monotonic()
        seen = asyncio.run(_run(base, draw(random.Random(2), MALFORMED)))
        elapsed = time.monotonic() - started
        after = rss(process.pid)
        assert process.poll() is None, (tmp_path / "gateway.log").read_text()[-3000:]
        _valid_query_works(base)

    statuses = Counter[str]()
    for (_kind, status), count in seen.items():
        statuses[status] += count
    by_kind: dict[str, Counter[str]] = {}
    for (kind, status), count in seen.items():
        by_kind.setdefault(kind, Counter())[status] += count
    report = (
        f"{sum(seen.values())} malformed requests in {elapsed:.1f}s; statuses {dict(sorted(statuses.items()))}; "
        f"RSS {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB ({(after - before) / 2**20:+.1f} MiB)\n"
        + "\n".join(f"  {kind}: {dict(sorted(c.items()))}" for kind, c in sorted(by_kind.items()))
    )
    print(report)
    assert sum(seen.values()) == MALFORMED
    assert not [s for s in statuses if s.isdigit() and int(s) >= 500], report
    assert not [s for s in statuses if not s.isdigit() and s != "closed by the server"], report
    assert after - before < MAX_GROWTH, report
