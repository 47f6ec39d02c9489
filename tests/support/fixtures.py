"""Access to the composed supergraph fixtures in tests/fixtures/supergraphs/."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "FIXTURES_DIR",
    "SUPERGRAPHS_DIR",
    "load_subgraph_sdls",
    "load_supergraph",
    "supergraph_names",
    "with_subgraph_urls",
]

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
SUPERGRAPHS_DIR = FIXTURES_DIR / "supergraphs"
SUPERGRAPH_FILE = "supergraph.graphql"

_JOIN_GRAPH = re.compile(r'(@join__graph\(\s*name:\s*"(?P<name>[^"]+)"\s*,\s*url:\s*")(?P<url>[^"]*)(")')


def supergraph_names() -> list[str]:
    """Names of the fixture systems (folders holding a supergraph.graphql)."""
    return sorted(p.parent.name for p in SUPERGRAPHS_DIR.glob(f"*/{SUPERGRAPH_FILE}"))


def load_supergraph(name: str) -> str:
    """The composed supergraph SDL of fixture ``name`` (placeholder URLs on 127.0.0.1:41xx)."""
    return (SUPERGRAPHS_DIR / name / SUPERGRAPH_FILE).read_text(encoding="utf-8")


def load_subgraph_sdls(name: str) -> dict[str, str]:
    """The subgraph SDLs of fixture ``name``, by subgraph name (file stem)."""
    folder = SUPERGRAPHS_DIR / name
    return {
        p.stem: p.read_text(encoding="utf-8")
        for p in sorted(folder.glob("*.graphql"))
        if p.name != SUPERGRAPH_FILE
    }


def with_subgraph_urls(supergraph_sdl: str, urls: Mapping[str, str]) -> str:
    """``supergraph_sdl`` with the ``@join__graph(name:, url:)`` URLs of the named subgraphs replaced.

    Every name in ``urls`` must be a subgraph of the supergraph.
    """
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in urls:
            return match.group(0)
        seen.add(name)
        return match.group(1) + urls[name] + match.group(4)

    result = _JOIN_GRAPH.sub(replace, supergraph_sdl)
    missing = set(urls) - seen
    if missing:
        raise KeyError(f"not subgraphs of this supergraph: {sorted(missing)}")
    return result
