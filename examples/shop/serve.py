"""Serve one shop subgraph: ``python -m examples.shop.serve NAME [--host 127.0.0.1] [--port N]``."""

from __future__ import annotations

import argparse

import uvicorn

from . import DEFAULT_PORTS, GRAPHQL_PATH, SUBGRAPHS, app_for


def main(argv: list[str] | None = None) -> None:
    """Parses the command line and runs uvicorn until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m examples.shop.serve", description=__doc__)
    parser.add_argument("name", choices=SUBGRAPHS, help="the subgraph to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default: 4101 accounts, 4102 products, 4103 reviews")
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    args = parser.parse_args(argv)
    port = args.port if args.port is not None else DEFAULT_PORTS[args.name]
    print(f"shop subgraph {args.name} at http://{args.host}:{port}{GRAPHQL_PATH}", flush=True)
    uvicorn.run(app_for(args.name), host=args.host, port=port, log_level=args.log_level)


if __name__ == "__main__":
    main()
