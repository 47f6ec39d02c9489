"""Child processes for the benchmarks: each in its own session, logged to a file, CPU read from /proc, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = [
    "ChildProcess",
    "ChildProcesses",
    "ProcessDied",
    "cpu_seconds",
    "free_port",
    "host_cpu",
    "http_ready",
    "interrupt_on_signals",
    "peak_rss_mb",
]

_TICKS = os.sysconf("SC_CLK_TCK")


class ProcessDied(RuntimeError):
    """A child process ended while it should have been serving (the message has its log's tail)."""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds process ``pid`` has used so far (its threads included), from /proc."""
    text = Path(f"/proc/{pid}/stat").read_text()
    # the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    fields = text[text.rindex(")") + 2:].split()
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


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it; the caller binds it soon after)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def http_ready(url: str, *, body: bytes | None = None, timeout: float = 2.0) -> bool:
    """True when ``url`` answers HTTP 200 (a POST of JSON ``body`` when given, else a GET)."""
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET",
                                     headers={"content-type": "application/json"} if body is not None else {})
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
            raise ProcessDied(f"{self.name} (pid {self.pid}) exited with {self.popen.returncode}; "
                              f"the end of {self.log_path}:\n{self.log_tail()}")


class ChildProcesses:
    """The processes a benchmark starts; `stop_all` (also on leaving the `with` block, errors and Ctrl-C
    included) ends each of them by its pid: SIGTERM, then SIGKILL after `grace` seconds."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[ChildProcess] = []

    def start(self, name: str, argv: Sequence[str], *, cwd: Path | None = None,
              env: Mapping[str, str] | None = None) -> ChildProcess:
        log_path = self.log_dir / f"{name}.log"
        log = open(log_path, "ab")  # noqa: SIM115 - closed in stop_all
        try:
            # a session of its own: a Ctrl-C in the terminal reaches only us, and we stop the children in order
            popen = subprocess.Popen(list(argv), cwd=cwd, env=dict(env) if env is not None else None,
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
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
                raise TimeoutError(f"{child.name} was not ready after {timeout:g}s; the end of {child.log_path}:\n"
                                   f"{child.log_tail()}")
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

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
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
