"""Child processes for the benchmarks: each in its own session, logged to a file, CPU read from /proc, always stopped;
loopback addresses only; a benchmark's run from its temporary folder to its exit status."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TypeVar

__all__ = [
    "ChildProcess",
    "ChildProcesses",
    "ProcessDied",
    "cpu_seconds",
    "find_turnout",
    "free_port",
    "host_cpu",
    "http_ready",
    "interrupt_on_signals",
    "is_loopback_url",
    "loopback_host",
    "machine_shares",
    "marks_around",
    "peak_rss_mb",
    "process_tree",
    "report_logs",
    "require_turnout",
    "run_benchmark",
    "tree_total",
    "url_host",
]

_T = TypeVar("_T")
_M = TypeVar("_M")

_TICKS = os.sysconf("SC_CLK_TCK")


class ProcessDied(RuntimeError):
    """A child process ended while it should have been serving (the message has its log's tail)."""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process ``pid`` has used so far (its threads included), from /proc."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / _TICKS


def peak_rss_mb(pid: int) -> float:
    """The largest resident set process ``pid`` has had so far (VmHWM), in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0  # kB
    return float("nan")


def host_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already counted in user)
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    total = sum(values[:8])
    return (total - idle) / _TICKS, total / _TICKS


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process below it (the workers of `turnout serve --workers N`, say), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def tree_total(pid: int, read: Callable[[int], float]) -> float:
    """The sum of ``read(pid)`` (`cpu_seconds`, `peak_rss_mb`) over ``pid`` and every process below it; a process
    that is gone by the time it is read counts nothing."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError):
            total += read(member)
    return total


def machine_shares(start: tuple[float, float], stop: tuple[float, float], ours: float) -> tuple[float, float]:
    """Between two `host_cpu` readings: the share of the whole machine (all cores, 0..1) that was busy, and the
    share busy with processes other than the benchmark's (``ours``: the CPU seconds those used meanwhile)."""
    machine = max(stop[1] - start[1], 1e-9)
    busy = stop[0] - start[0]
    return busy / machine, max(0.0, busy - ours) / machine


async def marks_around(
    load: Callable[[], Awaitable[_T]], t0: float, t1: float, mark: Callable[[], _M]
) -> tuple[_T, _M, _M]:
    """Await ``load()`` while taking ``mark()`` (CPU seconds so far, say) at `time.perf_counter` times ``t0``
    and ``t1``, the measured window: the load's result, the first mark and the last. The marking is cancelled
    when the load fails."""

    async def window() -> tuple[_M, _M]:
        await asyncio.sleep(max(0.0, t0 - time.perf_counter()))
        first = mark()
        await asyncio.sleep(max(0.0, t1 - time.perf_counter()))
        return first, mark()

    marking = asyncio.create_task(window())
    try:
        result = await load()
        first, last = await marking
    except BaseException:
        marking.cancel()
        raise
    return result, first, last


def loopback_host(host: str) -> str:
    """``host`` when it is a loopback address (or localhost): an argparse type, everything here binds loopback."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise argparse.ArgumentTypeError(
            f"{host!r} is not a loopback address: everything here binds loopback only"
        )
    return host


def is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    try:
        loopback_host(host)
    except argparse.ArgumentTypeError:
        return False
    return True


def url_host(host: str) -> str:
    """``host`` as it stands in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host else host


def find_turnout() -> str | None:
    """The turnout command next to this Python (the project's .venv), else the one on PATH."""
    return shutil.which("turnout", path=str(Path(sys.executable).parent)) or shutil.which("turnout")


def require_turnout() -> str:
    turnout = find_turnout()
    if turnout is None:
        raise RuntimeError("the turnout command was not found next to this Python nor on PATH")
    return turnout


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it; the caller binds it soon after)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def http_ready(url: str, *, body: bytes | None = None, timeout: float = 2.0) -> bool:
    """True when ``url`` answers HTTP 200 (a POST of JSON ``body`` when given, else a GET)."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST" if body is not None else "GET",
        headers={"content-type": "application/json"} if body is not None else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class ChildProcess:
    """One started process: its name, its Popen and the file its stdout and stderr go to."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if not self.alive():
            raise ProcessDied(
                f"{self.name} (pid {self.pid}) exited with {self.popen.returncode}; "
                f"the end of {self.log_path}:\n{self.log_tail()}"
            )


class ChildProcesses:
    """The processes a benchmark starts; `stop_all` (also on leaving the `with` block, errors and Ctrl-C
    included) ends each of them by its pid: SIGTERM, then SIGKILL after `grace` seconds."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[ChildProcess] = []

    def start(
        self, name: str, argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
    ) -> ChildProcess:
        log_path = self.log_dir / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - closed in stop_all
        try:
            # a session of its own: a Ctrl-C in the terminal reaches only us, and we stop the children in order
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            log.close()
            raise
        child = ChildProcess(name, popen, log_path, log)
        self.children.append(child)
        return child

    def wait_ready(self, child: ChildProcess, ready: Callable[[], bool], *, timeout: float = 30.0) -> None:
        """Poll `ready` until it is true; ProcessDied if the child exits first, TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            child.check_alive()
            if ready():
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{child.name} was not ready after {timeout:g}s; the end of {child.log_path}:\n"
                    f"{child.log_tail()}"
                )
            time.sleep(0.1)

    def stop(self, child: ChildProcess, grace: float = 10.0) -> int | None:
        """SIGTERM (a graceful shutdown: the gateway flushes its evidence), SIGKILL after `grace` seconds."""
        if child.alive():
            with contextlib.suppress(ProcessLookupError):
                child.popen.send_signal(signal.SIGTERM)
            try:
                child.popen.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    child.popen.kill()
                child.popen.wait(5)
        child._log.close()
        return child.popen.returncode

    def stop_all(self, grace: float = 10.0) -> None:
        """Stop every child still running, the last started first."""
        for child in reversed(self.children):
            # a second Ctrl-C during shutdown must not leave the others running
            with contextlib.suppress(KeyboardInterrupt):
                self.stop(child, grace)

    def __enter__(self) -> ChildProcesses:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop_all()


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so `finally` blocks run (SIGINT
    too when it was ignored, as in a job started with `&` by a non-interactive shell)."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    for sig in previous:
        signal.signal(sig, signal.default_int_handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def report_logs(
    procs: ChildProcesses, notable: re.Pattern[str], *, name_width: int = 12, count_distinct: bool = True
) -> None:
    """Each child's exit code and count of log lines ``notable`` finds (tracebacks, errors, warnings), with the
    first few distinct ones."""
    print("\nlogs:")
    for child in procs.children:
        try:
            lines = child.log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        found = [line for line in lines if notable.search(line)]
        distinct = list(dict.fromkeys(line.strip()[:200] for line in found))
        print(
            f"  {child.name:<{name_width}} exit {child.popen.returncode}, {len(lines)} lines, {len(found)} notable"
            + (f" ({len(distinct)} distinct)" if found and count_distinct else "")
        )
        for line in distinct[:4]:
            print(f"      {line}")


def run_benchmark(
    prefix: str,
    run: Callable[[Path, ChildProcesses], None],
    partial: Callable[[], None],
    *,
    keep: bool,
    kept: str,
    errors: tuple[type[Exception], ...] = (),
    after_stop: Callable[[ChildProcesses], None] | None = None,
) -> int:
    """``run(tmp, procs)`` in a new temporary folder (its name starting with ``prefix``) with the children it
    starts, and the exit status: 0; 130 when interrupted (Ctrl-C, SIGTERM, SIGHUP), 1 on an error (a child
    died or was not ready, RuntimeError, OSError, ``errors``), each then printing ``partial()`` (the results so
    far). Every child is stopped at the end (then ``after_stop(procs)``); the folder is removed unless ``keep``
    or on an error (then: "``kept`` are in TMP")."""
    caught: tuple[type[Exception], ...] = (ProcessDied, TimeoutError, RuntimeError, OSError, *errors)
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    status = 0
    procs = ChildProcesses(tmp)
    try:
        with interrupt_on_signals():
            try:
                run(tmp, procs)
            except KeyboardInterrupt:
                print("\ninterrupted: stopping every process", file=sys.stderr)
                partial()
                status = 130
            finally:
                procs.stop_all()
                if after_stop is not None:
                    after_stop(procs)
    except caught as error:
        print(f"bench: {type(error).__name__}: {error}", file=sys.stderr)
        partial()
        status = 1
    finally:
        if keep or status == 1:
            print(f"{kept} are in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status
