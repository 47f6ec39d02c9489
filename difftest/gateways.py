"""The two gateways under test, each a process of its own on loopback, and one POST to either of them.

turnout: `.venv/bin/turnout serve`. The reference: Apollo Gateway as bench/peers installs it (`bench/peers/install.sh`:
npm packages pinned by its package-lock.json, and a pinned Node.js runtime), run by bench/peers/apollo-gateway.mjs.
"""

from __future__ import annotations

import glob
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from bench._procs import ChildProcesses, find_turnout, free_port, http_ready, url_host

__all__ = ["PEERS", "Answer", "Gateway", "post", "start_apollo", "start_turnout"]

PEERS = Path(__file__).resolve().parent.parent / "bench" / "peers"
READY_QUERY = json.dumps({"query": "{ __typename }"}).encode()


@dataclass(frozen=True)
class Gateway:
    name: str
    url: str


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: its status and its body as JSON (the text when it is not JSON; `status` 0: no answer)."""

    status: int
    body: Any


def _node() -> str:
    pinned = sorted(glob.glob(str(PEERS / "runtime" / "node_modules" / "node-*" / "bin" / "node")))
    node = pinned[0] if pinned else shutil.which("node")
    if node is None or not (PEERS / "node_modules" / "@apollo" / "gateway").is_dir():
        raise RuntimeError(
            "Apollo Gateway is not installed: run bench/peers/install.sh (Node.js 20 or later)"
        )
    return node


def _start(
    procs: ChildProcesses, name: str, argv: list[str], host: str, port: int, env: dict[str, str] | None = None
) -> Gateway:
    child = procs.start(name, argv, env=env)
    url = f"http://{url_host(host)}:{port}/graphql"
    procs.wait_ready(child, lambda: http_ready(url, body=READY_QUERY), timeout=60)
    return Gateway(name, url)


def start_turnout(procs: ChildProcesses, supergraph: Path, host: str) -> Gateway:
    turnout = find_turnout()
    if turnout is None:
        raise RuntimeError("the turnout command was not found next to this Python (make .venv/.installed)")
    port = free_port(host)
    return _start(
        procs,
        "turnout",
        [
            turnout,
            "serve",
            "--supergraph",
            str(supergraph),
            "--host",
            host,
            "--port",
            str(port),
            "--admin-host",
            host,
            "--admin-port",
            str(free_port(host)),
            "--reload-interval",
            "0",
            "--log-level",
            "warning",
        ],
        host,
        port,
    )


def start_apollo(procs: ChildProcesses, supergraph: Path, host: str) -> Gateway:
    import os

    port = free_port(host)
    argv = [
        _node(),
        str(PEERS / "apollo-gateway.mjs"),
        "--supergraph",
        str(supergraph),
        "--host",
        host,
        "--port",
        str(port),
    ]
    return _start(procs, "apollo", argv, host, port, env={**os.environ, "NODE_ENV": "production"})


async def post(
    session: aiohttp.ClientSession, gateway: Gateway, query: str, variables: dict[str, Any]
) -> Answer:
    """POSTs one operation as JSON (`Accept: application/json`, so GraphQL errors come with HTTP 200)."""
    body = {"query": query, "variables": variables}
    try:
        async with session.post(gateway.url, json=body, headers={"accept": "application/json"}) as response:
            text = await response.text()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        return Answer(0, f"{type(error).__name__}: {error}")
    try:
        return Answer(status, json.loads(text))
    except ValueError:
        return Answer(status, text)
