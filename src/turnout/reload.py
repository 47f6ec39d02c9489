"""Supergraph hot reload: the gateway serving now, swapped atomically, and a poller of the supergraph's file or URL.

A request leases the current runtime (one supergraph's Gateway) for its whole duration, so a swap never changes
the gateway under a running request: requests that started on the old supergraph finish on it, new ones go to
the new one, and the old gateway is closed (its queued comparisons given a moment, its connections closed) once
its last request is done. A supergraph that cannot be read, parsed or assembled is refused, logged with the
reason, and the current one keeps serving.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .compose import (
    CompositionFailed,
    ConfigError,
    SubgraphSdlError,
    compose_or_raise,
    load_sdls,
    read_config,
)
from .gateway import Gateway

__all__ = [
    "ComposedSource",
    "GatewayHolder",
    "Runtime",
    "Source",
    "SourceError",
    "SupergraphReloader",
    "SupergraphSource",
    "SupergraphText",
    "is_composition_config_path",
    "open_source",
    "shown_location",
]

log = logging.getLogger("turnout.reload")

Hook = Callable[[], Awaitable[None]]

MAX_SUPERGRAPH_BYTES = 64 * 1024 * 1024
_RECENT_SECONDS = 2.0  # a file modified this recently may change again within the same mtime tick


class SourceError(Exception):
    """The supergraph could not be read (missing file, HTTP error, not UTF-8...); the message says why."""


@dataclass(frozen=True)
class SupergraphText:
    """A supergraph's SDL and the sha256 of its bytes."""

    text: str
    sha256: str

    @property
    def version(self) -> str:
        """A short name for this supergraph in logs: the first 12 hex digits of its sha256."""
        return self.sha256[:12]

    @classmethod
    def of(cls, raw: bytes) -> SupergraphText:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SourceError("it is not UTF-8 text") from None
        return cls(text, hashlib.sha256(raw).hexdigest())


def shown_location(location: str) -> str:
    """A supergraph location fit for logs: a URL without credentials, query or fragment."""
    if not location.startswith(("http://", "https://")):
        return location
    parts = urllib.parse.urlsplit(location)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _split_credentials(url: str) -> tuple[str, str | None]:
    """`https://user:password@host/path` -> (`https://host/path`, a Basic authorization header)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return urllib.parse.urlunsplit(
        (parts.scheme, host, parts.path, parts.query, parts.fragment)
    ), f"Basic {token}"


class SupergraphSource:
    """A supergraph file path or http(s) URL, read again only when it changed.

    A file is re-read when its mtime, size or inode changed (or it was modified within the last two seconds of
    the previous read, as a second write may keep all three); a URL is asked with If-None-Match (its ETag) and
    If-Modified-Since. Either way, text whose sha256 is the last one seen is not reported as a change.
    Blocking: call from a thread.
    """

    def __init__(self, location: str, *, timeout: float = 30.0) -> None:
        self.location = location
        self.is_url = location.startswith(("http://", "https://"))
        self.timeout = timeout
        self._sha256: str | None = None
        self._stat: tuple[int, int, int] | None = None
        self._stat_recent = False
        self._etag: str | None = None
        self._last_modified: str | None = None

    @property
    def shown(self) -> str:
        return shown_location(self.location)

    def read(self) -> SupergraphText:
        """The supergraph as it is now (remembered as seen); SourceError when it cannot be read."""
        found = self._fetch(conditional=False)
        assert found is not None
        self._sha256 = found.sha256
        return found

    def changed(self) -> SupergraphText | None:
        """The supergraph if it changed since it was last seen, else None; SourceError when it cannot be read."""
        found = self._fetch(conditional=True)
        if found is None or found.sha256 == self._sha256:
            return None
        self._sha256 = found.sha256
        return found

    def forget(self) -> None:
        """Forget what was seen, so the next `changed` reports the supergraph again (after a transient refusal)."""
        self._sha256 = None
        self._stat = None
        self._etag = self._last_modified = None

    # -- reading ------------------------------------------------------------------------------------------------

    def _fetch(self, *, conditional: bool) -> SupergraphText | None:
        return self._fetch_url(conditional) if self.is_url else self._fetch_file(conditional)

    def _fetch_file(self, conditional: bool) -> SupergraphText | None:
        path = Path(self.location)
        try:
            stat = os.stat(path)
            signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if conditional and signature == self._stat and not self._stat_recent:
                return None
            if stat.st_size > MAX_SUPERGRAPH_BYTES:
                raise SourceError(f"it is larger than {MAX_SUPERGRAPH_BYTES} bytes")
            raw = path.read_bytes()
        except OSError as error:
            raise SourceError(error.strerror or str(error)) from None
        self._stat = signature
        self._stat_recent = time.time() - stat.st_mtime < _RECENT_SECONDS
        return SupergraphText.of(raw)

    def _fetch_url(self, conditional: bool) -> SupergraphText | None:
        headers = {"accept": "text/plain, application/graphql, */*"}
        if conditional and self._etag:
            headers["if-none-match"] = self._etag
        if conditional and self._last_modified:
            headers["if-modified-since"] = self._last_modified
        url, authorization = _split_credentials(self.location)
        if authorization:
            headers["authorization"] = authorization
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read(MAX_SUPERGRAPH_BYTES + 1)
                etag, modified = response.headers.get("etag"), response.headers.get("last-modified")
        except urllib.error.HTTPError as error:
            if error.code == 304 and conditional:
                return None
            raise SourceError(f"HTTP {error.code}") from None
        except urllib.error.URLError as error:
            raise SourceError(str(error.reason)) from None
        except (OSError, ValueError) as error:  # timeouts, resets, malformed URLs
            raise SourceError(f"{type(error).__name__}: {error}") from None
        if len(raw) > MAX_SUPERGRAPH_BYTES:
            raise SourceError(f"it is larger than {MAX_SUPERGRAPH_BYTES} bytes")
        found = SupergraphText.of(raw)
        self._etag, self._last_modified = etag, modified
        return found


class Source(Protocol):
    """Where supergraphs come from: a file or URL (SupergraphSource), or subgraphs composed (ComposedSource)."""

    @property
    def shown(self) -> str: ...

    def read(self) -> SupergraphText: ...

    def changed(self) -> SupergraphText | None: ...

    def forget(self) -> None: ...


def is_composition_config_path(location: str) -> bool:
    """A `supergraph.yaml` (rover's composition config) rather than a supergraph SDL: a local .yaml/.yml file."""
    return not location.startswith(("http://", "https://")) and location.endswith((".yaml", ".yml"))


class ComposedSource:
    """A composition config (rover's `supergraph.yaml`) as a supergraph source: each read re-reads the config,
    the subgraphs' SDL files and `_service { sdl }` answers, and composes them when they changed (a composition
    of large graphs takes seconds: unchanged inputs keep the last result). A composition that fails is a
    SourceError carrying the composition errors, so the reloader keeps serving the last good supergraph.
    Blocking: call from a thread."""

    def __init__(self, location: str, *, timeout: float = 30.0) -> None:
        self.location = location
        self.timeout = timeout
        self._sha256: str | None = None
        self._inputs_sha256: str | None = None
        self._composed: SupergraphText | None = None
        self.hints: list[str] = []
        self.compositions = 0  # how many times the subgraphs were composed

    @property
    def shown(self) -> str:
        return self.location

    def compose(self) -> SupergraphText:
        try:
            config = read_config(self.location)
            inputs = load_sdls(config, self.timeout)
            digest = hashlib.sha256(repr([(i.name, i.url, i.sdl) for i in inputs]).encode()).hexdigest()
            if digest == self._inputs_sha256 and self._composed is not None:
                return self._composed  # the same subgraphs: no need to compose them again
            self.compositions += 1
            sdl, hints = compose_or_raise(inputs)
        except (ConfigError, SubgraphSdlError, CompositionFailed) as error:
            raise SourceError(str(error)) from None
        shown = [str(hint) for hint in hints]
        if shown != self.hints:  # once per composition that changes them, not at every poll
            for hint in shown:
                log.info("composition hint: %s", hint)
        self.hints = shown
        self._inputs_sha256, self._composed = digest, SupergraphText.of(sdl.encode())
        return self._composed

    def read(self) -> SupergraphText:
        found = self.compose()
        self._sha256 = found.sha256
        return found

    def changed(self) -> SupergraphText | None:
        found = self.compose()
        if found.sha256 == self._sha256:
            return None
        self._sha256 = found.sha256
        return found

    def forget(self) -> None:
        self._sha256 = self._inputs_sha256 = None
        self._composed = None


def open_source(location: str, *, timeout: float = 30.0) -> Source:
    """The supergraph source of `location`: a composition config composed, or a supergraph file or URL."""
    if is_composition_config_path(location):
        return ComposedSource(location, timeout=timeout)
    return SupergraphSource(location, timeout=timeout)


class Runtime:
    """One supergraph's gateway and the requests running on it."""

    def __init__(self, gateway: Gateway, version: str) -> None:
        self.gateway = gateway
        self.version = version
        self.in_flight = 0
        self.retired = False
        self._idle = asyncio.Event()  # set exactly when no request runs
        self._idle.set()

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def exit(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request runs on this gateway; False if some still do after `timeout` seconds."""
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await self._idle.wait()
        except TimeoutError:
            return self.in_flight == 0
        return True


class GatewayHolder:
    """The gateway serving new requests, swapped atomically on reload.

    `on_start` hooks run before the first gateway starts and `on_close` hooks (in reverse) after the last one is
    closed: the process's services (store, evidence recorder) that outlive any one supergraph.
    """

    def __init__(
        self,
        gateway: Gateway,
        *,
        version: str = "",
        drain_timeout: float = 30.0,
        on_start: Iterable[Hook] = (),
        on_close: Iterable[Hook] = (),
    ) -> None:
        self._current = Runtime(gateway, version)
        self.drain_timeout = drain_timeout
        self.on_start = list(on_start)
        self.on_close = list(on_close)
        self.swaps = 0
        self._retiring: dict[asyncio.Task[None], Runtime] = {}
        self._closed = False

    @property
    def current(self) -> Runtime:
        return self._current

    @property
    def gateway(self) -> Gateway:
        """The gateway new requests go to (use `lease` for a request's whole duration)."""
        return self._current.gateway

    @property
    def version(self) -> str:
        return self._current.version

    @property
    def retiring(self) -> int:
        """Replaced gateways not closed yet (still finishing their requests)."""
        return len(self._retiring)

    @contextlib.contextmanager
    def lease(self) -> Iterator[Gateway]:
        """The current gateway, kept open until the block ends (whatever swaps happen meanwhile)."""
        runtime = self._current  # taken and counted in one step of the event loop: no swap in between
        runtime.enter()
        try:
            yield runtime.gateway
        finally:
            runtime.exit()

    async def start(self) -> None:
        for hook in self.on_start:
            await hook()
        await self._current.gateway.start()

    async def swap(self, gateway: Gateway, version: str = "") -> None:
        """Serve `gateway` (started) from now on; the replaced one is closed once its requests are done."""
        if self._closed:
            await _close_quietly(gateway)
            raise RuntimeError("the gateway holder is closed")
        old, self._current = self._current, Runtime(gateway, version)
        self.swaps += 1
        old.retired = True
        task = asyncio.create_task(self._retire(old), name=f"turnout-retire-{old.version or 'gateway'}")
        self._retiring[task] = old
        task.add_done_callback(lambda done: self._retiring.pop(done, None))

    async def _retire(self, runtime: Runtime) -> None:
        started = time.monotonic()
        if not await runtime.wait_idle(self.drain_timeout):
            log.warning(
                "closing the gateway of supergraph %s with %d requests still running after %gs",
                runtime.version,
                runtime.in_flight,
                self.drain_timeout,
            )
        left = self.drain_timeout - (time.monotonic() - started)
        await _stop(runtime, left)
        log.info("closed the gateway of supergraph %s", runtime.version)

    async def close(self, timeout: float = 30.0) -> None:
        """Graceful shutdown: let running requests finish and queued comparisons run (within `timeout` seconds in
        all), close every gateway (comparisons stopped, subgraph connections closed), then the `on_close` hooks
        (the evidence recorder's final flush, the store)."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        current = self._current
        if not await current.wait_idle(deadline - time.monotonic()):
            log.warning("shutting down with %d requests still running after %gs", current.in_flight, timeout)
        await _stop(current, deadline - time.monotonic())
        if self._retiring:
            tasks = list(self._retiring)
            _done, pending = await asyncio.wait(tasks, timeout=max(deadline - time.monotonic(), 0.0))
            for task in pending:
                runtime = self._retiring.get(task)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                if runtime is not None:
                    await _close_quietly(runtime.gateway)
        for hook in reversed(self.on_close):
            try:
                await hook()
            except Exception:
                log.exception("shutdown: a close hook failed")


async def _stop(runtime: Runtime, timeout: float) -> None:
    """Give the gateway's queued comparisons up to `timeout` seconds, then close it."""
    engine = runtime.gateway.engine
    if engine is not None and timeout > 0:
        try:
            await engine.shadow.drain(timeout)
        except TimeoutError:
            log.warning(
                "supergraph %s: comparisons still queued or running after %.1fs are dropped (%d queued)",
                runtime.version,
                timeout,
                engine.shadow.pending,
            )
    await _close_quietly(runtime.gateway)


async def _close_quietly(gateway: Gateway) -> None:
    try:
        await gateway.close()
    except Exception:
        log.exception("closing a gateway failed")


Build = Callable[[str], Gateway]


class SupergraphReloader:
    """Polls the supergraph source every `interval` seconds; a changed supergraph is built into a new gateway
    (by `build`, from its text, in a thread), started, and swapped in. One that cannot be read, parsed, assembled
    or started is refused: logged with the reason, and the current gateway keeps serving."""

    def __init__(
        self,
        holder: GatewayHolder,
        source: Source,
        build: Build,
        *,
        interval: float = 10.0,
    ) -> None:
        self.holder = holder
        self.source = source
        self.build = build
        self.interval = interval
        self.text: SupergraphText | None = None  # the supergraph serving now (once read)
        self.reloads = 0
        self.refused = 0
        self.read_errors = 0
        self._last_read_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="turnout-supergraph-reload")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the poller die
                log.exception("supergraph reload failed; still serving %s", self.holder.version)

    async def check(self) -> bool:
        """One poll: True when a new supergraph now serves."""
        try:
            found = await asyncio.to_thread(self.source.changed)
        except SourceError as error:
            self.read_errors += 1
            if str(error) != self._last_read_error:  # once per distinct problem, not every poll
                log.warning(
                    "cannot read the supergraph %s: %s; still serving supergraph %s",
                    self.source.shown,
                    error,
                    self.holder.version,
                )
            self._last_read_error = str(error)
            return False
        if self._last_read_error is not None:
            log.info("the supergraph %s can be read again", self.source.shown)
            self._last_read_error = None
        if found is None:
            return False
        return await self.load(found)

    async def load(self, found: SupergraphText) -> bool:
        """Build, start and swap in the gateway of `found`; False (logged) when it is refused."""
        try:
            gateway = await asyncio.to_thread(self._build, found.text)
        except (
            Exception
        ) as error:  # SupergraphError, AssemblyError... : this text will not do, whenever tried
            self.refused += 1
            log.error(
                "refused supergraph %s (%s): %s; still serving supergraph %s",
                self.source.shown,
                found.version,
                _reason(error),
                self.holder.version,
            )
            return False
        previous = self.holder.version
        if not await self.install(
            gateway, found.version, f"supergraph {self.source.shown} ({found.version})"
        ):
            self.refused += 1
            self.source.forget()
            return False
        self.text = found
        self.reloads += 1
        log.info("now serving supergraph %s (%s) in place of %s", self.source.shown, found.version, previous)
        return True

    async def install(self, gateway: Gateway, version: str, what: str) -> bool:
        """Start `gateway` (with what the current one learned) and swap it in; False (logged, `gateway` closed)
        when it cannot start (the store is unreachable...): the current one keeps serving."""
        try:
            _carry_over(self.holder.gateway, gateway)
            await gateway.start()
        except asyncio.CancelledError:  # stopped (shutdown) while starting it
            await _close_quietly(gateway)
            raise
        except Exception as error:
            await _close_quietly(gateway)
            log.error(
                "could not start %s: %s; still serving supergraph %s; will try again",
                what,
                _reason(error),
                self.holder.version,
            )
            return False
        await self.holder.swap(gateway, version)  # no await before the swap itself: it cannot be cancelled
        return True

    def _build(self, text: str) -> Gateway:
        gateway = self.build(text)
        gateway.prepare("{ __typename }")  # the API schema validates a trivial operation
        return gateway


def _carry_over(old: Gateway, new: Gateway) -> None:
    """What the old gateway's migration engine learned that is not in the store (the noise rates), and the
    stages it read last (so the new one serves them if the store does not answer its first read)."""
    if old.engine is None or new.engine is None:
        return
    for name, tally in old.engine.noise.items():
        if name in new.engine.noise:
            new.engine.noise[name] = tally
    new.engine.carry_over(old.engine)


def _reason(error: BaseException) -> str:
    text = str(error).strip()
    name = type(error).__name__
    if not text:
        return name
    return text if name.endswith(("SupergraphError", "AssemblyError", "SourceError")) else f"{name}: {text}"
