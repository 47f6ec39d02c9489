"""The batched evidence recorder, writing to real databases (SQLite file; PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from support.clock import FakeClock
from support.waiting import eventually
from turnout.migration.evidence import EvidenceBatch, canonical_json, diff_signature
from turnout.migration.memory_store import MemoryStore
from turnout.migration.model import Difference
from turnout.migration.recorder import Recorder
from turnout.migration.store import Store

PG_DSN = os.environ.get("TURNOUT_TEST_POSTGRES_DSN")
NOW = datetime.now(UTC)

EMAIL = "ada.lovelace@example.com"
BEARER = "Bearer Zq9xk2LmPq8Rt7Vw"
TOKEN = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9XKq"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
SECRETS = (EMAIL, "Zq9xk2LmPq8Rt7Vw", TOKEN, JWT.split(".")[1], JWT.split(".")[2])


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL of its own: a new SQLite file, or a fresh PostgreSQL schema (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'turnout.db'}"
        return
    if not PG_DSN:
        pytest.skip("TURNOUT_TEST_POSTGRES_DSN is not set")
    base = make_url(PG_DSN)
    if base.drivername in ("postgres", "postgresql"):
        base = base.set(drivername="postgresql+psycopg")
    schema = f"turnout_test_{uuid.uuid4().hex}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    opened.create_schema()
    yield opened
    opened.close()


def diff(
    coordinate: str = "User.email", primary: object = 1, candidate: object = 2, kind: str = "value"
) -> Difference:
    return Difference(
        path=("user", 0, coordinate.split(".")[-1]),
        coordinate=coordinate,
        kind=kind,
        primary=primary,
        candidate=candidate,
    )


def everything_stored(store: Store) -> str:
    """Every value of every table in the store's database, as one text."""
    metadata = sa.MetaData()
    metadata.reflect(store.engine)
    assert "turnout_diff_samples" in metadata.tables
    parts: list[str] = []
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_flush_writes_the_pending_batch(store: Store) -> None:
    recorder = Recorder(store)

    async def run() -> bool:
        for i in range(10):
            recorder.comparison(
                "m", "GetUser", "match" if i else "mismatch", [] if i else [diff()], set(), at=NOW
            )
        recorder.comparison("m", "ListUsers", "error", [], set(), at=NOW)
        recorder.latency("m", "from", 4.0, at=NOW)
        recorder.latency("m", "to", 6.0, at=NOW)
        recorder.fallback("m", "GetUser", at=NOW)
        recorder.shadow_dropped("m", at=NOW)
        assert store.evidence("m").comparisons == 0  # nothing written before the flush
        assert recorder.pending > 0
        return await recorder.flush()

    assert asyncio.run(run()) is True
    assert recorder.pending == 0
    evidence = store.evidence("m")
    assert (evidence.comparisons, evidence.matches, evidence.mismatches, evidence.errors) == (11, 9, 1, 1)
    assert evidence.operations == 2
    assert (evidence.fallbacks, evidence.last_fallback, evidence.shadow_dropped) == (1, NOW, 1)
    assert evidence.latency_from_ms[0] is not None and evidence.latency_to_ms[0] is not None
    assert evidence.open_diff_groups == 1
    [group] = store.diff_groups("m")
    assert group.signature == diff_signature("m", "User.email", "GetUser", "value")
    assert group.signature == hashlib.sha256(b"m|User.email|GetUser|value").hexdigest()
    assert group.samples[0].path == "user.0.email"


def test_the_background_task_flushes_every_interval_and_close_flushes_the_rest(store: Store) -> None:
    clock = FakeClock()
    recorder = Recorder(store, flush_interval=5.0, clock=clock)

    async def run() -> None:
        await recorder.start()
        await recorder.start()  # a second start is harmless
        recorder.comparison("m", "A", "match", [], set())
        await eventually(lambda: clock.sleeping == 1, 5, describe="the background task never waited")
        clock.advance(4.9)  # not yet an interval: the task still sleeps, nothing written
        assert (clock.sleeping, recorder.pending, store.evidence("m").comparisons) == (1, 1, 0)
        clock.advance(0.1)
        await eventually(lambda: recorder.pending == 0, 5, describe="no flush after an interval")
        assert store.evidence("m").comparisons == 1
        recorder.comparison("m", "A", "match", [], set())
        await recorder.close()

    asyncio.run(run())
    assert store.evidence("m").comparisons == 2


def test_close_flushes_what_is_pending(store: Store) -> None:
    recorder = Recorder(store, flush_interval=3600)

    async def run() -> None:
        await recorder.start()
        for _ in range(5):
            recorder.fallback("m", "A")
        await recorder.close()

    asyncio.run(run())
    assert store.evidence("m").fallbacks == 5


def test_groups_count_comparisons_and_mark_noise(store: Store) -> None:
    recorder = Recorder(store)
    for _ in range(3):
        differences = [diff("User.email"), diff("User.email"), diff("User.lastSeen")]
        recorder.comparison("m", "GetUser", "mismatch", differences, {"User.lastSeen"}, at=NOW)
    assert asyncio.run(recorder.flush())
    groups = {g.coordinate: g for g in store.diff_groups("m")}
    assert groups["User.email"].count == 3  # once per comparison, not per difference
    assert groups["User.email"].noise is False
    assert groups["User.lastSeen"].noise is True
    assert store.evidence("m").open_diff_groups == 1


def test_samples_are_redacted_by_default(store: Store) -> None:
    recorder = Recorder(store)
    long_value = {"bio": "x" * 200, "tags": ["a", "b"]}
    recorder.comparison(
        "m",
        "GetUser",
        "mismatch",
        [
            diff("User.email", primary=EMAIL, candidate=EMAIL.upper()),
            diff("User.session", primary={"auth": BEARER, "key": TOKEN}, candidate={"jwt": JWT}),
            diff("User.profile", primary=long_value, candidate=None),
        ],
        set(),
        at=NOW,
    )
    assert asyncio.run(recorder.flush())

    stored = everything_stored(store)
    for secret in SECRETS:
        assert secret not in stored
        assert secret.upper() not in stored
    samples = {g.coordinate: g.samples[0] for g in store.diff_groups("m")}
    assert samples["User.email"].primary == '"[redacted]"'
    assert samples["User.email"].primary_hash == hashlib.sha256(json.dumps(EMAIL).encode()).hexdigest()
    profile = samples["User.profile"]
    assert profile.primary == canonical_json(long_value)[:60] + "…"
    assert profile.primary_hash == hashlib.sha256(canonical_json(long_value).encode()).hexdigest()
    assert profile.candidate == "null"
    assert canonical_json({"b": 1, "a": [1, 2]}) == '{"a":[1,2],"b":1}'


def test_full_values_are_kept_but_still_redacted(store_url: str) -> None:
    store = Store.open(store_url)
    try:
        store.create_schema()
        recorder = Recorder(store, full_values=True)
        value = {"bio": "y" * 200, "contact": f"write to {EMAIL}", "auth": BEARER}
        recorder.comparison(
            "m", "GetUser", "mismatch", [diff("User.profile", primary=value, candidate=TOKEN)], set(), at=NOW
        )
        assert asyncio.run(recorder.flush())
        [group] = store.diff_groups("m")
        [sample] = group.samples
        assert json.loads(sample.primary) == {
            "bio": "y" * 200,
            "contact": "write to [redacted]",
            "auth": "[redacted]",
        }
        assert sample.candidate == '"[redacted]"'
        stored = everything_stored(store)
        assert "y" * 200 in stored
        for secret in SECRETS:
            assert secret not in stored
    finally:
        store.close()


def test_redaction_reaches_the_sqlite_file_itself(tmp_path: Path) -> None:
    path = tmp_path / "raw.db"
    store = Store.open(f"sqlite:///{path}")
    try:
        store.create_schema()
        recorder = Recorder(store, full_values=True)
        recorder.comparison(
            "m", "Op", "mismatch", [diff(primary=EMAIL, candidate=f"{BEARER} {TOKEN} {JWT}")], set()
        )
        assert asyncio.run(recorder.flush())
    finally:
        store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("raw.db"))
    assert b"[redacted]" in raw
    for secret in SECRETS:
        assert secret.encode() not in raw


def test_configured_redact_patterns_replace_the_defaults(store: Store) -> None:
    recorder = Recorder(store, full_values=True, redact_patterns=[r"\b\d{3}-\d{2}-\d{4}\b"])
    recorder.comparison(
        "m", "Op", "mismatch", [diff(primary="ssn 123-45-6789", candidate=EMAIL)], set(), at=NOW
    )
    assert asyncio.run(recorder.flush())
    [sample] = store.diff_groups("m")[0].samples
    assert sample.primary == '"ssn [redacted]"'
    assert sample.candidate == json.dumps(EMAIL)


def test_samples_are_bounded_per_group_and_hour(store_url: str) -> None:
    store = Store.open(store_url, samples_per_hour=4)
    try:
        store.create_schema()
        recorder = Recorder(store)

        async def run() -> None:
            for batch in range(3):
                for i in range(7):
                    recorder.comparison(
                        "m", "Op", "mismatch", [diff(primary=batch, candidate=i)], set(), at=NOW
                    )
                assert await recorder.flush()
            for i in range(2):
                recorder.comparison(
                    "m", "Op", "mismatch", [diff(primary=9, candidate=i)], set(), at=NOW + timedelta(hours=1)
                )
            assert await recorder.flush()

        asyncio.run(run())
        [group] = store.diff_groups("m", samples_per_group=100)
        assert group.count == 23
        assert len(group.samples) == 6  # 4 in the first hour, 2 in the next
    finally:
        store.close()


def test_a_store_failure_keeps_the_batch_for_the_next_flush(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store.open(store_url)  # no schema yet: every write fails
    try:
        recorder = Recorder(store)

        async def run() -> None:
            recorder.comparison("m", "Op", "mismatch", [diff()], set(), at=NOW)
            recorder.latency("m", "to", 3.0, at=NOW)
            assert await recorder.flush() is False
            recorder.comparison("m", "Op", "match", [], set(), at=NOW)
            recorder.fallback("m", "Op", at=NOW)
            assert await recorder.flush() is False
            assert recorder.failed_flushes == 2
            store.create_schema()
            assert await recorder.flush() is True
            assert recorder.pending == 0

        asyncio.run(run())
        evidence = store.evidence("m")
        assert (evidence.comparisons, evidence.matches, evidence.mismatches, evidence.fallbacks) == (
            2,
            1,
            1,
            1,
        )
        assert evidence.latency_to_ms[0] is not None
        [group] = store.diff_groups("m")
        assert (group.count, len(group.samples)) == (1, 1)
        assert "store write failed" in caplog.text
    finally:
        store.close()


def test_a_full_recorder_drops_and_counts_new_records_without_blocking(store_url: str) -> None:
    store = Store.open(store_url)  # failing store: nothing leaves the recorder
    try:
        recorder = Recorder(store, max_pending=5)

        async def run() -> None:
            for i in range(20):
                recorder.fallback("m", f"Op{i}", at=NOW)
            assert recorder.pending == 5
            assert recorder.dropped == 15
            assert await recorder.flush() is False
            assert recorder.pending == 5
            recorder.shadow_dropped("m", at=NOW)
            assert recorder.dropped == 16
            store.create_schema()
            assert await recorder.flush() is True
            recorder.shadow_dropped("m", at=NOW)
            assert await recorder.flush() is True

        asyncio.run(run())
        evidence = store.evidence("m")
        assert (evidence.fallbacks, evidence.shadow_dropped) == (5, 1)
    finally:
        store.close()


def test_a_failed_batch_is_kept_whole_and_new_records_wait_within_the_bound(store_url: str) -> None:
    store = Store.open(store_url)  # failing store
    try:
        recorder = Recorder(store, max_pending=10)

        async def run() -> None:
            for i in range(3):
                recorder.comparison("m", f"Op{i}", "mismatch", [diff()], set(), at=NOW)  # 3 rows each
            assert recorder.pending == 9
            flushing = asyncio.create_task(recorder.flush())
            await asyncio.sleep(0)  # the batch is taken; records keep coming while the write fails
            for i in range(3, 6):
                recorder.comparison("m", f"Op{i}", "mismatch", [diff()], set(), at=NOW)
            assert await flushing is False
            assert recorder.failing and recorder.dropping
            assert recorder.pending == 12  # 9 unwritten, then one more comparison; two dropped
            assert recorder.dropped == 2
            store.create_schema()
            assert await recorder.flush() is True  # the unwritten batch, then the pending one
            assert recorder.pending == 0 and not recorder.failing

        asyncio.run(run())
        evidence = store.evidence("m")
        assert (evidence.comparisons, evidence.mismatches, evidence.operations) == (4, 4, 4)
        assert sum(g.count for g in store.diff_groups("m")) == 4
    finally:
        store.close()


class _LostAcknowledgement(Store):
    """A real store whose first `lost` writes commit, then fail as if the connection dropped before the
    acknowledgement arrived."""

    lost = 1

    def write(self, batch: EvidenceBatch, batch_id: str | None = None) -> bool:
        written = super().write(batch, batch_id)
        if self.lost > 0:
            self.lost -= 1
            raise ConnectionResetError("server closed the connection unexpectedly")
        return written


def test_a_batch_whose_acknowledgement_was_lost_is_not_counted_twice(store_url: str) -> None:
    store = _LostAcknowledgement(Store.open(store_url).engine)
    store.create_schema()
    try:
        recorder = Recorder(store)

        async def run() -> None:
            recorder.comparison("m", "Op", "mismatch", [diff()], set(), at=NOW)
            recorder.fallback("m", "Op", at=NOW)
            assert await recorder.flush() is False  # committed, but the recorder cannot know
            recorder.comparison("m", "Op", "match", [], set(), at=NOW)
            assert (
                await recorder.flush() is True
            )  # the same batch again (refused as a duplicate), then the new
            assert recorder.duplicates == 1

        asyncio.run(run())
        evidence = store.evidence("m")
        assert (evidence.comparisons, evidence.mismatches, evidence.fallbacks) == (2, 1, 1)
        [group] = store.diff_groups("m")
        assert (group.count, len(group.samples)) == (1, 1)
    finally:
        store.close()


def test_a_transaction_failing_half_way_adds_nothing_and_is_written_once_later(store_url: str) -> None:
    store = Store.open(store_url)
    store.create_schema()
    with (
        store.engine.begin() as conn
    ):  # the last table a batch writes to: the counters before it are rolled back
        conn.exec_driver_sql("DROP TABLE turnout_diff_samples")
    try:
        recorder = Recorder(store)

        async def run() -> None:
            recorder.comparison("m", "Op", "mismatch", [diff()], set(), at=NOW)
            assert await recorder.flush() is False
            assert store.evidence("m").comparisons == 0
            store.create_schema()
            assert await recorder.flush() is True
            assert await recorder.flush() is True

        asyncio.run(run())
        evidence = store.evidence("m")
        assert (evidence.comparisons, evidence.mismatches) == (1, 1)
        assert recorder.duplicates == 0
    finally:
        store.close()


def test_bad_arguments_are_refused_and_odd_latencies_ignored(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        recorder = Recorder(store)
        with pytest.raises(ValueError):
            recorder.latency("m", "sideways", 3.0)
        with pytest.raises(ValueError):
            recorder.comparison("m", "Op", "maybe", [], set())  # type: ignore[arg-type]
        recorder.latency("m", "from", float("nan"))
        recorder.latency("m", "from", float("inf"))
        assert recorder.pending == 0
        with pytest.raises(ValueError):
            Recorder(store, flush_interval=0)
    finally:
        store.close()


class _Away(MemoryStore):
    """A store that does not answer."""

    def write(self, batch: EvidenceBatch, batch_id: str | None = None) -> bool:
        raise ConnectionError("the store is away")


def test_drops_are_summed_in_the_log_at_most_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    recorder = Recorder(_Away(), max_pending=1, clock=clock)
    caplog.set_level(logging.WARNING, "turnout.migration.recorder")

    async def run() -> None:
        for i in range(4):  # 1 row pending, 3 dropped: the first drop is said at once
            recorder.fallback("m", f"Op{i}", at=NOW)
        assert await recorder.flush() is False  # the other 2: not yet a minute since
        clock.advance(59.9)
        assert await recorder.flush() is False
        clock.advance(0.2)
        assert await recorder.flush() is False  # past a minute: said
        recorder.fallback("m", "Op4", at=NOW)
        assert await recorder.flush() is False  # just said: waits for the next minute

    asyncio.run(run())
    assert recorder.dropped == 4
    messages = [r.getMessage() for r in caplog.records]
    assert sum("new evidence is dropped and counted" in m for m in messages) == 1
    assert [m for m in messages if "more records dropped" in m] == [
        "evidence recorder: 2 more records dropped (3 in all) while 1 rows waited for the store"
    ]
