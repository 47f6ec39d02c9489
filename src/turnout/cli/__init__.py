"""The `turnout` command line: one typer app, its commands in the modules of this package (serving, the
operators' migration commands, planning)."""

from __future__ import annotations

import typer

from . import migrations, planning, serving
from .serving import ServeError, serving_app, worker_app

__all__ = ["ServeError", "app", "main", "serving_app", "worker_app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="turnout: a GraphQL Federation gateway.")
for command in (
    serving.serve,
    serving.compose,
    serving.dev,
    serving.demo,
    migrations.migrations,
    migrations.diffs,
    migrations.ack,
    migrations.migrate,
    planning.plan,
):
    app.command()(command)


def main() -> None:
    app()
