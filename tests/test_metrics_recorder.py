"""The evidence recorder's own counts on /metrics: what was dropped while the store was away, what waits, whether
the store takes writes; and the log lines that go with a drop."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from turnout.metrics import Metrics
from turnout.migration.recorder import Recorder
from turnout.migration.store import Store


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match, f"{name} not in\n{text}"
    return float(match.group(1))


def test_drops_are_exported_and_logged_and_the_store_coming_back_shows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'turnout.db'}")  # no tables yet: every write fails
    metrics = Metrics()
    recorder = Recorder(store, max_pending=5)
    metrics.watch_recorder(recorder)
    caplog.set_level(logging.INFO, "turnout.migration.recorder")
    try:

        async def run() -> tuple[str, str]:
            for i in range(8):
                recorder.fallback("m", f"Op{i}")
            assert await recorder.flush() is False
            during = metrics.render().decode()
            store.create_schema()
            assert await recorder.flush() is True
            return during, metrics.render().decode()

        during, after = asyncio.run(run())
    finally:
        store.close()
    assert _value(during, "turnout_evidence_dropped_total") == 3
    assert _value(during, "turnout_evidence_pending_rows") == 5
    assert _value(during, "turnout_evidence_max_pending_rows") == 5
    assert _value(during, "turnout_store_up") == 0
    assert _value(during, "turnout_evidence_failed_writes_total") == 1
    assert _value(after, "turnout_store_up") == 1 and _value(after, "turnout_evidence_pending_rows") == 0
    assert _value(after, "turnout_evidence_dropped_total") == 3  # a counter: what was dropped stays counted
    messages = [r.getMessage() for r in caplog.records]
    assert any("new evidence is dropped and counted" in m for m in messages)
    assert any("store writes succeed again" in m for m in messages)
    assert any("2 more records dropped (3 in all)" in m for m in messages)  # said when the store returned
