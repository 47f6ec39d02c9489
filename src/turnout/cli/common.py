"""What the commands share: loading the supergraph and the config (exit 2 with the reason), the common options,
the configured migrations with their store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..config import Config, ConfigError, load_config
from ..supergraph.join_spec import read_supergraph
from ..supergraph.model import SupergraphError, SupergraphModel

if TYPE_CHECKING:
    from ..migration.store_protocol import MigrationStore

__all__ = [
    "CommandContext",
    "ConfigOption",
    "SupergraphOption",
    "build_config",
    "find_migration",
    "load_supergraph",
    "load_supergraph_text",
    "migration_context",
]


def load_supergraph_text(location: str) -> str:
    """Read a supergraph from a file path or an http(s) URL (`https://user:password@host/...` for Basic auth), or
    compose one from a composition config (`supergraph.yaml`)."""
    from ..reload import open_source

    return open_source(location).read().text


def load_supergraph(location: str) -> SupergraphModel:
    from ..reload import SourceError, shown_location

    try:
        return read_supergraph(load_supergraph_text(location))
    except (SourceError, SupergraphError) as error:
        typer.echo(f"turnout: cannot load supergraph {shown_location(location)}: {error}", err=True)
        raise typer.Exit(2) from None


def build_config(config: Path | None, overrides: dict[tuple[str, ...], object]) -> Config:
    try:
        return load_config(config, overrides=overrides)
    except ConfigError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None


@dataclass(frozen=True)
class CommandContext:
    """What the operators' commands open, when the app is given one as its context object (`app(obj=...)`,
    `CliRunner().invoke(app, args, obj=...)`, read from the command's `typer.Context`): tests run the commands in
    process on a store in memory. Without one, the store is the config's (`assembly.open_store`)."""

    open_store: Callable[[Config], MigrationStore]


def _store_opener(ctx: typer.Context) -> Callable[[Config], MigrationStore]:
    from ..assembly import open_store

    return ctx.obj.open_store if isinstance(ctx.obj, CommandContext) else open_store


def migration_context(
    ctx: typer.Context, config: Path | None, supergraph: str | None
) -> tuple[Config, list[Any], Any, Any]:
    """The config, its migrations (checked against the supergraph when one is known) and the store."""
    from ..assembly import AssemblyError, build_migrations, migration_from_config
    from ..migration.model import Migration

    cfg = build_config(config, {("supergraph",): supergraph})
    model = load_supergraph(cfg.supergraph) if cfg.supergraph else None
    migrations: list[Migration]
    try:
        if model is not None:
            migrations = build_migrations(cfg.migrations, model)
        else:  # nothing to check them against: as configured (gates and rules included)
            migrations = [migration_from_config(m) for m in cfg.migrations]
        store = _store_opener(ctx)(cfg)
    except AssemblyError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    return cfg, migrations, store, model


def find_migration(found: list[Any], name: str) -> Any:
    """The migration called `name`, or exit 2 naming the known ones."""
    migration = next((m for m in found if m.name == name), None)
    if migration is None:
        known = ", ".join(m.name for m in found) or "none configured"
        typer.echo(f"turnout: no migration named {name!r} (known: {known})", err=True)
        raise typer.Exit(2)
    return migration


ConfigOption = Annotated[Path | None, typer.Option(help="turnout.yaml.", envvar="TURNOUT_CONFIG")]
SupergraphOption = Annotated[str | None, typer.Option(help="Supergraph (default: the config's).")]
