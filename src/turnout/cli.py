"""The `turnout` command line."""

from __future__ import annotations

import logging
import sys
import urllib.request
from pathlib import Path
from typing import Annotated

import typer

from .supergraph.join_spec import read_supergraph
from .supergraph.model import SupergraphError, SupergraphModel

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="turnout: a GraphQL Federation gateway.")


def load_supergraph_text(location: str) -> str:
    """Read a supergraph from a file path or an http(s) URL."""
    if location.startswith(("http://", "https://")):
        with urllib.request.urlopen(location, timeout=30) as response:
            return str(response.read().decode("utf-8"))
    return Path(location).read_text(encoding="utf-8")


def load_supergraph(location: str) -> SupergraphModel:
    try:
        return read_supergraph(load_supergraph_text(location))
    except (OSError, SupergraphError) as error:
        typer.echo(f"turnout: cannot load supergraph {location}: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    supergraph: Annotated[str, typer.Option(help="Supergraph SDL: a file path or URL.", envvar="TURNOUT_SUPERGRAPH")],
    host: Annotated[str, typer.Option(envvar="TURNOUT_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="TURNOUT_PORT")] = 4000,
    introspection: Annotated[bool, typer.Option(envvar="TURNOUT_INTROSPECTION")] = True,
    subgraph_timeout: Annotated[float, typer.Option(help="Seconds per subgraph request.")] = 30.0,
    log_level: Annotated[str, typer.Option(envvar="TURNOUT_LOG_LEVEL")] = "warning",
) -> None:
    """Serve the federated graph over HTTP."""
    import uvicorn

    from .gateway import Gateway
    from .server.app import create_app
    from .transport.http import HttpTransport

    logging.basicConfig(level=log_level.upper(), stream=sys.stderr)
    model = load_supergraph(supergraph)
    gateway = Gateway(model, HttpTransport(timeout=subgraph_timeout), introspection=introspection)
    uvicorn.run(create_app(gateway), host=host, port=port, log_level=log_level, access_log=False)


@app.command()
def plan(
    query_file: Annotated[Path, typer.Argument(help="A file with the GraphQL operation.")],
    supergraph: Annotated[str, typer.Option(help="Supergraph SDL: a file path or URL.")],
    operation_name: Annotated[str | None, typer.Option("--operation-name")] = None,
) -> None:
    """Print the query plan of an operation."""
    from graphql import GraphQLError, parse, validate

    from .planner.display import print_plan
    from .planner.query_planner import PlanningError, QueryPlanner

    model = load_supergraph(supergraph)
    try:
        document = parse(query_file.read_text(encoding="utf-8"))
    except GraphQLError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    problems = validate(model.api_schema, document)
    if problems:
        for problem in problems:
            typer.echo(f"turnout: {problem.message}", err=True)
        raise typer.Exit(2)
    try:
        typer.echo(print_plan(QueryPlanner(model).plan(document, operation_name)))
    except PlanningError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    app()
