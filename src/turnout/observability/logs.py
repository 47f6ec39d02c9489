"""Logging: plain text for people, or one JSON object per line (`log_format: json`) for log pipelines.

Each request runs with a small context (`request_context`): its request id (the client's `x-request-id`, or a
new one) and, once the gateway's span starts, its trace id. A JSON line carries them, and whatever a log call
passes as `extra` among `migration`, `operation`, `outcome`, `status`, `duration_ms`, `subgraph`. Comparisons run
after the response keep their request's id (the shadow queue carries it).
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "FIELDS",
    "LOG_FORMATS",
    "JsonFormatter",
    "configure_logging",
    "current_request_id",
    "new_request_context",
    "note_trace_id",
    "request_context",
]

LOG_FORMATS = ("text", "json")
FIELDS = ("migration", "operation", "outcome", "status", "duration_ms", "subgraph")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:/=+-]{1,128}$")

request_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "turnout_request_context", default=None
)
"""The running request's {"request_id", "trace_id"}: one dict per request, so what the gateway notes in it (the
trace id) is seen by the request's handler whatever task it was noted from."""


def new_request_context(given: str | None) -> dict[str, str]:
    """A request's context, with the client's request id if it is a sane one, else a new one."""
    rid = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
    context = {"request_id": rid}
    request_context.set(context)
    return context


def current_request_id() -> str | None:
    context = request_context.get()
    return context.get("request_id") if context else None


def note_trace_id(trace_id: int) -> None:
    """Remember the request span's trace id (as the W3C hex) in the request's context."""
    context = request_context.get()
    if context is not None and trace_id:
        context["trace_id"] = f"{trace_id:032x}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the request's ids, the known
    extra fields, and the exception (its traceback as one string) if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = request_context.get()
        if context:
            line.update(context)
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str, log_format: str = "text") -> None:
    """The root logger at `level`, writing to stderr as text or JSON lines (uvicorn's loggers included)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    if log_format == "json":  # uvicorn's loggers log through the root's handler, not their own text ones
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
