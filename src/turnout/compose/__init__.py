"""Apollo Federation composition in Python: subgraph SDLs (Federation 1 or 2) in, a supergraph SDL out."""

from __future__ import annotations

from .compose import CompositionResult, SubgraphInput, compose, compose_or_raise
from .config import (
    CompositionConfig,
    ConfigError,
    SubgraphConfig,
    SubgraphSdlError,
    is_composition_config,
    load_sdls,
    load_sdls_async,
    read_config,
)
from .errors import CompositionError, CompositionFailed, Hint, Location

__all__ = [
    "CompositionConfig",
    "CompositionError",
    "CompositionFailed",
    "CompositionResult",
    "ConfigError",
    "Hint",
    "Location",
    "SubgraphConfig",
    "SubgraphInput",
    "SubgraphSdlError",
    "compose",
    "compose_or_raise",
    "is_composition_config",
    "load_sdls",
    "load_sdls_async",
    "read_config",
]
