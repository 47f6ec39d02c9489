"""The store's database engine: SQLite (one file, WAL, transactions begun by us) or PostgreSQL (bounded waits).

A PostgreSQL that cannot be reached must not hold a gateway's store calls for minutes: connecting gives up after
`connect_timeout` seconds (unless the URL sets its own), and TCP keepalives and a user timeout notice a peer that
vanished under an open connection, so a write fails, its batch is kept, and the next flush tries again. A server
that accepts and then answers nothing (hung, not gone) holds the write until it answers: the request path never
waits for it, evidence keeps accumulating within `store.max_pending`, and the write completes (once) after.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

__all__ = ["CONNECT_TIMEOUT", "POOL_SIZE", "create_store_engine"]

CONNECT_TIMEOUT = 5  # seconds, PostgreSQL
POOL_SIZE = 5  # connections kept per process (and as many more at a peak); docs/deploy.md counts them
_KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}  # ms data may stay unacknowledged before the connection is dropped


def _json_dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def create_store_engine(url: str, *, busy_timeout: float = 5.0) -> Engine:
    """An Engine for `sqlite:///path/file.db` (file and directories created) or `postgresql+psycopg://...`."""
    parsed = make_url(url)
    if parsed.drivername.startswith("postgres"):
        if parsed.drivername in ("postgres", "postgresql"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        given = set(parsed.query)
        connect_args = {
            k: v for k, v in {"connect_timeout": CONNECT_TIMEOUT, **_KEEPALIVE}.items() if k not in given
        }
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=POOL_SIZE,
            max_overflow=POOL_SIZE,
            pool_timeout=30,
            json_serializer=_json_dumps,
            connect_args=connect_args,
        )
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or database.startswith("file:"):
            raise ValueError("the SQLite store needs a file path: sqlite:///path/to/turnout.db")
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            parsed,
            connect_args={"timeout": busy_timeout, "check_same_thread": False},
            json_serializer=_json_dumps,
        )
        _configure_sqlite(engine, int(busy_timeout * 1000))
        return engine
    raise ValueError(f"unsupported store URL {parsed.drivername!r}: use sqlite:/// or postgresql+psycopg://")


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """WAL, foreign keys, a busy timeout, and transactions we begin ourselves (BEGIN IMMEDIATE for writes)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not begin transactions on its own
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    def on_begin(connection: Connection) -> None:
        write = bool(connection.get_execution_options().get("turnout_write"))
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
