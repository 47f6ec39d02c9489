"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) while `turnout demo` runs.

It also takes the screenshot the README shows (docs/dashboard.png).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = REPO / "docs" / "dashboard.png"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


TOKEN = "browser-test-admin-token"


def _document(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/migrations/api", timeout=5) as response:
            parsed: dict[str, Any] = orjson.loads(response.read())
            return parsed
    except OSError:
        return None


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[int]:
    """`turnout demo` in its own process, until the story has moved `progress` and found diffs in `assignments`."""
    subgraph_port = _free_port()
    while any(_port_taken(subgraph_port + i) for i in range(3)):
        subgraph_port = _free_port()
    port, admin_port = _free_port(), _free_port()
    # neither may be one of the subgraphs' three (free now, taken once the demo starts them)
    while len({port, admin_port} | set(range(subgraph_port, subgraph_port + 3))) < 5:
        port, admin_port = _free_port(), _free_port()
    command = [
        str(Path(sys.executable).parent / "turnout"),
        "demo",
        "--port",
        str(port),
        "--admin-port",
        str(admin_port),
        "--admin-token",
        TOKEN,
        "--subgraph-port",
        str(subgraph_port),
        "--step-seconds",
        "2",
        "--duration",
        "120",
        "--store",
        str(tmp_path / "demo.db"),
    ]
    log = (tmp_path / "demo.log").open("wb")
    process = subprocess.Popen(
        command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "160"}
    )
    try:

        def at_fallback() -> bool:
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            document = _document(admin_port)
            rows = {row["name"]: row for row in (document or {}).get("migrations", [])}
            return bool(
                rows and rows["progress"]["evidence"]["fallbacks"] > 0 and rows["assignments"]["diff_groups"]
            )

        wait_until(at_fallback, 240, interval=0.5, describe="the demo never reached its fallback step")
        yield admin_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(360)
def test_dashboard_shows_the_migrations_and_acknowledges_a_diff_group(demo: int, tmp_path: Path) -> None:
    """`demo` is the admin port: the dashboard is not on the GraphQL port. The screenshot goes to the test's
    own folder (TURNOUT_UPDATE_SCREENSHOT=1 writes docs/dashboard.png, the README's picture, instead)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{demo}/migrations/")
            # the inventory: one row per migration, with its stage
            rows = page.locator("#inventory tbody tr")
            assert rows.count() == 2
            stages = {
                rows.nth(i).get_attribute("data-migration"): rows.nth(i).locator(".stage").inner_text()
                for i in range(2)
            }
            assert stages["assignments"] == "side_by_side"
            assert stages["progress"] in ("migrated", "removed")  # the story moves it on after a quiet while

            # the rate shown is the JSON document's (one definition, computed in one place); read before and
            # after the page, the demo's traffic going on meanwhile
            def rate() -> str:
                document = _document(demo)
                assert document is not None
                row = next(r for r in document["migrations"] if r["name"] == "progress")
                return f"{row['evidence']['match_rate']:.1%}"

            before = rate()
            page.reload()
            shown = page.locator('#inventory tr[data-migration="progress"] .rate').inner_text()
            assert shown in (before, rate())
            # the charts: match rate and latency over time, drawn
            section = page.locator("#m-assignments")
            # held in side_by_side: what blocks it, and from when the gates judge the evidence
            assert "diff groups open" in section.locator(".blockers").inner_text()
            assert (
                section.locator(".gate-since").inner_text().startswith("the gates judge the evidence since ")
            )
            assert section.locator('[data-chart="match-rate"] polyline').count() == 1
            assert section.locator('[data-chart="latency"] polyline').count() == 2
            # a diff view: the timezone bug, old and new side by side
            dates = section.locator(
                ".diff-group", has=page.locator("code", has_text="Assignment.createdDate")
            )
            assert dates.count() >= 1
            old = dates.first.locator("td.old").first.inner_text()
            new = dates.first.locator("td.new").first.inner_text()
            assert old != new and old[:10] == new[:10]  # same day, another hour
            shot = SCREENSHOT if os.environ.get("TURNOUT_UPDATE_SCREENSHOT") else tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=False)
            # acknowledge it: it stops counting as open
            signature = dates.first.get_attribute("data-signature")
            form = dates.first.locator("form.ack")
            form.locator("input[name=reason]").fill("known DST bug, fix scheduled")
            page.once("dialog", lambda dialog: dialog.accept(TOKEN))  # the page asks for the admin token
            with page.expect_navigation():
                form.locator("button").click()
            acknowledged = page.locator(f'.diff-group[data-signature="{signature}"]')
            assert "acknowledged until" in acknowledged.inner_text()
            assert "known DST bug" in acknowledged.inner_text()
            # a stage move from the page goes through the gate: assignments still has open groups, so the
            # page says why it was not moved (the token is remembered from the acknowledgement)
            move = page.locator("#m-assignments form.move")
            move.locator("select[name=to]").select_option("migrated")
            move.locator("input[name=reason]").fill("try it")
            said: list[str] = []

            def accept(dialog: Any) -> None:
                said.append(dialog.message)
                dialog.accept()

            page.once("dialog", accept)
            move.locator("button").click()
            page.wait_for_timeout(1000)
            assert said and said[0].startswith("Not moved:"), said
        finally:
            browser.close()
    document = _document(demo)
    assert document is not None
    group = next(
        g for row in document["migrations"] for g in row["diff_groups"] if g["signature"] == signature
    )
    assert group["acknowledged_reason"] == "known DST bug, fix scheduled"
    assert group["acknowledged_by"] == "demo"  # the token's holder
