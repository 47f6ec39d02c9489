"""The `turnout` command line."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from .config import Config, ConfigError, load_config
from .observability.logs import configure_logging
from .supergraph.join_spec import read_supergraph
from .supergraph.model import SupergraphError, SupergraphModel

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from .gateway import Gateway

__all__ = ["app", "main", "serving_app", "worker_app"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="turnout: a GraphQL Federation gateway.")


def load_supergraph_text(location: str) -> str:
    """Read a supergraph from a file path or an http(s) URL (`https://user:password@host/...` for Basic auth), or
    compose one from a composition config (`supergraph.yaml`)."""
    from .reload import open_source

    return open_source(location).read().text


def load_supergraph(location: str) -> SupergraphModel:
    from .reload import SourceError, shown_location

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


SERVE_CONFIG_ENV = "TURNOUT_SERVE_CONFIG"  # how `serve --workers N` hands its settings to the worker processes
SERVE_CONFIG_FILE_ENV = "TURNOUT_SERVE_CONFIG_FILE"  # ... the config file they re-read on change or SIGHUP
SERVE_OVERRIDES_ENV = "TURNOUT_SERVE_OVERRIDES"  # ... and the flags applied over it again
WORKER_STARTUP_FAILURE = 3  # uvicorn.config.STARTUP_FAILURE


class ServeError(Exception):
    """The gateway cannot be served as configured (the message says why)."""


def serving_app(cfg: Config, config_path: Path | None = None,
                overrides: dict[tuple[str, ...], object] | None = None) -> Starlette:
    """The ASGI app `turnout serve` runs: the gateway of the configured supergraph behind a holder that the
    supergraph poller swaps on change, with the process's services (store, recorder) kept across reloads; with
    `config_path`, that file is re-read on SIGHUP and when it changes (`overrides`: the flags, applied again)."""
    from .assembly import AssemblyError, build_gateway, build_migrations, build_services
    from .config_reload import ConfigReloader
    from .reload import GatewayHolder, SourceError, SupergraphReloader, open_source
    from .server.admin import AdminServer, BearerTokens, create_admin_app
    from .server.app import create_app
    from .server.connections import ConnectionLimits, configure, descriptor_budget

    configure(ConnectionLimits(header_timeout=cfg.server.header_timeout, body_timeout=cfg.server.body_timeout,
                               max_connections=descriptor_budget(cfg.server.max_connections)))
    if not cfg.supergraph:
        raise ServeError("no supergraph: pass --supergraph PATH|URL (or set it in the config)")
    source = open_source(cfg.supergraph)
    try:
        first = source.read()
        model = read_supergraph(first.text)
        build_migrations(cfg.migrations, model)  # refused before the store is opened
        services = build_services(cfg, reloadable=config_path is not None)
        gateway = build_gateway(cfg, model, services)
    except (SourceError, SupergraphError) as error:
        raise ServeError(f"cannot load supergraph {source.shown}: {error}") from None
    except AssemblyError as error:
        raise ServeError(str(error)) from None
    holder = GatewayHolder(gateway, version=first.version, drain_timeout=cfg.server.shutdown_timeout,
                           on_start=[services.start], on_close=[services.close])

    def build(text: str) -> Gateway:  # with the configuration in force now (a config reload may change it)
        return build_gateway(live.current if live is not None else cfg, read_supergraph(text), services)

    reloader = SupergraphReloader(holder, source, build, interval=cfg.reload_interval)
    reloader.text = first
    live = None
    if config_path is not None:
        live = ConfigReloader(config_path, cfg, reloader, services, overrides=overrides,
                              interval=cfg.reload_interval)
    logging.getLogger("turnout.reload").info("serving supergraph %s (%s)", source.shown, first.version)
    admin = None
    if cfg.admin.enabled:
        tokens = BearerTokens(cfg.admin.credentials(), protect_reads=cfg.admin.protect_reads)
        admin_app = create_admin_app(holder, tokens, services.store)
        if admin_app is not None:  # without migrations there is nothing to show
            admin = AdminServer(admin_app, cfg.admin.host, cfg.admin.port)
    return create_app(holder, graphql_path=cfg.server.graphql_path, max_body_bytes=cfg.server.max_body_bytes,
                      reloader=reloader, shutdown_timeout=cfg.server.shutdown_timeout, admin=admin,
                      recorder=services.recorder, drain_delay=cfg.server.drain_delay, access_log=cfg.access_log,
                      background=[live] if live is not None else [])


def worker_app() -> Starlette:
    """The app factory of one `serve --workers N` process: the settings come from the parent's environment."""
    raw = os.environ.get(SERVE_CONFIG_ENV)
    if not raw:
        raise RuntimeError(f"{SERVE_CONFIG_ENV} is not set: worker_app is started by `turnout serve --workers N`")
    cfg = Config.model_validate_json(raw)
    configure_logging(cfg.log_level, cfg.log_format)
    path = os.environ.get(SERVE_CONFIG_FILE_ENV)
    overrides = {tuple(k): v for k, v in orjson.loads(os.environ.get(SERVE_OVERRIDES_ENV) or "[]")}
    try:
        return serving_app(cfg, Path(path) if path else None, overrides)
    except ServeError as error:
        logging.getLogger("turnout").error("worker %d cannot start: %s", os.getpid(), error)
        # uvicorn's code for a worker that failed to start: the supervisor stops instead of starting it again
        raise SystemExit(WORKER_STARTUP_FAILURE) from None


@app.command()
def serve(
    supergraph: Annotated[str | None, typer.Option(
        help="Supergraph SDL: a file path or URL; or a composition config (supergraph.yaml, rover's format), "
             "composed at start and at every reload. [env: TURNOUT_SUPERGRAPH]")] = None,
    config: Annotated[Path | None, typer.Option(help="turnout.yaml with further settings.", envvar="TURNOUT_CONFIG")] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on. [env: TURNOUT_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on. [env: TURNOUT_PORT]")] = None,
    admin_host: Annotated[str | None, typer.Option(
        help="Interface of the admin listener: dashboard, its API and writes (default 127.0.0.1). "
             "[env: TURNOUT_ADMIN_HOST]")] = None,
    admin_port: Annotated[int | None, typer.Option(
        help="Port of the admin listener (default 4001). [env: TURNOUT_ADMIN_PORT]")] = None,
    introspection: Annotated[bool | None, typer.Option("--introspection/--no-introspection",
                                                       help="Answer __schema/__type queries (default: off).")] = None,
    subgraph_timeout: Annotated[float | None, typer.Option(help="Default seconds per subgraph request.")] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
    workers: Annotated[int | None, typer.Option(
        help="Worker processes sharing the port, each with its own gateway (default 1). [env: TURNOUT_WORKERS]")] = None,
    reload_interval: Annotated[float | None, typer.Option(
        help="Seconds between checks of the supergraph for a new one; 0 never (default 10). "
             "[env: TURNOUT_RELOAD_INTERVAL]")] = None,
    shutdown_timeout: Annotated[float | None, typer.Option(
        help="On SIGTERM/SIGINT, seconds running requests get to finish (default 30); queued comparisons then get "
             "up to 5 s more before the evidence is flushed. [env: TURNOUT_SHUTDOWN_TIMEOUT]")] = None,
    drain_delay: Annotated[float | None, typer.Option(
        help="On SIGTERM, seconds /ready answers 503 while requests are still served, before the listener "
             "closes (default 0). [env: TURNOUT_DRAIN_DELAY]")] = None,
) -> None:
    """Serve the federated graph over HTTP (POST and GET /graphql, /health, /ready, /metrics); the migrations
    dashboard and its writes on the admin listener (--admin-host/--admin-port, loopback by default; writes need
    a token).

    The supergraph, and the --config file (also on SIGHUP), are checked for changes every --reload-interval
    seconds and applied without dropping a request (a broken one is refused and logged). SIGTERM: /ready fails,
    --drain-delay seconds later stop accepting, let running requests finish (up to --shutdown-timeout), flush
    the evidence, exit. With --workers N, each process builds its own
    gateway; they may share a SQLite store on one machine, several machines share a PostgreSQL store.
    """
    import signal

    import uvicorn

    from .server.connections import PROTOCOL as CONNECTION_PROTOCOL

    overrides: dict[tuple[str, ...], object] = {
        ("supergraph",): supergraph, ("server", "host"): host, ("server", "port"): port,
        ("admin", "host"): admin_host, ("admin", "port"): admin_port,
        ("server", "introspection"): introspection, ("subgraph_timeout",): subgraph_timeout,
        ("log_level",): log_level, ("server", "workers"): workers, ("reload_interval",): reload_interval,
        ("server", "shutdown_timeout"): shutdown_timeout, ("server", "drain_delay"): drain_delay,
    }
    cfg = build_config(config, overrides)
    if not cfg.supergraph:
        typer.echo("turnout: no supergraph: pass --supergraph PATH|URL (or set it in the config)", err=True)
        raise typer.Exit(2)
    configure_logging(cfg.log_level, cfg.log_format)
    options: dict[str, Any] = {
        "host": cfg.server.host, "port": cfg.server.port, "log_level": cfg.log_level, "access_log": False,
        **({"log_config": None} if cfg.log_format == "json" else {}),  # uvicorn's lines through our JSON handler
        "timeout_graceful_shutdown": max(1, math.ceil(cfg.server.shutdown_timeout)),
        "timeout_keep_alive": cfg.server.keepalive_timeout, "http": CONNECTION_PROTOCOL,  # header/body timeouts
    }
    if cfg.server.workers > 1:
        _check_serving(cfg)  # what each worker will build: refused here, once, with exit code 2
        os.environ[SERVE_CONFIG_ENV] = cfg.model_dump_json(by_alias=True)
        if config is not None:
            os.environ[SERVE_CONFIG_FILE_ENV] = str(config.resolve())
            os.environ[SERVE_OVERRIDES_ENV] = orjson.dumps(
                [[list(k), v] for k, v in overrides.items() if v is not None]).decode()
        _run_workers(uvicorn.Config("turnout.cli:worker_app", factory=True, workers=cfg.server.workers, **options))
        return
    try:
        application = serving_app(cfg, config, overrides)
    except ServeError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; with these handlers in place
    # that ends the command normally (exit code 0) instead of killing the process or raising KeyboardInterrupt
    stopped_by: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: stopped_by.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.run(application, **options)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopped_by:
        logging.getLogger("turnout").info("stopped by %s", signal.Signals(stopped_by[0]).name)


@app.command()
def compose(
    config: Annotated[Path, typer.Option(help="Composition config in rover's supergraph.yaml format.")],
    output: Annotated[Path | None, typer.Option(help="Write the supergraph here (default: stdout).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each subgraph_url's _service.sdl.")] = 30.0,
) -> None:
    """Compose the subgraphs of a supergraph.yaml into a Federation 2 supergraph (join v0.3+).

    Each subgraph's SDL comes from `schema: {file: PATH}` (relative to the config) or is fetched from
    `schema: {subgraph_url: URL}` with `{ _service { sdl } }`. Errors (Apollo's codes, the subgraphs and lines)
    go to stderr with exit code 1; hints (OVERRIDE_MIGRATION_IN_PROGRESS...) to stderr too.
    """
    from .compose import ConfigError, SubgraphSdlError, load_sdls, read_config
    from .compose import compose as compose_subgraphs

    try:
        inputs = load_sdls(read_config(config), timeout)
    except (ConfigError, SubgraphSdlError) as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    result = compose_subgraphs(inputs)
    for hint in result.hints:
        typer.echo(f"hint: {hint}", err=True)
    if not result.ok or result.supergraph_sdl is None:
        typer.echo(f"turnout: composition failed with {len(result.errors)} error(s):", err=True)
        for problem in result.errors:
            typer.echo(f"- {problem}", err=True)
        raise typer.Exit(1)
    if output is None:
        typer.echo(result.supergraph_sdl, nl=False)
    else:
        output.write_text(result.supergraph_sdl, encoding="utf-8")
        typer.echo(f"wrote {output} ({len(inputs)} subgraphs)", err=True)


@app.command()
def dev(
    config: Annotated[Path, typer.Option(help="Composition config in rover's supergraph.yaml format.")],
    settings: Annotated[Path | None, typer.Option(
        help="turnout.yaml with further settings (migrations, store...).", envvar="TURNOUT_CONFIG")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4000,
    poll_interval: Annotated[float, typer.Option(
        help="Seconds between checks of the SDL files and _service.sdl answers.")] = 1.0,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Compose the subgraphs of a supergraph.yaml and serve them, recomposing when an SDL file or a subgraph's
    `_service.sdl` changes (polled every --poll-interval seconds) and swapping the new supergraph in without
    dropping a request. A composition that fails is printed and the last good supergraph keeps serving.
    Introspection is on; the migrations dashboard is on the admin listener when --settings declares migrations.
    """
    import asyncio

    import uvicorn

    overrides: dict[tuple[str, ...], object] = {
        ("supergraph",): str(config), ("server", "host"): host, ("server", "port"): port,
        ("reload_interval",): poll_interval, ("server", "introspection"): True, ("log_level",): log_level,
    }
    cfg = build_config(settings, overrides)
    configure_logging(cfg.log_level, cfg.log_format)
    try:  # with --settings, that file is re-read on change (migrations...), as by `serve --config`
        application = serving_app(cfg, settings, overrides)
    except ServeError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"turnout dev: serving {config} on http://{host}:{port}{cfg.server.graphql_path}", err=True)
    options: dict[str, Any] = {"host": host, "port": port, "log_level": cfg.log_level, "access_log": False,
                               "timeout_graceful_shutdown": 2,
                               **({"log_config": None} if cfg.log_format == "json" else {})}
    server = uvicorn.Server(uvicorn.Config(application, **options))

    async def run() -> None:
        async def stop_later(seconds: float) -> None:
            await asyncio.sleep(seconds)
            server.should_exit = True

        stopper = asyncio.create_task(stop_later(duration)) if duration is not None else None
        try:
            await server.serve()
        finally:
            if stopper is not None:
                stopper.cancel()

    asyncio.run(run())


def _run_workers(config: Any) -> None:
    """uvicorn's worker supervisor on a socket with TCP_NODELAY for every connection.

    asyncio turns Nagle's algorithm off only on sockets whose protocol is IPPROTO_TCP; the socket uvicorn binds
    for its workers says 0, and each keep-alive response (headers, then body) would then wait ~40 ms for the
    client's delayed ACK. The same socket, re-wrapped so its protocol is read from the descriptor, avoids it.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    bound = config.bind_socket()
    sock = socket.socket(fileno=bound.detach())
    sock.set_inheritable(True)
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        sock.close()
    if any(process.exitcode == WORKER_STARTUP_FAILURE for process in supervisor.processes):
        typer.echo("turnout: a worker could not start (see its message above)", err=True)
        raise typer.Exit(2)


def _check_serving(cfg: Config) -> None:
    """Exit 2 unless the supergraph loads, the migrations fit it and the store opens (then closed again)."""
    from .assembly import AssemblyError, build_migrations, open_store

    assert cfg.supergraph
    model = load_supergraph(cfg.supergraph)
    try:
        build_migrations(cfg.migrations, model)
        if cfg.migrations:
            open_store(cfg).close()
    except AssemblyError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface for the gateway and the example subgraphs.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Gateway port (GraphQL).")] = 4000,
    admin_port: Annotated[int, typer.Option(help="Admin port: the dashboard at /migrations/.")] = 4001,
    admin_token: Annotated[str | None, typer.Option(
        help="The dashboard's write token (default: a random one, printed).")] = None,
    subgraph_port: Annotated[int, typer.Option(help="First of three ports for the example subgraphs.")] = 4201,
    duration: Annotated[float | None, typer.Option(
        help="After the story, keep serving this many seconds (default: until Ctrl-C).")] = None,
    step_seconds: Annotated[float, typer.Option(help="How long traffic flows at each step of the story.")] = 8.0,
    store: Annotated[Path | None, typer.Option(help="SQLite file for the demo's evidence.")] = None,
    examples: Annotated[Path | None, typer.Option(help="The repository's examples/ folder.")] = None,
) -> None:
    """A monolith and two new services behind the gateway, with traffic: one migration goes all the way,
    another stays in side_by_side because of its diffs, and a stopped service shows a fallback."""
    import asyncio

    from .demo import DemoError, run_demo

    try:
        asyncio.run(run_demo(host=host, port=port, admin_port=admin_port, admin_token=admin_token,
                             subgraph_port=subgraph_port,
                             duration=duration,
                             examples=examples, step_seconds=step_seconds, store_path=store))
    except DemoError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass


def _migration_context(config: Path | None, supergraph: str | None) -> tuple[Config, list[Any], Any, Any]:
    """The config, its migrations (checked against the supergraph when one is known) and the store."""
    from .assembly import AssemblyError, build_migrations, migration_from_config, open_store
    from .migration.model import Migration

    cfg = build_config(config, {("supergraph",): supergraph})
    model = load_supergraph(cfg.supergraph) if cfg.supergraph else None
    migrations: list[Migration]
    try:
        if model is not None:
            migrations = build_migrations(cfg.migrations, model)
        else:  # nothing to check them against: as configured (gates and rules included)
            migrations = [migration_from_config(m) for m in cfg.migrations]
        store = open_store(cfg)
    except AssemblyError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    return cfg, migrations, store, model


def _find_migration(found: list[Any], name: str) -> Any:
    """The migration called `name`, or exit 2 naming the known ones."""
    migration = next((m for m in found if m.name == name), None)
    if migration is None:
        known = ", ".join(m.name for m in found) or "none configured"
        typer.echo(f"turnout: no migration named {name!r} (known: {known})", err=True)
        raise typer.Exit(2)
    return migration


ConfigOption = Annotated[Path | None, typer.Option(help="turnout.yaml.", envvar="TURNOUT_CONFIG")]
SupergraphOption = Annotated[str | None, typer.Option(help="Supergraph (default: the config's).")]


@app.command()
def migrations(
    config: ConfigOption = None,
    supergraph: SupergraphOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Every migrating field: stage, rollout, evidence and readiness (--json: the dashboard's document)."""
    from rich.console import Console

    from .migration.api import migrations_document
    from .migration.table import migrations_table

    _cfg, found, store, model = _migration_context(config, supergraph)
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


@app.command()
def diffs(
    name: Annotated[str, typer.Argument(help="The migration.")],
    config: ConfigOption = None,
    supergraph: SupergraphOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A migration's differences, grouped by coordinate, operation and kind, with samples."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    _cfg, found, store, _model = _migration_context(config, supergraph)
    try:
        _find_migration(found, name)
        groups = store.diff_groups(name)
    finally:
        store.close()
    if as_json:
        from dataclasses import asdict

        typer.echo(orjson.dumps({"groups": [asdict(g) for g in groups]}, option=orjson.OPT_INDENT_2,
                                default=str).decode())
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
        table.add_row(group.signature[:12], group.coordinate, group.operation, group.kind, str(group.count), status,
                      f"{sample.primary} -> {sample.candidate}" if sample else "")
    Console(width=200).print(table)


@app.command()
def ack(
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
        typer.echo("turnout: give a diff group's signature (or a unique prefix of it; `turnout diffs` lists them)",
                   err=True)
        raise typer.Exit(2)
    if not reason.strip():
        typer.echo("turnout: --reason must say why the difference is acceptable", err=True)
        raise typer.Exit(2)
    if not 0 < days <= 3650:
        typer.echo("turnout: --days must be more than 0 (and at most 3650)", err=True)
        raise typer.Exit(2)
    _cfg, found, store, _model = _migration_context(config, None)
    try:
        _find_migration(found, name)
        matches = [g.signature for g in store.diff_groups(name) if g.signature.startswith(prefix)]
        if not matches:
            typer.echo(f"turnout: no diff group of {name} has a signature starting with {prefix!r}", err=True)
            raise typer.Exit(2)
        if len(matches) > 1:
            typer.echo(f"turnout: {prefix!r} is ambiguous: {len(matches)} diff groups of {name} start with it "
                       "(give more characters)", err=True)
            raise typer.Exit(2)
        store.acknowledge(matches[0], until=datetime.now(UTC) + timedelta(days=days), by=by, reason=reason)
    finally:
        store.close()
    typer.echo(f"acknowledged {matches[0][:12]} for {days:g} day{'' if days == 1 else 's'}")


@app.command()
def migrate(
    name: Annotated[str, typer.Argument(help="The migration.")],
    to: Annotated[str, typer.Option("--to", help="monolith, side_by_side, migrated or removed.")],
    percent: Annotated[float | None, typer.Option(
        help="Rollout in migrated, or the share of requests compared in side_by_side (0-100).")] = None,
    force: Annotated[bool, typer.Option(help="Move even though the gate says no (needs --reason).")] = False,
    reason: Annotated[str | None, typer.Option(help="Why; kept in the stage log.")] = None,
    by: Annotated[str, typer.Option(envvar="USER")] = "unknown",
    config: ConfigOption = None,
    supergraph: SupergraphOption = None,
) -> None:
    """Move a migration to another stage, if its evidence allows (gateways pick it up within seconds)."""
    from .migration.model import Stage
    from .migration.stages import move_stage
    from .migration.store import StageConflict

    try:
        target = Stage(to.strip().lower().replace("-", "_"))
    except ValueError:
        typer.echo(f"turnout: unknown stage {to!r}; one of {', '.join(s.value for s in Stage)}", err=True)
        raise typer.Exit(2) from None
    if percent is not None and not 0 <= percent <= 100:  # NaN fails this too
        typer.echo(f"turnout: --percent must be between 0 and 100, not {percent:g}", err=True)
        raise typer.Exit(2)
    if percent is not None and target not in (Stage.MIGRATED, Stage.SIDE_BY_SIDE):
        typer.echo(f"turnout: --percent is the rollout in migrated or the sampling share in side_by_side; "
                   f"{target} has none", err=True)
        raise typer.Exit(2)
    if force and not (reason and reason.strip()):
        typer.echo("turnout: --force needs a --reason (it is kept in the stage log)", err=True)
        raise typer.Exit(2)
    from sqlalchemy.exc import DBAPIError

    from .assembly import store_problem

    _cfg, found, store, model = _migration_context(config, supergraph)
    try:
        migration = _find_migration(found, name)
        try:
            move = move_stage(store, migration, target, by=by, percent=percent, reason=reason, force=force,
                              model=model)
        except StageConflict as conflict:
            typer.echo(f"turnout: {conflict}; nothing changed (run the command again to decide on the new stage)",
                       err=True)
            raise typer.Exit(1) from None
        except DBAPIError as error:  # the store went away between opening it and the move
            typer.echo(f"turnout: the store stopped answering ({store_problem(error)}); the move was not made "
                       "(it is one transaction): run the command again once the store is back", err=True)
            raise typer.Exit(1) from None
    finally:
        store.close()
    if move.unchanged:
        typer.echo(f"{name}: already {move.state.stage} at {move.state.percent:g}%; nothing changed")
        return
    if move.change is None:
        typer.echo(f"turnout: {name} cannot move from {move.state.stage} to {target}: {move.verdict.summary}",
                   err=True)
        typer.echo("(use --force --reason '...' to move anyway; it is logged)", err=True)
        raise typer.Exit(1)
    change = move.change
    shown = {Stage.MIGRATED: f" at {change.percent:g}%",
             Stage.SIDE_BY_SIDE: f" comparing {change.percent:g}% of requests"}.get(target, "")
    forced = f" (forced past: {move.verdict.summary})" if change.forced else ""
    typer.echo(f"{name}: {change.from_stage} -> {change.to_stage}{shown}{forced}")


@app.command()
def plan(
    query_file: Annotated[Path, typer.Argument(help="A file with the GraphQL operation.")],
    supergraph: Annotated[str | None, typer.Option(help="Supergraph SDL: a file path or URL.")] = None,
    operation_name: Annotated[str | None, typer.Option("--operation-name")] = None,
    migrated: Annotated[list[str] | None, typer.Option(
        "--migrated", help="Plan as if this migration (of --config) were migrated: its fields from its new "
                           "subgraph. Repeatable.")] = None,
    label: Annotated[list[str] | None, typer.Option(
        "--label", help="An @override label to plan as active. Repeatable.")] = None,
    config: ConfigOption = None,
) -> None:
    """Print the query plan of an operation. With --config, the configured migrations are routed to their old
    subgraph unless named by --migrated (as the gateway routes them in monolith / migrated)."""
    from types import MappingProxyType

    from graphql import GraphQLError, parse, validate

    from .planner.display import print_plan
    from .planner.query_planner import PlanningError, QueryPlanner
    from .planner.routing import Routing

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
        from .assembly import AssemblyError, build_migrations

        cfg = build_config(config, {("supergraph",): supergraph})
        if not cfg.supergraph:
            typer.echo("turnout: no supergraph: pass --supergraph PATH|URL (or set it in the config)", err=True)
            raise typer.Exit(2)
        model = load_supergraph(cfg.supergraph)
        try:
            found = build_migrations(cfg.migrations, model)
        except AssemblyError as error:
            typer.echo(f"turnout: {error}", err=True)
            raise typer.Exit(2) from None
        moved = {_find_migration(found, name).name for name in migrated or ()}
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


def main() -> None:
    app()
