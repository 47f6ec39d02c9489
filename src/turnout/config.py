"""One Config for the whole process: read from YAML, overridden by TURNOUT_* variables and command flags."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .transport.http_client import DEFAULT_MAX_RESPONSE_BYTES

__all__ = [
    "LOG_LEVELS",
    "AdminConfig",
    "CohortConfig",
    "Config",
    "ConfigError",
    "CsrfConfig",
    "GatesConfig",
    "HeaderRuleConfig",
    "LimitsConfig",
    "MigrationConfig",
    "RuleConfig",
    "ServerConfig",
    "ShadowConfig",
    "StoreConfig",
    "SubgraphConfig",
    "load_config",
]


class ConfigError(ValueError):
    """A configuration file or variable that cannot be used; the message says which and why."""


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# hop-by-hop and transport-owned headers: no rule may set them (see turnout.transport.base.RESERVED_HEADERS)
_RESERVED_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-type",
        "accept",
        "accept-encoding",
        "content-encoding",
    }
)


def _header_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not _HEADER_NAME.match(value):
        raise ValueError(f"{value!r} is not a valid header name")
    name = value.lower()
    if name in _RESERVED_HEADERS or name.startswith("proxy-"):
        raise ValueError(f"{name!r} is a hop-by-hop or transport header; it is never sent to subgraphs")
    return name


def _header_value(value: str | None) -> str | None:
    if value is not None and any(c in value for c in "\r\n\0"):
        raise ValueError("a header value cannot hold line breaks or NUL")
    return value


def _regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"{value!r} is not a regular expression: {error}") from None
    return value


class _HeaderMatch(_Strict):
    named: str | None = None
    matching: str | None = Field(default=None, description="A regex the whole header name must match.")

    _name = field_validator("named")(classmethod(lambda cls, v: _header_name(v)))
    _pattern = field_validator("matching")(classmethod(lambda cls, v: _regex(v)))

    @model_validator(mode="after")
    def _one_of(self) -> _HeaderMatch:
        if (self.named is None) == (self.matching is None):
            raise ValueError("give exactly one of `named` or `matching`")
        return self


class PropagateRule(_HeaderMatch):
    """Copy client headers: `named` (optionally to `rename`, with a `default`) or every one `matching`."""

    rename: str | None = None
    default: str | None = None

    _rename = field_validator("rename")(classmethod(lambda cls, v: _header_name(v)))
    _default = field_validator("default")(classmethod(lambda cls, v: _header_value(v)))

    @model_validator(mode="after")
    def _named_only(self) -> PropagateRule:
        if self.matching is not None and (self.rename is not None or self.default is not None):
            raise ValueError("`rename` and `default` go with `named`, not `matching`")
        return self


class InsertRule(_Strict):
    """Set header `name` to the static `value`."""

    name: str
    value: str

    _name = field_validator("name")(classmethod(lambda cls, v: _header_name(v)))
    _value = field_validator("value")(classmethod(lambda cls, v: _header_value(v)))


class RemoveRule(_HeaderMatch):
    """Drop headers the rules before set: `named`, or every one `matching`."""


class HeaderRuleConfig(_Strict):
    """One header rule of a subgraph (as Apollo Router's): exactly one of propagate, insert, remove."""

    propagate: PropagateRule | None = None
    insert: InsertRule | None = None
    remove: RemoveRule | None = None

    @model_validator(mode="after")
    def _one_action(self) -> HeaderRuleConfig:
        if sum(a is not None for a in (self.propagate, self.insert, self.remove)) != 1:
            raise ValueError("a header rule is exactly one of `propagate`, `insert` or `remove`")
        return self


class SubgraphConfig(_Strict):
    """Per-subgraph settings, by subgraph name."""

    url: str | None = Field(default=None, description="Replaces the URL the supergraph gives.")
    timeout: float | None = Field(default=None, gt=0, description="Seconds a request to it may take.")
    pool_size: int | None = Field(
        default=None, ge=1, description="Its connections (default: subgraph_pool_size)."
    )
    expose_errors: bool = Field(
        default=False, description="Clients see its errors as written (else redacted)."
    )
    headers: list[HeaderRuleConfig] = Field(
        default_factory=list, description="Which client headers it receives, in order; none without rules."
    )
    deduplicate_queries: bool | None = Field(
        default=None,
        description="In-flight deduplication of identical queries to it (default: the global one).",
    )


class LimitsConfig(_Strict):
    """What one request may cost (see turnout.admission.limits.Limits for the reasons of each default).

    `null` turns a limit off."""

    max_tokens: int | None = Field(default=15_000, gt=0, description="Lexical tokens (and comments) parsed.")
    max_nesting: int | None = Field(
        default=200, gt=0, description="Nesting of selection sets, lists, objects."
    )
    max_depth: int | None = Field(default=100, gt=0, description="Depth of fields, fragments followed.")
    max_aliases: int | None = Field(default=100, ge=0, description="Aliases, each fragment spread counted.")
    max_root_fields: int | None = Field(default=50, gt=0, description="Root fields, fragments expanded.")
    max_directives: int | None = Field(default=10, ge=0, description="Directives on one field or fragment.")
    max_selections: int | None = Field(
        default=10_000, gt=0, description="Fields and fragments planned, fragments expanded and merged."
    )
    batching: bool = Field(default=False, description="Accept a JSON array of operations in one POST.")
    max_batch_size: int = Field(default=10, ge=1)
    max_variables_bytes: int | None = Field(default=512 * 1024, gt=0, description="The variables as JSON.")
    max_variables_depth: int | None = Field(default=64, gt=0, description="Nesting of lists and objects.")


class CsrfConfig(_Strict):
    """CSRF prevention (see turnout.admission.csrf): requests a browser sends without a preflight are refused."""

    enabled: bool = True
    required_headers: list[str] = Field(
        default_factory=lambda: ["x-apollo-operation-name", "apollo-require-preflight"]
    )

    @field_validator("required_headers")
    @classmethod
    def _valid_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name")
        return [name.lower() for name in value]


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=4000, ge=0, le=65535)
    graphql_path: str = "/graphql"
    introspection: bool = False  # like Apollo Router; turn on for development (--introspection)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0)
    workers: int = Field(default=1, ge=1, le=256, description="Worker processes, each with its own gateway.")
    execution_limit: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        default="auto",
        description="Requests executed at once by each worker; the others wait their turn, first come first "
        "served, within request_timeout. auto: as few as keep the worker's event loop busy (from 8, growing "
        "while requests wait on slow subgraphs); fewer interleaved requests keep each one's data in the CPU's caches "
        "(measured: -20% CPU per request under load). A number fixes it.",
    )
    shutdown_timeout: float = Field(
        default=30.0, gt=0, description="Seconds in-flight requests get on SIGTERM."
    )
    drain_delay: float = Field(
        default=0.0,
        ge=0,
        le=300,
        description="On SIGTERM, seconds /ready fails while requests are still served, "
        "before the listener closes (so load balancers stop sending first).",
    )
    header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a client may take to send its headers."
    )
    body_timeout: float = Field(default=30.0, gt=0, description="Seconds a client may take to send its body.")
    keepalive_timeout: int = Field(
        default=5, ge=1, description="Seconds an idle kept-alive connection stays open."
    )
    max_connections: int = Field(
        default=10_000,
        ge=1,
        description="Open client connections; past it a new one gets 503 (fewer if the "
        "process's descriptor limit does not leave room).",
    )


class AdminConfig(_Strict):
    """The operator plane: the migrations dashboard, its JSON API and its writes, on a listener of its own
    (loopback by default), never on the public GraphQL port."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=4001, ge=0, le=65535)
    tokens: dict[str, str] = Field(
        default_factory=dict,
        description="Bearer tokens by the name of who holds them; a write is recorded under that name.",
    )
    token: str | None = Field(
        default=None, description="One token, recorded as 'admin' (TURNOUT_ADMIN_TOKEN)."
    )
    protect_reads: bool = Field(default=False, description="The dashboard and its API need a token too.")

    @field_validator("tokens")
    @classmethod
    def _long_enough(cls, value: dict[str, str]) -> dict[str, str]:
        for name, token in value.items():
            if len(token) < 16:
                raise ValueError(f"the token of {name!r} is shorter than 16 characters")
        return value

    @field_validator("token")
    @classmethod
    def _token_long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < 16:
            raise ValueError("the admin token is shorter than 16 characters")
        return value

    def credentials(self) -> dict[str, str]:
        """Token -> who holds it."""
        found = {token: name for name, token in self.tokens.items()}
        if self.token:
            found[self.token] = "admin"
        return found


class RuleConfig(_Strict):
    """How one coordinate is compared (see CoordinateRule)."""

    ignore: bool = False
    unordered: bool = False
    float_tolerance: float | None = Field(default=None, ge=0)
    null_equals_missing: bool = False


class GatesConfig(_Strict):
    min_match_rate: float = Field(default=0.99, ge=0, le=1)
    min_comparisons: int = Field(default=100, ge=0)
    min_operations: int = Field(default=1, ge=0)
    removed_after_seconds: float = Field(default=86400.0, ge=0)
    evidence_window_seconds: float | None = Field(
        default=None, gt=0, description="Gates read evidence since the stage began and no older than this."
    )


class MigrationConfig(_Strict):
    """One migration: fields moving from one subgraph to another (or bound to an @override label)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    from_subgraph: str | None = Field(default=None, alias="from")
    to_subgraph: str | None = Field(default=None, alias="to")
    fields: list[str] = Field(default_factory=list)
    rare: list[str] = Field(
        default_factory=list,
        description="Fields rarely asked for: the gates need them compared once, not min_comparisons times.",
    )
    label: str | None = None
    rules: dict[str, RuleConfig] = Field(default_factory=dict)
    sample_rate: float = Field(default=0.1, ge=0, le=1)
    noise_rate: float = Field(default=0.05, ge=0, le=1)
    shadow_mutations: bool = False
    reverse_compare: bool = False
    gates: GatesConfig = Field(default_factory=GatesConfig)


class StoreConfig(_Strict):
    """Where stages and evidence live: a SQLite file (one instance) or PostgreSQL (several)."""

    url: str = "sqlite:///turnout.db"
    full_values: bool = False
    redact_patterns: list[str] = Field(default_factory=list)
    samples_per_hour: int = Field(default=5, ge=0)
    retention_days: float = Field(default=14.0, gt=0)
    flush_interval: float = Field(default=1.0, gt=0)
    max_pending: int = Field(
        default=50_000,
        ge=100,
        description="Evidence rows kept in memory while the store cannot be written to; "
        "past it new evidence is dropped and counted (turnout_evidence_dropped_total).",
    )


class CohortConfig(_Strict):
    """What makes requests one cohort (sticky rollouts): a header, a JWT claim or a variable."""

    header: str | None = None
    claim: str | None = None
    variable: str | None = None


class ShadowConfig(_Strict):
    """The comparisons' queue: bounded, dropping (and counting) what it cannot take or took too long to run."""

    queue_size: int = Field(default=5000, ge=1)
    concurrency: int = Field(default=16, ge=1, description="Comparisons running at once (they mostly wait).")
    timeout: float = Field(default=30.0, gt=0)
    max_wait: float = Field(
        default=10.0, gt=0, description="Seconds a comparison may wait; later it is dropped."
    )


class TracingConfig(_Strict):
    """OpenTelemetry spans (a request, its planning, each subgraph call), exported over OTLP/HTTP."""

    otlp_endpoint: str | None = Field(
        default=None, description="e.g. http://127.0.0.1:4318/v1/traces; off when unset."
    )
    service_name: str = "turnout"


class Config(_Strict):
    """Everything turnout reads at start-up."""

    supergraph: str | None = Field(default=None, description="Supergraph SDL: a file path or an http(s) URL.")
    server: ServerConfig = Field(default_factory=ServerConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)
    subgraph_timeout: float = Field(default=30.0, gt=0, description="Default seconds per subgraph request.")
    subgraph_max_response_bytes: int = Field(
        default=DEFAULT_MAX_RESPONSE_BYTES,
        ge=1024,
        description="The largest response body read from a subgraph, as sent and once decompressed; a larger "
        "one fails that fetch.",
    )
    subgraph_pool_size: int = Field(
        default=100, ge=1, description="Connections per subgraph (each its own pool)."
    )
    request_timeout: float = Field(default=60.0, gt=0, description="Seconds a whole client request may take.")
    deduplicate_queries: bool = Field(
        default=False, description="Identical queries to a subgraph while one is in flight share its answer."
    )
    subgraphs: dict[str, SubgraphConfig] = Field(default_factory=dict)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    csrf: CsrfConfig = Field(default_factory=CsrfConfig)
    log_level: str = Field(default="warning", description="critical, error, warning, info or debug.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text, or json: one JSON object per line (request id, trace id, migration, outcome...).",
    )
    access_log: bool = Field(
        default=False,
        description="One log line (info) per GraphQL request: its request "
        "id, trace id, operation, status, outcome and duration.",
    )
    metrics: bool = True
    tracing: TracingConfig = Field(default_factory=TracingConfig)
    migrations: list[MigrationConfig] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=StoreConfig)
    cohort: CohortConfig = Field(default_factory=CohortConfig)
    shadow: ShadowConfig = Field(default_factory=ShadowConfig)
    refresh_interval: float = Field(default=2.0, gt=0, description="Seconds between reads of the stages.")
    reload_interval: float = Field(
        default=10.0, ge=0, description="Seconds between checks of the supergraph for a new one; 0: never."
    )

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}; one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("migrations")
    @classmethod
    def _unique_migration_names(cls, value: list[MigrationConfig]) -> list[MigrationConfig]:
        seen: set[str] = set()
        for migration in value:
            if migration.name in seen:
                raise ValueError(f"two migrations are named {migration.name!r}; names must be unique")
            seen.add(migration.name)
        return value

    def subgraph_urls(self) -> dict[str, str]:
        return {name: s.url for name, s in self.subgraphs.items() if s.url}

    def subgraph_timeouts(self) -> dict[str, float]:
        return {name: s.timeout for name, s in self.subgraphs.items() if s.timeout}

    def deduplicated_subgraphs(self, names: Iterable[str]) -> set[str]:
        """Of the subgraphs `names`, those whose identical in-flight queries are deduplicated."""

        def on(name: str) -> bool:
            own = self.subgraphs[name].deduplicate_queries if name in self.subgraphs else None
            return self.deduplicate_queries if own is None else own

        return {name for name in names if on(name)}


# TURNOUT_* variables and the settings they set
_ENV: dict[str, tuple[str, ...]] = {
    "TURNOUT_SUPERGRAPH": ("supergraph",),
    "TURNOUT_HOST": ("server", "host"),
    "TURNOUT_PORT": ("server", "port"),
    "TURNOUT_GRAPHQL_PATH": ("server", "graphql_path"),
    "TURNOUT_INTROSPECTION": ("server", "introspection"),
    "TURNOUT_MAX_BODY_BYTES": ("server", "max_body_bytes"),
    "TURNOUT_SUBGRAPH_TIMEOUT": ("subgraph_timeout",),
    "TURNOUT_REQUEST_TIMEOUT": ("request_timeout",),
    "TURNOUT_OTLP_ENDPOINT": ("tracing", "otlp_endpoint"),
    "TURNOUT_DEDUPLICATE_QUERIES": ("deduplicate_queries",),
    "TURNOUT_LOG_LEVEL": ("log_level",),
    "TURNOUT_LOG_FORMAT": ("log_format",),
    "TURNOUT_ACCESS_LOG": ("access_log",),
    "TURNOUT_STORE_URL": ("store", "url"),
    "TURNOUT_WORKERS": ("server", "workers"),
    "TURNOUT_EXECUTION_LIMIT": ("server", "execution_limit"),
    "TURNOUT_ADMIN_HOST": ("admin", "host"),
    "TURNOUT_ADMIN_PORT": ("admin", "port"),
    "TURNOUT_ADMIN_TOKEN": ("admin", "token"),
    "TURNOUT_SHUTDOWN_TIMEOUT": ("server", "shutdown_timeout"),
    "TURNOUT_DRAIN_DELAY": ("server", "drain_delay"),
    "TURNOUT_MAX_CONNECTIONS": ("server", "max_connections"),
    "TURNOUT_RELOAD_INTERVAL": ("reload_interval",),
}


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any, source: str) -> None:
    for depth, key in enumerate(path[:-1]):
        inner = data.get(key)
        if inner is None:
            inner = data[key] = {}
        elif not isinstance(inner, dict):
            where = ".".join(path[: depth + 1])
            raise ConfigError(f"{where} must be a mapping of settings to take {source}")
        data = inner
    data[path[-1]] = value


def _yaml_problem(error: yaml.YAMLError) -> str:
    """`line L, column C: problem` of a YAML error (PyYAML's own text names an anonymous string, not the file)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    context = getattr(error, "context", None)
    text = ", ".join(str(part) for part in (context, problem) if part) or str(error)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {text}"
    return text


_MESSAGES = {
    "extra_forbidden": "unknown setting",
    "missing": "required setting missing",
}


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problems(error: ValidationError, sources: Mapping[tuple[str, ...], str]) -> str:
    problems = []
    for e in error.errors():
        loc = tuple(e["loc"])
        message = _MESSAGES.get(e["type"], e["msg"])
        if e["type"] == "value_error":  # our own validators: drop pydantic's "Value error, " prefix
            message = str(e.get("ctx", {}).get("error", message))
        source = sources.get(tuple(str(p) for p in loc))
        problems.append(f"{_where(loc)}: {message}" + (f" (from {source})" if source else ""))
    return "; ".join(problems)


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[tuple[str, ...], Any] | None = None,
) -> Config:
    """Read the YAML file (if any), then TURNOUT_* variables, then explicit overrides (command flags)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"cannot read {path}: it is not UTF-8 text") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{path} is not valid YAML: {_yaml_problem(error)}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of settings, not {type(loaded).__name__}")
        data = loaded or {}
    where = f" in {path}" if path else ""
    sources: dict[tuple[str, ...], str] = {}
    variables = env if env is not None else os.environ
    try:
        for name, target in _ENV.items():
            value = variables.get(name)
            if value is not None and value != "":
                _set(data, target, value, name)
                sources[target] = name
        for target, value in (overrides or {}).items():
            if value is not None:
                _set(data, target, value, "a command-line option")
                sources[target] = "a command-line option"
    except ConfigError as error:
        raise ConfigError(f"invalid configuration{where}: {error}") from None
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"invalid configuration{where}: {_problems(error, sources)}") from None
