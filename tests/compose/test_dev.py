"""`turnout dev`: a changed subgraph SDL is composed and served while requests flow; a broken one is refused."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from support.servers import RunningSubgraph
from support.subgraph import SubgraphSpec
from support.waiting import wait_until

POLL = 1.0
HEADER = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
SERVED = (
    HEADER
    + 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String nickname: String }\n'
)
BEFORE = HEADER + 'type Query { me: User }\ntype User @key(fields: "id") { id: ID! name: String }\n'
ORDERS = HEADER + 'type User @key(fields: "id") { id: ID! orders: Int }\n'


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


def _wait_ready(port: int, process: subprocess.Popen[str], err: Path) -> None:
    def ready() -> bool:
        assert process.poll() is None, err.read_text()
        return bool(_post(port, "{ __typename }").get("data"))

    wait_until(ready, 30, interval=0.1, ignoring=(OSError,), describe="turnout dev did not start")


def test_dev_hot_swaps_a_changed_sdl_and_keeps_the_last_good_one(tmp_path: Path, run_subgraphs: Any) -> None:
    running: dict[str, RunningSubgraph] = run_subgraphs(
        SubgraphSpec(
            "users",
            SERVED,
            data={"User": [{"id": "1", "name": "Ada", "nickname": "countess"}]},
            root={"me": {"id": "1", "name": "Ada", "nickname": "countess"}},
        ),
        SubgraphSpec("orders", ORDERS, data={"User": [{"id": "1", "orders": 3}]}),
    )
    users_sdl = tmp_path / "users.graphql"
    users_sdl.write_text(BEFORE, encoding="utf-8")
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "federation_version: =2.3.2\nsubgraphs:\n"
        f"  users:\n    routing_url: {running['users'].url}\n    schema:\n      file: users.graphql\n"
        f"  orders:\n    routing_url: {running['orders'].url}\n    schema:\n"
        f"      subgraph_url: {running['orders'].url}\n",
        encoding="utf-8",
    )
    port = _free_port()
    err = tmp_path / "dev.err"
    err_file = err.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("turnout")),
            "dev",
            "--config",
            str(config),
            "--port",
            str(port),
            "--poll-interval",
            str(POLL),
            "--duration",
            "40",
        ],
        stdout=subprocess.DEVNULL,
        stderr=err_file,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_ready(port, process, err)
        assert "errors" in _post(port, "{ me { nickname } }")  # not in the supergraph yet
        failures: list[Any] = []
        answered = 0
        stop = threading.Event()

        def traffic() -> None:
            nonlocal answered
            while not stop.is_set():
                try:
                    body = _post(port, "{ me { name orders } }")
                except OSError as error:
                    failures.append(error)
                    continue
                if body != {"data": {"me": {"name": "Ada", "orders": 3}}}:
                    failures.append(body)
                answered += 1

        client = threading.Thread(target=traffic)
        client.start()
        wait_until(lambda: answered >= 10, 10, describe="no requests answered before the change")
        users_sdl.write_text(
            BEFORE.replace("name: String }", "name: String nickname: String }"), encoding="utf-8"
        )
        changed = time.monotonic()
        wait_until(
            lambda: _post(port, "{ me { nickname } }") == {"data": {"me": {"nickname": "countess"}}},
            2 * POLL + 1.0,
            describe="the new field is not served",
        )
        served_after = time.monotonic() - changed
        print(f"new field served {served_after:.2f}s after the SDL changed")
        users_sdl.write_text(BEFORE.replace("type Query", "type Query {"), encoding="utf-8")  # a syntax error
        wait_until(
            lambda: "still serving" in err.read_text(), 3 * POLL + 2, describe="the broken SDL not refused"
        )
        assert _post(port, "{ me { nickname } }") == {"data": {"me": {"nickname": "countess"}}}
        stop.set()
        client.join()
        print(f"{answered} requests during the swaps, {len(failures)} failed")
        assert failures == [] and answered > 20
        assert served_after <= 2 * POLL + 0.5
    finally:
        process.terminate()
        process.wait(timeout=20)
        err_file.close()
    printed = err.read_text()
    assert "INVALID_GRAPHQL" in printed and "users" in printed  # the composition error is printed
    assert "still serving" in printed
