"""`turnout plan`: the query plan of an operation, as the gateway would make it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import ConfigOption, build_config, find_migration, load_supergraph

__all__ = ["plan"]


def plan(
    query_file: Annotated[Path, typer.Argument(help="A file with the GraphQL operation.")],
    supergraph: Annotated[str | None, typer.Option(help="Supergraph SDL: a file path or URL.")] = None,
    operation_name: Annotated[str | None, typer.Option("--operation-name")] = None,
    migrated: Annotated[
        list[str] | None,
        typer.Option(
            "--migrated",
            help="Plan as if this migration (of --config) were migrated: its fields from its new "
            "subgraph. Repeatable.",
        ),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="An @override label to plan as active. Repeatable.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Print the query plan of an operation. With --config, the configured migrations are routed to their old
    subgraph unless named by --migrated (as the gateway routes them in monolith / migrated)."""
    from types import MappingProxyType

    from graphql import GraphQLError, parse, validate

    from ..planner.display import print_plan
    from ..planner.query_planner import PlanningError, QueryPlanner
    from ..planner.routing import Routing

    try:
        text = query_file.read_text(encoding="utf-8")
    except OSError as error:
        typer.echo(f"turnout: cannot read {query_file}: {error.strerror or error}", err=True)
        raise typer.Exit(2) from None
    except UnicodeDecodeError:
        typer.echo(f"turnout: cannot read {query_file}: it is not UTF-8 text", err=True)
        raise typer.Exit(2) from None
    assignments: dict[str, str] = {}
    labels = set(label or ())
    if migrated or config is not None:
        from ..assembly import AssemblyError, build_migrations

        cfg = build_config(config, {("supergraph",): supergraph})
        if not cfg.supergraph:
            typer.echo(
                "turnout: no supergraph: pass --supergraph PATH|URL (or set it in the config)", err=True
            )
            raise typer.Exit(2)
        model = load_supergraph(cfg.supergraph)
        try:
            found = build_migrations(cfg.migrations, model)
        except AssemblyError as error:
            typer.echo(f"turnout: {error}", err=True)
            raise typer.Exit(2) from None
        moved = {find_migration(found, name).name for name in migrated or ()}
        for migration in found:  # as the gateway routes them: the old side unless migrated
            if migration.label:
                if migration.name in moved:
                    labels.add(migration.label)
            else:
                side = migration.to_subgraph if migration.name in moved else migration.from_subgraph
                assignments.update(dict.fromkeys(migration.fields, side))
    elif supergraph is None:
        typer.echo("turnout: no supergraph: pass --supergraph PATH|URL", err=True)
        raise typer.Exit(2)
    else:
        model = load_supergraph(supergraph)
    try:
        document = parse(text)
    except GraphQLError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    problems = validate(model.api_schema, document)
    if problems:
        for problem in problems:
            typer.echo(f"turnout: {problem.message}", err=True)
        raise typer.Exit(2)
    routing = Routing(assignments=MappingProxyType(assignments), active_labels=frozenset(labels))
    try:
        typer.echo(print_plan(QueryPlanner(model).plan(document, operation_name, routing)))
    except PlanningError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
