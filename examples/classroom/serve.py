"""Serve one classroom subgraph: ``python -m examples.classroom.serve NAME [--host 127.0.0.1] [--port N]``."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
from graphql import GraphQLError

from . import DEFAULT_PORTS, GRAPHQL_PATH, SUBGRAPHS, app_for
from ._app import resolver_logger

__all__ = ["main"]


class _OneLine(logging.Formatter):
    """Resolver errors as one line each (with the traceback at debug level)."""

    def __init__(self, tracebacks: bool) -> None:
        super().__init__("%(levelname)s:  %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self.tracebacks:
            return super().format(record)
        error = record.msg
        if isinstance(error, GraphQLError):
            where = ".".join(str(key) for key in error.path or ())
            text = f"{error.message} (at {where})" if where else error.message
        else:
            text = record.getMessage().splitlines()[0]
        return f"{record.levelname}:  {record.name}: {text}"


def main(argv: list[str] | None = None) -> None:
    """Parses the command line and runs uvicorn until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m examples.classroom.serve", description=__doc__)
    parser.add_argument("name", choices=SUBGRAPHS, help="the subgraph to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default: 4201 monolith, 4202 assignments, 4203 progress")
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="uvicorn's, and resolver errors (one line each; with tracebacks at debug)",
    )
    args = parser.parse_args(argv)
    port = args.port if args.port is not None else DEFAULT_PORTS[args.name]

    errors = logging.getLogger(resolver_logger(args.name))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(tracebacks=args.log_level == "debug"))
    errors.addHandler(handler)
    errors.setLevel(args.log_level.upper())
    errors.propagate = False

    print(f"classroom subgraph {args.name} at http://{args.host}:{port}{GRAPHQL_PATH}", flush=True)
    uvicorn.run(app_for(args.name), host=args.host, port=port, log_level=args.log_level)


if __name__ == "__main__":
    main()
