"""A composition config in rover's `supergraph.yaml` format, and the subgraph SDLs it points at.

federation_version: =2.7.1
subgraphs:
  products:
    routing_url: http://products:4001/graphql
    schema:
      file: ./products.graphql          # relative to this file
  reviews:
    routing_url: http://reviews:4002/graphql
    schema:
      subgraph_url: http://reviews:4002/graphql   # asks it for `{ _service { sdl } }`
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .compose import SubgraphInput

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "CompositionConfig",
    "ConfigError",
    "SubgraphConfig",
    "SubgraphSdlError",
    "is_composition_config",
    "load_sdls",
    "load_sdls_async",
    "read_config",
]

SERVICE_QUERY = "query SubgraphIntrospectQuery { _service { sdl } }"


class ConfigError(Exception):
    """The composition config cannot be read or is not in the expected shape (the message says where)."""


class SubgraphSdlError(Exception):
    """A subgraph's SDL could not be read or fetched (the message names the subgraph)."""


@dataclass(frozen=True)
class SubgraphConfig:
    name: str
    routing_url: str
    file: Path | None = None
    subgraph_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompositionConfig:
    path: Path
    subgraphs: tuple[SubgraphConfig, ...]
    federation_version: str | None = None


def is_composition_config(text: str) -> bool:
    """Does this text look like a `supergraph.yaml` (rather than a supergraph SDL)?"""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return isinstance(data, dict) and isinstance(data.get("subgraphs"), dict)


def read_config(path: Path | str) -> CompositionConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("subgraphs"), dict) or not data["subgraphs"]:
        raise ConfigError(f"{path}: expected a mapping with `subgraphs: NAME: {{routing_url, schema}}`")
    subgraphs = []
    for name, entry in data["subgraphs"].items():
        subgraphs.append(_subgraph(path, str(name), entry))
    version = data.get("federation_version")
    return CompositionConfig(
        path=path, subgraphs=tuple(subgraphs), federation_version=None if version is None else str(version)
    )


def _subgraph(path: Path, name: str, entry: Any) -> SubgraphConfig:
    where = f"{path}: subgraphs.{name}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with routing_url and schema")
    schema = entry.get("schema")
    if not isinstance(schema, dict):
        raise ConfigError(f"{where}.schema: expected `file: PATH` or `subgraph_url: URL`")
    routing_url = entry.get("routing_url") or schema.get("subgraph_url")
    if not isinstance(routing_url, str):
        raise ConfigError(f"{where}.routing_url: missing (a string URL)")
    headers = schema.get("introspection_headers") or {}
    if not isinstance(headers, dict):
        raise ConfigError(f"{where}.schema.introspection_headers: expected a mapping")
    if isinstance(schema.get("file"), str):
        return SubgraphConfig(
            name=name, routing_url=routing_url, file=(path.parent / schema["file"]).resolve()
        )
    if isinstance(schema.get("subgraph_url"), str):
        url = schema["subgraph_url"]
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.schema.subgraph_url: not an http(s) URL: {url!r}")
        return SubgraphConfig(
            name=name,
            routing_url=routing_url,
            subgraph_url=url,
            headers={str(k): str(v) for k, v in headers.items()},
        )
    raise ConfigError(
        f"{where}.schema: expected `file: PATH` or `subgraph_url: URL` "
        f"(graphref and introspection of a supergraph are not supported)"
    )


async def _fetch(session: aiohttp.ClientSession, subgraph: SubgraphConfig) -> str:
    import aiohttp

    assert subgraph.subgraph_url is not None
    try:
        async with session.post(
            subgraph.subgraph_url,
            json={"query": SERVICE_QUERY},
            headers={"accept": "application/json", **subgraph.headers},
        ) as response:
            if response.status != 200:
                raise SubgraphSdlError(
                    f"subgraph {subgraph.name}: {subgraph.subgraph_url} answered HTTP {response.status}"
                )
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        raise SubgraphSdlError(
            f"subgraph {subgraph.name}: cannot fetch _service.sdl from "
            f"{subgraph.subgraph_url}: {type(error).__name__}: {error}"
        ) from None
    sdl = ((body or {}).get("data") or {}).get("_service", {}) or {}
    text = sdl.get("sdl") if isinstance(sdl, dict) else None
    if not isinstance(text, str):
        errors = (body or {}).get("errors")
        raise SubgraphSdlError(
            f"subgraph {subgraph.name}: {subgraph.subgraph_url} gave no _service.sdl"
            + (f" (errors: {errors})" if errors else "")
        )
    return text


async def load_sdls_async(config: CompositionConfig, timeout: float = 30.0) -> list[SubgraphInput]:
    """Each subgraph's SDL: read from its file, or fetched from its `_service { sdl }`."""
    remote = [s for s in config.subgraphs if s.subgraph_url is not None]
    fetched: dict[str, str] = {}
    if remote:
        import aiohttp  # here only: a gateway process that never fetches an SDL does not load it (memory)

        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            texts = await asyncio.gather(*(_fetch(session, s) for s in remote))
        fetched = {s.name: text for s, text in zip(remote, texts, strict=True)}
    inputs = []
    for subgraph in config.subgraphs:
        if subgraph.file is not None:
            try:
                sdl = subgraph.file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise SubgraphSdlError(
                    f"subgraph {subgraph.name}: cannot read {subgraph.file}: {error}"
                ) from None
        else:
            sdl = fetched[subgraph.name]
        inputs.append(SubgraphInput(name=subgraph.name, url=subgraph.routing_url, sdl=sdl))
    return inputs


def load_sdls(config: CompositionConfig, timeout: float = 30.0) -> list[SubgraphInput]:
    """`load_sdls_async`, blocking: on its own event loop (in a helper thread when this one runs a loop)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(load_sdls_async(config, timeout))
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="turnout-compose") as pool:
        return pool.submit(asyncio.run, load_sdls_async(config, timeout)).result()
