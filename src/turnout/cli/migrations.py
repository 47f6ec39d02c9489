"""The operators' commands: `turnout migrations`, `diffs`, `ack` and `migrate`."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from .common import (
    ConfigOption,
    SupergraphOption,
    find_migration,
    migration_context,
)

__all__ = ["ack", "diffs", "migrate", "migrations"]


def migrations(
    ctx: typer.Context,
    config: ConfigOption = None,
    supergraph: SupergraphOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every migrating field: stage, rollout, evidence and readiness (--json: the dashboard's document)."""
    from rich.console import Console

    from ..migration.api import migrations_document
    from ..migration.table import migrations_table

    _cfg, found, store, model = migration_context(ctx, config, supergraph)
    try:
        document = migrations_document(found, store, model)
    finally:
        store.close()
    if as_json:
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    if not document["migrations"]:
        typer.echo("no migrations configured (add them under `migrations:` in the config)")
        return
    Console(width=200).print(migrations_table(document["migrations"]))


def diffs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The migration.")],
    config: ConfigOption = None,
    supergraph: SupergraphOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A migration's differences, grouped by coordinate, operation and kind, with samples."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    _cfg, found, store, _model = migration_context(ctx, config, supergraph)
    try:
        find_migration(found, name)
        groups = store.diff_groups(name)
    finally:
        store.close()
    if as_json:
        from dataclasses import asdict

        typer.echo(
            orjson.dumps(
                {"groups": [asdict(g) for g in groups]}, option=orjson.OPT_INDENT_2, default=str
            ).decode()
        )
        return
    if not groups:
        typer.echo(f"no differences recorded for {name}")
        return
    now = datetime.now(UTC)
    table = Table(title=f"differences of {name}")
    for column in ("signature", "coordinate", "operation", "kind", "count", "status", "sample (from -> to)"):
        table.add_column(column, overflow="fold")
    for group in groups:
        status = "noise" if group.noise else "open"
        if group.acknowledged_until is not None:
            if group.acknowledged_until > now:
                status = f"acknowledged until {group.acknowledged_until:%Y-%m-%d %H:%M}"
            elif not group.noise:
                status = f"open (acknowledgement expired {group.acknowledged_until:%Y-%m-%d %H:%M})"
        sample = group.samples[0] if group.samples else None
        table.add_row(
            group.signature[:12],
            group.coordinate,
            group.operation,
            group.kind,
            str(group.count),
            status,
            f"{sample.primary} -> {sample.candidate}" if sample else "",
        )
    Console(width=200).print(table)


def ack(
    ctx: typer.Context,
    signature: Annotated[str, typer.Argument(help="A diff group's signature (a unique prefix is enough).")],
    name: Annotated[str, typer.Option("--migration", help="The migration.")],
    reason: Annotated[str, typer.Option(help="Why this difference is acceptable.")],
    days: Annotated[float, typer.Option(help="How long the acknowledgement holds.")] = 7.0,
    by: Annotated[str, typer.Option(envvar="USER")] = "unknown",
    config: ConfigOption = None,
) -> None:
    """Acknowledge a diff group: it stops blocking promotion until the acknowledgement expires."""
    from datetime import UTC, datetime, timedelta

    prefix = signature.strip().lower()
    if not prefix:
        typer.echo(
            "turnout: give a diff group's signature (or a unique prefix of it; `turnout diffs` lists them)",
            err=True,
        )
        raise typer.Exit(2)
    if not reason.strip():
        typer.echo("turnout: --reason must say why the difference is acceptable", err=True)
        raise typer.Exit(2)
    if not 0 < days <= 3650:
        typer.echo("turnout: --days must be more than 0 (and at most 3650)", err=True)
        raise typer.Exit(2)
    _cfg, found, store, _model = migration_context(ctx, config, None)
    try:
        find_migration(found, name)
        matches = [g.signature for g in store.diff_groups(name) if g.signature.startswith(prefix)]
        if not matches:
            typer.echo(f"turnout: no diff group of {name} has a signature starting with {prefix!r}", err=True)
            raise typer.Exit(2)
        if len(matches) > 1:
            typer.echo(
                f"turnout: {prefix!r} is ambiguous: {len(matches)} diff groups of {name} start with it "
                "(give more characters)",
                err=True,
            )
            raise typer.Exit(2)
        store.acknowledge(matches[0], until=datetime.now(UTC) + timedelta(days=days), by=by, reason=reason)
    finally:
        store.close()
    typer.echo(f"acknowledged {matches[0][:12]} for {days:g} day{'' if days == 1 else 's'}")


def migrate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The migration.")],
    to: Annotated[str, typer.Option("--to", help="monolith, side_by_side, migrated or removed.")],
    percent: Annotated[
        float | None,
        typer.Option(help="Rollout in migrated, or the share of requests compared in side_by_side (0-100)."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Move even though the gate says no (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option(help="Why; kept in the stage log.")] = None,
    by: Annotated[str, typer.Option(envvar="USER")] = "unknown",
    config: ConfigOption = None,
    supergraph: SupergraphOption = None,
) -> None:
    """Move a migration to another stage, if its evidence allows (gateways pick it up within seconds)."""
    from ..migration.model import Stage
    from ..migration.stages import move_stage
    from ..migration.store import StageConflict

    try:
        target = Stage(to.strip().lower().replace("-", "_"))
    except ValueError:
        typer.echo(f"turnout: unknown stage {to!r}; one of {', '.join(s.value for s in Stage)}", err=True)
        raise typer.Exit(2) from None
    if percent is not None and not 0 <= percent <= 100:  # NaN fails this too
        typer.echo(f"turnout: --percent must be between 0 and 100, not {percent:g}", err=True)
        raise typer.Exit(2)
    if percent is not None and target not in (Stage.MIGRATED, Stage.SIDE_BY_SIDE):
        typer.echo(
            f"turnout: --percent is the rollout in migrated or the sampling share in side_by_side; "
            f"{target} has none",
            err=True,
        )
        raise typer.Exit(2)
    if force and not (reason and reason.strip()):
        typer.echo("turnout: --force needs a --reason (it is kept in the stage log)", err=True)
        raise typer.Exit(2)
    from sqlalchemy.exc import DBAPIError

    from ..assembly import store_problem

    _cfg, found, store, model = migration_context(ctx, config, supergraph)
    try:
        migration = find_migration(found, name)
        try:
            move = move_stage(
                store, migration, target, by=by, percent=percent, reason=reason, force=force, model=model
            )
        except StageConflict as conflict:
            typer.echo(
                f"turnout: {conflict}; nothing changed (run the command again to decide on the new stage)",
                err=True,
            )
            raise typer.Exit(1) from None
        except DBAPIError as error:  # the store went away between opening it and the move
            typer.echo(
                f"turnout: the store stopped answering ({store_problem(error)}); the move was not made "
                "(it is one transaction): run the command again once the store is back",
                err=True,
            )
            raise typer.Exit(1) from None
    finally:
        store.close()
    if move.unchanged:
        typer.echo(f"{name}: already {move.state.stage} at {move.state.percent:g}%; nothing changed")
        return
    if move.change is None:
        typer.echo(
            f"turnout: {name} cannot move from {move.state.stage} to {target}: {move.verdict.summary}",
            err=True,
        )
        typer.echo("(use --force --reason '...' to move anyway; it is logged)", err=True)
        raise typer.Exit(1)
    change = move.change
    shown = {
        Stage.MIGRATED: f" at {change.percent:g}%",
        Stage.SIDE_BY_SIDE: f" comparing {change.percent:g}% of requests",
    }.get(target, "")
    forced = f" (forced past: {move.verdict.summary})" if change.forced else ""
    typer.echo(f"{name}: {change.from_stage} -> {change.to_stage}{shown}{forced}")
