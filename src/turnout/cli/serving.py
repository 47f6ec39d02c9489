"""The commands that serve: `turnout serve`, `compose`, `dev` and `demo`, and the app `serve --workers N` runs."""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from ..config import Config
from ..observability.logs import configure_logging
from ..supergraph.join_spec import read_supergraph
from ..supergraph.model import SupergraphError
from .common import build_config, load_supergraph

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from ..gateway import Gateway

__all__ = ["ServeError", "compose", "demo", "dev", "serve", "serving_app", "worker_app"]


SERVE_CONFIG_ENV = (
    "TURNOUT_SERVE_CONFIG"  # how `serve --workers N` hands its settings to the worker processes
)
SERVE_CONFIG_FILE_ENV = "TURNOUT_SERVE_CONFIG_FILE"  # ... the config file they re-read on change or SIGHUP
SERVE_OVERRIDES_ENV = "TURNOUT_SERVE_OVERRIDES"  # ... and the flags applied over it again
WORKER_STARTUP_FAILURE = 3  # uvicorn.config.STARTUP_FAILURE
SWITCH_INTERVAL = (
    0.0005  # seconds a thread holds the GIL before the event loop's thread gets it (see serving_app)
)


class ServeError(Exception):
    """The gateway cannot be served as configured (the message says why)."""


def serving_app(
    cfg: Config, config_path: Path | None = None, overrides: dict[tuple[str, ...], object] | None = None
) -> Starlette:
    """The ASGI app `turnout serve` runs: the gateway of the configured supergraph behind a holder that the
    supergraph poller swaps on change, with the process's services (store, recorder) kept across reloads; with
    `config_path`, that file is re-read on SIGHUP and when it changes (`overrides`: the flags, applied again)."""
    from ..assembly import AssemblyError, build_gateway, build_migrations, build_services
    from ..config_reload import ConfigReloader
    from ..reload import GatewayHolder, SourceError, SupergraphReloader, open_source
    from ..server.admin import AdminServer, BearerTokens, create_admin_app
    from ..server.app import create_app
    from ..server.connections import ConnectionLimits, configure, descriptor_budget

    # The event loop shares the GIL with the threads the gateway runs beside it (the recorder's store writes,
    # parsing, validation and planning off the loop); by default a thread that holds it keeps it for 5 ms before the
    # loop gets a turn, which a request waiting on the loop pays. 0.5 ms bounds that wait: bench/side_by_side at
    # 120 req/s, p99 at 10% / 0% sampling 1.25, 0.89, 0.61 per round (was 2.17, 1.76, 0.91), at 100% sampling
    # p99 22-37 ms (was 44-95 ms).
    sys.setswitchinterval(SWITCH_INTERVAL)
    configure(
        ConnectionLimits(
            header_timeout=cfg.server.header_timeout,
            body_timeout=cfg.server.body_timeout,
            max_connections=descriptor_budget(cfg.server.max_connections),
        )
    )
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
    holder = GatewayHolder(
        gateway,
        version=first.version,
        drain_timeout=cfg.server.shutdown_timeout,
        on_start=[services.start],
        on_close=[services.close],
    )

    def build(text: str) -> Gateway:  # with the configuration in force now (a config reload may change it)
        return build_gateway(live.current if live is not None else cfg, read_supergraph(text), services)

    reloader = SupergraphReloader(holder, source, build, interval=cfg.reload_interval)
    reloader.text = first
    live = None
    if config_path is not None:
        live = ConfigReloader(
            config_path, cfg, reloader, services, overrides=overrides, interval=cfg.reload_interval
        )
    logging.getLogger("turnout.reload").info("serving supergraph %s (%s)", source.shown, first.version)
    admin = None
    if cfg.admin.enabled:
        tokens = BearerTokens(cfg.admin.credentials(), protect_reads=cfg.admin.protect_reads)
        admin_app = create_admin_app(holder, tokens, services.store)
        if admin_app is not None:  # without migrations there is nothing to show
            admin = AdminServer(admin_app, cfg.admin.host, cfg.admin.port)
    return create_app(
        holder,
        graphql_path=cfg.server.graphql_path,
        max_body_bytes=cfg.server.max_body_bytes,
        reloader=reloader,
        shutdown_timeout=cfg.server.shutdown_timeout,
        admin=admin,
        recorder=services.recorder,
        drain_delay=cfg.server.drain_delay,
        access_log=cfg.access_log,
        background=[live] if live is not None else [],
    )


def worker_app() -> Starlette:
    """The app factory of one `serve --workers N` process: the settings come from the parent's environment."""
    raw = os.environ.get(SERVE_CONFIG_ENV)
    if not raw:
        raise RuntimeError(
            f"{SERVE_CONFIG_ENV} is not set: worker_app is started by `turnout serve --workers N`"
        )
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


def serve(
    supergraph: Annotated[
        str | None,
        typer.Option(
            help="Supergraph SDL: a file path or URL; or a composition config (supergraph.yaml, rover's format), "
            "composed at start and at every reload. [env: TURNOUT_SUPERGRAPH]"
        ),
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="turnout.yaml with further settings.", envvar="TURNOUT_CONFIG")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on. [env: TURNOUT_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on. [env: TURNOUT_PORT]")] = None,
    admin_host: Annotated[
        str | None,
        typer.Option(
            help="Interface of the admin listener: dashboard, its API and writes (default 127.0.0.1). "
            "[env: TURNOUT_ADMIN_HOST]"
        ),
    ] = None,
    admin_port: Annotated[
        int | None, typer.Option(help="Port of the admin listener (default 4001). [env: TURNOUT_ADMIN_PORT]")
    ] = None,
    introspection: Annotated[
        bool | None,
        typer.Option(
            "--introspection/--no-introspection", help="Answer __schema/__type queries (default: off)."
        ),
    ] = None,
    subgraph_timeout: Annotated[
        float | None, typer.Option(help="Default seconds per subgraph request.")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="debug, info, warning or error.")] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            help="Worker processes sharing the port, each with its own gateway (default 1). [env: TURNOUT_WORKERS]"
        ),
    ] = None,
    reload_interval: Annotated[
        float | None,
        typer.Option(
            help="Seconds between checks of the supergraph for a new one; 0 never (default 10). "
            "[env: TURNOUT_RELOAD_INTERVAL]"
        ),
    ] = None,
    shutdown_timeout: Annotated[
        float | None,
        typer.Option(
            help="On SIGTERM/SIGINT, seconds running requests get to finish (default 30); queued comparisons then get "
            "up to 5 s more before the evidence is flushed. [env: TURNOUT_SHUTDOWN_TIMEOUT]"
        ),
    ] = None,
    drain_delay: Annotated[
        float | None,
        typer.Option(
            help="On SIGTERM, seconds /ready answers 503 while requests are still served, before the listener "
            "closes (default 0). [env: TURNOUT_DRAIN_DELAY]"
        ),
    ] = None,
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

    from ..server.connections import PROTOCOL as CONNECTION_PROTOCOL

    overrides: dict[tuple[str, ...], object] = {
        ("supergraph",): supergraph,
        ("server", "host"): host,
        ("server", "port"): port,
        ("admin", "host"): admin_host,
        ("admin", "port"): admin_port,
        ("server", "introspection"): introspection,
        ("subgraph_timeout",): subgraph_timeout,
        ("log_level",): log_level,
        ("server", "workers"): workers,
        ("reload_interval",): reload_interval,
        ("server", "shutdown_timeout"): shutdown_timeout,
        ("server", "drain_delay"): drain_delay,
    }
    cfg = build_config(config, overrides)
    if not cfg.supergraph:
        typer.echo("turnout: no supergraph: pass --supergraph PATH|URL (or set it in the config)", err=True)
        raise typer.Exit(2)
    configure_logging(cfg.log_level, cfg.log_format)
    options: dict[str, Any] = {
        "host": cfg.server.host,
        "port": cfg.server.port,
        "log_level": cfg.log_level,
        "access_log": False,
        **(
            {"log_config": None} if cfg.log_format == "json" else {}
        ),  # uvicorn's lines through our JSON handler
        "timeout_graceful_shutdown": max(1, math.ceil(cfg.server.shutdown_timeout)),
        "timeout_keep_alive": cfg.server.keepalive_timeout,
        "http": CONNECTION_PROTOCOL,  # header/body timeouts
    }
    if cfg.server.workers > 1:
        _check_serving(cfg)  # what each worker will build: refused here, once, with exit code 2
        os.environ[SERVE_CONFIG_ENV] = cfg.model_dump_json(by_alias=True)
        if config is not None:
            os.environ[SERVE_CONFIG_FILE_ENV] = str(config.resolve())
            os.environ[SERVE_OVERRIDES_ENV] = orjson.dumps(
                [[list(k), v] for k, v in overrides.items() if v is not None]
            ).decode()
        _run_workers(
            uvicorn.Config("turnout.cli:worker_app", factory=True, workers=cfg.server.workers, **options)
        )
        return
    try:
        application = serving_app(cfg, config, overrides)
    except ServeError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; with these handlers in place
    # that ends the command normally (exit code 0) instead of killing the process or raising KeyboardInterrupt
    stopped_by: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda number, _frame: stopped_by.append(number))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        uvicorn.run(application, **options)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stopped_by:
        logging.getLogger("turnout").info("stopped by %s", signal.Signals(stopped_by[0]).name)


def compose(
    config: Annotated[Path, typer.Option(help="Composition config in rover's supergraph.yaml format.")],
    output: Annotated[Path | None, typer.Option(help="Write the supergraph here (default: stdout).")] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for each subgraph_url's _service.sdl.")
    ] = 30.0,
) -> None:
    """Compose the subgraphs of a supergraph.yaml into a Federation 2 supergraph (join v0.3+).

    Each subgraph's SDL comes from `schema: {file: PATH}` (relative to the config) or is fetched from
    `schema: {subgraph_url: URL}` with `{ _service { sdl } }`. Errors (Apollo's codes, the subgraphs and lines)
    go to stderr with exit code 1; hints (OVERRIDE_MIGRATION_IN_PROGRESS...) to stderr too.
    """
    from ..compose import ConfigError, SubgraphSdlError, load_sdls, read_config
    from ..compose import compose as compose_subgraphs

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


def dev(
    config: Annotated[Path, typer.Option(help="Composition config in rover's supergraph.yaml format.")],
    settings: Annotated[
        Path | None,
        typer.Option(
            help="turnout.yaml with further settings (migrations, store...).", envvar="TURNOUT_CONFIG"
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4000,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between checks of the SDL files and _service.sdl answers.")
    ] = 1.0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
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
        ("supergraph",): str(config),
        ("server", "host"): host,
        ("server", "port"): port,
        ("reload_interval",): poll_interval,
        ("server", "introspection"): True,
        ("log_level",): log_level,
    }
    cfg = build_config(settings, overrides)
    configure_logging(cfg.log_level, cfg.log_format)
    try:  # with --settings, that file is re-read on change (migrations...), as by `serve --config`
        application = serving_app(cfg, settings, overrides)
    except ServeError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"turnout dev: serving {config} on http://{host}:{port}{cfg.server.graphql_path}", err=True)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": cfg.log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 2,
        **({"log_config": None} if cfg.log_format == "json" else {}),
    }
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
    from ..assembly import AssemblyError, build_migrations, open_store

    assert cfg.supergraph
    model = load_supergraph(cfg.supergraph)
    try:
        build_migrations(cfg.migrations, model)
        if cfg.migrations:
            open_store(cfg).close()
    except AssemblyError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None


def demo(
    host: Annotated[
        str, typer.Option(help="Interface for the gateway and the example subgraphs.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Gateway port (GraphQL).")] = 4000,
    admin_port: Annotated[int, typer.Option(help="Admin port: the dashboard at /migrations/.")] = 4001,
    admin_token: Annotated[
        str | None, typer.Option(help="The dashboard's write token (default: a random one, printed).")
    ] = None,
    subgraph_port: Annotated[
        int, typer.Option(help="First of three ports for the example subgraphs.")
    ] = 4201,
    duration: Annotated[
        float | None,
        typer.Option(help="After the story, keep serving this many seconds (default: until Ctrl-C)."),
    ] = None,
    step_seconds: Annotated[
        float, typer.Option(help="How long traffic flows at each step of the story.")
    ] = 8.0,
    store: Annotated[Path | None, typer.Option(help="SQLite file for the demo's evidence.")] = None,
    examples: Annotated[Path | None, typer.Option(help="The repository's examples/ folder.")] = None,
) -> None:
    """A monolith and two new services behind the gateway, with traffic: one migration goes all the way,
    another stays in side_by_side because of its diffs, and a stopped service shows a fallback."""
    import asyncio

    from ..demo import DemoError, run_demo

    try:
        asyncio.run(
            run_demo(
                host=host,
                port=port,
                admin_port=admin_port,
                admin_token=admin_token,
                subgraph_port=subgraph_port,
                duration=duration,
                examples=examples,
                step_seconds=step_seconds,
                store_path=store,
            )
        )
    except DemoError as error:
        typer.echo(f"turnout: {error}", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        pass
