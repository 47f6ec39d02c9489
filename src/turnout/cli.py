"""The `turnout` command line."""

from __future__ import annotations

import logging
import sys
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .config import Config, ConfigError, load_config
from .supergraph.join_spec import read_supergraph
from .supergraph.model import SupergraphError, SupergraphModel

if TYPE_CHECKING:
    from .gateway import Gateway

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


def build_config(config: Path | None, overrides: dict[tuple[str, ...], object]) -> Config:
    try:
        return load_config(config, overrides=overrides)
    except ConfigError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None


def build_gateway(cfg: Config, model: SupergraphModel) -> Gateway:
    from .gateway import Gateway
    from .transport.http import HttpTransport

    transport = HttpTransport(timeout=cfg.subgraph_timeout, timeouts=cfg.subgraph_timeouts())
    return Gateway(model, transport, introspection=cfg.server.introspection, urls=cfg.subgraph_urls())


@app.command()
def serve(
    supergraph: Annotated[str | None, typer.Option(help="Supergraph SDL: a file path or URL. [env: TURNOUT_SUPERGRAPH]")] = None,
    config: Annotated[Path | None, typer.Option(help="turnout.yaml with further settings.", envvar="TURNOUT_CONFIG")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on. [env: TURNOUT_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on. [env: TURNOUT_PORT]")] = None,
    introspection: Annotated[bool | None, typer.Option("--introspection/--no-introspection",
                                                       help="Answer __schema/__type queries.")] = None,
    subgraph_timeout: Annotated[float | None, typer.Option(help="Default seconds per subgraph request.")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
) -> None:
    """Serve the federated graph over HTTP (POST and GET /graphql, /health)."""
    import uvicorn

    from .server.app import create_app

    cfg = build_config(config, {
        ("supergraph",): supergraph, ("server", "host"): host, ("server", "port"): port,
        ("server", "introspection"): introspection, ("subgraph_timeout",): subgraph_timeout,
        ("log_level",): log_level,
    })
    if not cfg.supergraph:
        typer.echo("turnout: no supergraph: pass --supergraph PATH|URL (or set it in the config)", err=True)
        raise typer.Exit(2)
    logging.basicConfig(level=cfg.log_level.upper(), stream=sys.stderr)
    gateway = build_gateway(cfg, load_supergraph(cfg.supergraph))
    application = create_app(gateway, graphql_path=cfg.server.graphql_path, max_body_bytes=cfg.server.max_body_bytes)
    uvicorn.run(application, host=cfg.server.host, port=cfg.server.port, log_level=cfg.log_level, access_log=False)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface for the gateway and the example subgraphs.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Gateway port.")] = 4000,
    subgraph_port: Annotated[int, typer.Option(help="First of three ports for the example subgraphs.")] = 4101,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")] = None,
    examples: Annotated[Path | None, typer.Option(help="The repository's examples/ folder.")] = None,
) -> None:
    """Start the example shop (three subgraphs) behind the gateway, show a few queries, keep serving."""
    import asyncio

    from .demo import DemoError, run_demo

    try:
        asyncio.run(run_demo(host=host, port=port, subgraph_port=subgraph_port, duration=duration,
                             examples=examples))
    except DemoError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


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
