"""The ids of the evidence batches the store has taken: what makes a batch write idempotent.

A batch's id is inserted in the transaction that adds its counts, first. If that transaction fails half-way,
neither is kept and the batch is written again; if it commits but the acknowledgement is lost (the connection
drops at the wrong moment), the retry finds its id taken and adds nothing: no evidence is counted twice.
Ids are kept for `KEEP` (far longer than a gateway keeps a batch it could not write), then pruned.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

__all__ = ["KEEP", "claim", "create_table", "prune"]

KEEP = timedelta(days=2)

_metadata = sa.MetaData()
_batches = sa.Table(
    "turnout_evidence_batches",
    _metadata,
    sa.Column("batch_id", sa.String(64), primary_key=True),
    sa.Column("written_at", sa.DateTime(), nullable=False, index=True),  # naive UTC
)


def _utc_naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def create_table(engine: Engine) -> None:
    _metadata.create_all(engine, checkfirst=True)


def claim(conn: Connection, batch_id: str, at: datetime | None = None) -> bool:
    """Record `batch_id` in the caller's transaction: True the first time, False when it was written before."""
    insert = postgresql.insert(_batches) if conn.dialect.name == "postgresql" else sqlite.insert(_batches)
    row = {"batch_id": batch_id, "written_at": _utc_naive(at or datetime.now(UTC))}
    statement = insert.values(**row).on_conflict_do_nothing(index_elements=["batch_id"])
    return conn.execute(statement.returning(_batches.c.batch_id)).first() is not None


def prune(conn: Connection, now: datetime | None = None) -> int:
    """Forget the ids older than KEEP; returns how many."""
    cutoff = _utc_naive(now or datetime.now(UTC)) - KEEP
    return max(conn.execute(sa.delete(_batches).where(_batches.c.written_at < cutoff)).rowcount, 0)
