"""Running ASGI apps (and test subgraphs) with uvicorn on 127.0.0.1 in background threads."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from starlette.types import ASGIApp

from .subgraph import Mode, RecordedRequest, SubgraphApp, SubgraphSpec
from .waiting import wait_until

__all__ = [
    "RunningSubgraph",
    "ServerThread",
    "run_subgraphs",
    "serve_asgi",
    "start_subgraphs",
    "stop_all",
]


class _Server(uvicorn.Server):
    """uvicorn.Server whose main loop can be woken from another thread, so stopping is quick."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.1)

    def request_exit(self) -> None:
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(wake.set)


class ServerThread:
    """Serves an ASGI app with uvicorn on ``host`` (a free port unless given) in a daemon thread.

    >>> with ServerThread(app) as server:
    ...     requests.get(server.base_url + "/health")
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        lifespan: Literal["auto", "on", "off"] = "off",
        name: str = "asgi",
        graceful_shutdown_timeout: int = 5,
        log_level: str = "warning",
    ):
        self.app = app
        self.host = host
        self.name = name
        self._requested_port = port
        self._lifespan = lifespan
        self._graceful_shutdown_timeout = graceful_shutdown_timeout
        self._log_level = log_level
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.port: int = port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Binds the port, starts the thread and returns once uvicorn is listening."""
        if self._thread is not None:
            raise RuntimeError(f"server {self.name} already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan=self._lifespan,
            log_config=None,
            log_level=self._log_level,
            access_log=False,
            timeout_graceful_shutdown=self._graceful_shutdown_timeout,
        )
        self._server = server = _Server(config)
        self._thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"uvicorn-{self.name}-{self.port}", daemon=True
        )
        self._thread.start()
        thread = self._thread

        def started() -> bool:
            if server.started:
                return True
            if not thread.is_alive():
                sock.close()
                raise RuntimeError(f"server {self.name} failed to start") from self._error
            return False

        try:
            wait_until(started, timeout, interval=0.001)
        except AssertionError:
            self.stop()
            raise TimeoutError(f"server {self.name} did not start within {timeout}s") from None
        return self

    def _run(self, server: _Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # uvicorn exits with SystemExit when startup fails
            self._error = exc
        finally:
            sock.close()

    def request_stop(self) -> None:
        """Asks the server to stop without waiting (see :meth:`join`)."""
        if self._server is not None:
            self._server.request_exit()

    def join(self, timeout: float = 10.0) -> None:
        """Waits for the server thread to end after :meth:`request_stop`."""
        if self._thread is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"server {self.name} did not stop within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the server and waits for its thread."""
        self.request_stop()
        self.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start() if self._thread is None else self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve_asgi(app: ASGIApp, **options: Any) -> Iterator[ServerThread]:
    """Context manager: ``app`` served on a free port of 127.0.0.1 for the duration of the block."""
    server = ServerThread(app, **options).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class RunningSubgraph:
    """A test subgraph being served: its URL, its recorded requests and its failure mode."""

    name: str
    app: SubgraphApp
    server: ServerThread

    @property
    def url(self) -> str:
        """The GraphQL endpoint, e.g. ``http://127.0.0.1:40123/graphql``."""
        return self.server.base_url + self.app.path

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (live list)."""
        return self.app.requests

    @property
    def mode(self) -> Mode:
        """The failure mode; assign to switch it at runtime."""
        return self.app.mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        self.app.set_mode(mode)

    @property
    def delay(self) -> float:
        """Seconds waited before every answer."""
        return self.app.delay

    @delay.setter
    def delay(self, seconds: float) -> None:
        self.app.delay = seconds

    def set_mode(self, mode: Mode, *, times: int | None = None) -> None:
        """Switches the failure mode, optionally for the next ``times`` requests only."""
        self.app.set_mode(mode, times=times)

    def reset(self) -> None:
        """Clears the request log, mode back to ``ok``, no delay."""
        self.app.reset()

    def stop(self) -> None:
        """Stops serving (hanging requests are released first)."""
        stop_all([self])


def _as_app(item: SubgraphSpec | SubgraphApp) -> SubgraphApp:
    return SubgraphApp.from_spec(item) if isinstance(item, SubgraphSpec) else item


def start_subgraphs(items: Iterable[SubgraphSpec | SubgraphApp]) -> dict[str, RunningSubgraph]:
    """Serves each subgraph on its own free port; the caller must :func:`stop_all` them."""
    apps = [_as_app(item) for item in items]
    names = [app.name for app in apps]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate subgraph names: {names}")
    running: dict[str, RunningSubgraph] = {}
    try:
        for app in apps:
            server = ServerThread(app, name=app.name).start()
            running[app.name] = RunningSubgraph(app.name, app, server)
    except BaseException:
        stop_all(running.values())
        raise
    return running


def stop_all(subgraphs: Iterable[RunningSubgraph | ServerThread], timeout: float = 10.0) -> None:
    """Stops several servers at once (in parallel, so teardown costs one shutdown, not n)."""
    servers: list[ServerThread] = []
    for item in subgraphs:
        if isinstance(item, RunningSubgraph):
            item.app.close()
            servers.append(item.server)
        else:
            servers.append(item)
    for server in servers:
        server.request_stop()
    for server in servers:
        server.join(timeout)


@contextlib.contextmanager
def run_subgraphs(items: Iterable[SubgraphSpec | SubgraphApp]) -> Iterator[dict[str, RunningSubgraph]]:
    """Context manager: the subgraphs served on loopback, by name, stopped on exit."""
    running = start_subgraphs(items)
    try:
        yield running
    finally:
        stop_all(running.values())
