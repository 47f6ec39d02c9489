"""Helpers of the hardening tests: a gateway built from a Config (as `turnout serve` builds it) in front of
harness subgraphs, served on loopback, and raw HTTP requests whose every byte the test chooses."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from support.fixtures import SUPERGRAPHS_DIR, load_supergraph
from support.servers import RunningSubgraph, ServerThread
from support.waiting import wait_until
from turnout.assembly import build_gateway
from turnout.config import Config
from turnout.gateway import Gateway
from turnout.server.app import create_app
from turnout.supergraph.join_spec import read_supergraph

ServeAsgi = Callable[..., ServerThread]

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names), body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def raw_request(
    url: str,
    method: str = "POST",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    *,
    params: Mapping[str, str] | None = None,
    chunked: bool = False,
    timeout: float = 20.0,
) -> Answer:
    """One HTTP request with exactly these method, body and headers (plus Host, and Content-Length for a body)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + ("?" + urllib.parse.urlencode(params) if params else "")
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        if chunked:
            connection.request(
                method, path, body=iter([body or b""]), headers=dict(headers or {}), encode_chunked=True
            )
        else:
            connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def post_json(
    url: str, payload: Any, *, accept: str = GRAPHQL_RESPONSE, headers: Mapping[str, str] | None = None
) -> Answer:
    return raw_request(
        url, "POST", json.dumps(payload).encode(), {"content-type": JSON, "accept": accept, **(headers or {})}
    )


@dataclass
class Served:
    """A gateway built by `build_gateway` from a Config, served over HTTP."""

    gateway: Gateway
    server: ServerThread
    subgraphs: dict[str, RunningSubgraph]
    config: Config

    @property
    def url(self) -> str:
        return self.server.base_url + "/graphql"

    def post(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        accept: str = GRAPHQL_RESPONSE,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = dict(variables)
        return post_json(self.url, payload, accept=accept, headers=headers)


def serve_configured(
    serve_asgi: ServeAsgi,
    subgraphs: Mapping[str, RunningSubgraph],
    settings: Mapping[str, Any] | None = None,
    *,
    fixture: str = "marketplace",
) -> Served:
    """The gateway `turnout serve` would run with `settings` (a config file's content), the subgraph URLs
    pointing at the running `subgraphs` (per-subgraph settings merged in)."""
    data = json.loads(json.dumps(dict(settings or {})))
    per_subgraph = data.setdefault("subgraphs", {})
    for name, running in subgraphs.items():
        per_subgraph.setdefault(name, {})["url"] = running.url
    config = Config.model_validate(data)
    gateway = build_gateway(config, read_supergraph(load_supergraph(fixture)))
    server = serve_asgi(
        create_app(gateway, max_body_bytes=config.server.max_body_bytes),
        lifespan="on",
        name=f"gateway-{fixture}",
    )
    return Served(gateway, server, dict(subgraphs), config)


# -- turnout serve in a process of its own -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rss(pid: int) -> int:
    """Resident memory of `pid` and its descendants, in bytes."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(c) for c in children)
    return total


@contextlib.contextmanager
def turnout_serve(
    tmp_path: Path,
    subgraph_urls: dict[str, str],
    settings: Mapping[str, Any] | None = None,
    *,
    fixture: str = "marketplace",
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`turnout serve` in a process of its own, with the defaults and `settings` (a config file's content)."""
    port = free_port()
    config = tmp_path / "turnout.yaml"
    settings = dict(settings or {})
    config.write_text(
        yaml.safe_dump(
            {
                "supergraph": str(SUPERGRAPHS_DIR / fixture / "supergraph.graphql"),
                "subgraphs": {name: {"url": url} for name, url in subgraph_urls.items()},
                "log_level": "error",
                "admin": {"port": free_port()},
                **settings,
                "server": {**settings.get("server", {}), "host": "127.0.0.1", "port": port},
            }
        )
    )
    command = [str(Path(sys.executable).parent / "turnout"), "serve", "--config", str(config)]
    log = (tmp_path / "gateway.log").open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TURNOUT_")}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            assert process.poll() is None, (tmp_path / "gateway.log").read_text()
            return raw_request(base + "/health", "GET", timeout=2).status == 200

        wait_until(healthy, 60, interval=0.1, ignoring=(OSError,), describe="turnout serve did not start")
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        log.close()
