"""Configuration changes without a restart: the config file re-read on SIGHUP and when it changes.

What a running gateway can take at once (the migrations — added, removed, their rules, sampling and gates —,
the subgraphs' settings, timeouts, limits, CSRF, cohort, shadow queue, refresh interval) is applied like a new
supergraph: a new gateway is built from the new configuration and the current supergraph, started, and swapped
in atomically (requests running finish on the old one). The file is validated first, in full: one that cannot
be read, parsed, validated or assembled against the supergraph is refused and logged with the reason, and the
running configuration stays. Settings that only a restart can change (listeners, store, metrics, tracing,
logging, the supergraph's location, reload interval) keep their running values, and the log says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .assembly import AssemblyError, Services, build_gateway
from .config import Config, ConfigError, load_config
from .reload import SourceError, SupergraphReloader, SupergraphSource
from .supergraph.join_spec import read_supergraph

__all__ = ["RESTART_ONLY", "ConfigReloader"]

log = logging.getLogger("turnout.reload")

RESTART_ONLY = (
    "supergraph",
    "server",
    "admin",
    "store",
    "metrics",
    "tracing",
    "log_level",
    "log_format",
    "reload_interval",
)
"""Top-level settings a running process keeps until it restarts."""


class ConfigReloader:
    """Re-reads `path` on SIGHUP and, every `interval` seconds (0: never), when its content changed; applies
    what it may through `supergraph` (the reloader that owns the gateway swaps). `current` is the configuration
    in force; the supergraph reloader's builds read it, so a later supergraph change keeps the new settings."""

    def __init__(
        self,
        path: Path,
        current: Config,
        supergraph: SupergraphReloader,
        services: Services,
        *,
        overrides: Mapping[tuple[str, ...], Any] | None = None,
        interval: float = 10.0,
    ) -> None:
        self.path = path
        self.current = current
        self.supergraph = supergraph
        self.services = services
        self.overrides = dict(overrides or {})
        self.interval = interval
        self.reloads = 0
        self.refused = 0
        self._source = SupergraphSource(str(path))
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._signal_tasks: set[asyncio.Task[bool]] = set()
        self._hup = False

    async def start(self) -> None:
        with contextlib.suppress(SourceError):
            await asyncio.to_thread(self._source.read)  # what is in force now: only a change is news
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
            self._hup = True
        except (
            NotImplementedError,
            RuntimeError,
            ValueError,
            AttributeError,
        ):  # not the main thread, Windows
            log.debug("SIGHUP cannot be handled here; the config file is polled only")
        if self.interval > 0:
            self._task = asyncio.create_task(self._poll(), name="turnout-config-reload")

    async def stop(self) -> None:
        if self._hup:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._hup = False
        tasks = [t for t in (self._task, *self._signal_tasks) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _on_sighup(self) -> None:
        task = asyncio.create_task(self._reload_safely("SIGHUP"), name="turnout-config-sighup")
        self._signal_tasks.add(task)
        task.add_done_callback(self._signal_tasks.discard)

    async def _reload_safely(self, why: str) -> bool:
        try:
            return await self.reload(why)
        except Exception:
            log.exception("config reload (%s) failed; the running config stays", why)
            return False

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the poller die
                log.exception("config reload failed; the running config stays")

    async def check(self) -> bool:
        """One poll: True when a changed file was applied."""
        try:
            changed = await asyncio.to_thread(self._source.changed)
        except SourceError:
            return False  # reload() says why, when it is asked to
        return changed is not None and await self.reload("file changed")

    async def reload(self, why: str) -> bool:
        """Read, validate and apply the file; False (logged) when it is refused or changes nothing."""
        async with self._lock:
            try:
                fresh = await asyncio.to_thread(load_config, self.path, overrides=self.overrides)
            except ConfigError as error:
                return self._refuse(why, str(error))
            kept = [key for key in RESTART_ONLY if getattr(fresh, key) != getattr(self.current, key)]
            if kept:
                log.warning(
                    "config %s (%s): %s changed; that takes a restart, the running values stay",
                    self.path,
                    why,
                    ", ".join(kept),
                )
                fresh = fresh.model_copy(update={key: getattr(self.current, key) for key in kept})
            if fresh == self.current:
                log.info("config %s (%s): nothing to apply", self.path, why)
                return False
            if fresh.migrations and (self.services.store is None or self.services.recorder is None):
                return self._refuse(
                    why,
                    "migrations need the store, which this process did not open (it started "
                    "without migrations nor store.url): restart it to add the first one",
                )
            text = self.supergraph.text
            if text is None:
                return self._refuse(why, "no supergraph is being served yet")
            try:
                gateway = await asyncio.to_thread(self._build, fresh, text.text)
            except Exception as error:  # AssemblyError: the migrations do not fit the supergraph...
                reason = (
                    str(error) if isinstance(error, AssemblyError) else f"{type(error).__name__}: {error}"
                )
                return self._refuse(why, reason)
            if not await self.supergraph.install(gateway, text.version, f"config {self.path}"):
                self.refused += 1
                return False
            before = {m.name for m in self.current.migrations}
            after = {m.name for m in fresh.migrations}
            self.current = fresh
            self.reloads += 1
            log.info(
                "now serving config %s (%s): migrations %s (added %s, removed %s)",
                self.path,
                why,
                ", ".join(sorted(after)) or "none",
                ", ".join(sorted(after - before)) or "none",
                ", ".join(sorted(before - after)) or "none",
            )
            return True

    def _build(self, cfg: Config, text: str) -> Any:
        gateway = build_gateway(cfg, read_supergraph(text), self.services)
        gateway.prepare("{ __typename }")
        return gateway

    def _refuse(self, why: str, reason: str) -> bool:
        self.refused += 1
        log.error("refused config %s (%s): %s; the running config stays", self.path, why, reason)
        return False
