"""`turnout demo --duration`: the whole story runs on a fresh store and ends with the expected table."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
from pathlib import Path

from turnout.migration.store import Store

REPO = Path(__file__).resolve().parents[1]


def _ephemeral() -> range:
    """The ports the kernel hands out to outgoing connections (Linux: ip_local_port_range)."""
    try:
        low, high = (int(part) for part in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def _free_ports(count: int, taken: set[int] | None = None) -> int:
    """The first of `count` consecutive free ports, outside the ephemeral range: the demo's own connections to
    its subgraphs take ephemeral source ports, one of which could otherwise be a port it is about to bind."""
    ephemeral = _ephemeral()
    rng = random.Random()
    while True:
        first = rng.randrange(10000, 60000)
        ports = range(first, first + count)
        if any(p in ephemeral or p in (taken or set()) for p in ports):
            continue
        if all(_free(p) for p in ports):
            return first


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_demo_runs_its_story_and_prints_the_final_table(tmp_path: Path) -> None:
    subgraphs = _free_ports(3)
    port = _free_ports(1, set(range(subgraphs, subgraphs + 3)))
    admin = _free_ports(1, {port, *range(subgraphs, subgraphs + 3)})
    turnout = str(Path(sys.executable).parent / "turnout")
    result = subprocess.run(
        [
            turnout,
            "demo",
            "--duration",
            "0",
            "--step-seconds",
            "2",
            "--port",
            str(port),
            "--admin-port",
            str(admin),
            "--subgraph-port",
            str(subgraphs),
            "--store",
            str(tmp_path / "fresh" / "demo.db"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    final = out[out.rindex(" final ") :]
    rows = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[1:-1]]
        for line in final.splitlines()
        if line.startswith("│") and line.split("│")[1].strip()
    }
    progress, assignments = rows["progress"], rows["assignments"]
    # progress went all the way to migrated at 100%, with fallbacks recorded while its service was down
    assert progress[2:4] == [
        "removed",
        "-",
    ]  # all the way: migrated at 100%, then removed after a quiet while
    assert int(progress[9]) > 0  # fallbacks
    # the match rate the table shows is the store's, by the one definition (candidate errors are non-matches)
    with Store.open(f"sqlite:///{tmp_path / 'fresh' / 'demo.db'}") as store:
        rate = store.evidence("progress").match_rate
    assert rate is not None and progress[6] == f"{rate:.1%}"
    # assignments is held in side_by_side by its diffs
    assert assignments[2] == "side_by_side"
    # what holds assignments back, read from its row's last column (a cell wraps over several lines)
    lines = [line.split("│") for line in final.splitlines() if line.startswith("│")]
    start = next(i for i, cells in enumerate(lines) if cells[1].strip() == "assignments")
    end = next((i for i in range(start + 1, len(lines)) if lines[i][1].strip()), len(lines))
    assert "diff groups open" in " ".join(cells[-2].strip() for cells in lines[start:end])
    assert re.search(r"✔ progress: (side_by_side )?→ migrated 10%", out)
    assert "✔ progress: migrated → removed" in out  # by its evidence, not forced
    assert "✔ progress: side_by_side → migrated 10%" in out  # by its evidence (a forced move says so)
    assert "✘ assignments stays in side_by_side" in out
    assert (tmp_path / "fresh" / "demo.db").exists()
    # the story is not drowned in the log lines of the errors it provokes on purpose
    assert "returned an error" not in result.stdout + result.stderr
    assert len(result.stderr.splitlines()) < 20, result.stderr[-2000:]
