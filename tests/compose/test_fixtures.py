"""The repository's fixtures composed by turnout: the very supergraph Apollo's composition made of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from turnout.compose import SubgraphInput, compose

from .facts import differences

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "supergraphs"
# Fixtures whose supergraph.graphql another composer made, or that use what turnout does not carry over.
NOT_BYTE_EQUAL = {
    "bookstore-join02": "composed by an older Apollo composition (join v0.2)",
    "edges": "its supergraph's subgraph URLs were edited by hand",
    "fed1-shop": "composed by Federation 1 composition (join v0.1, @join__owner)",
    "renamed-imports": "@composeDirective(@cacheControl) is not carried into the supergraph",
}


def _compose(directory: Path) -> str:
    files = sorted(p for p in directory.glob("*.graphql") if p.name != "supergraph.graphql")
    result = compose(
        [
            SubgraphInput(p.stem, f"http://127.0.0.1:{4101 + i}/graphql", p.read_text(encoding="utf-8"))
            for i, p in enumerate(files)
        ]
    )
    assert result.ok, [str(e) for e in result.errors]
    assert result.supergraph_sdl is not None
    return result.supergraph_sdl


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir() if p.name not in NOT_BYTE_EQUAL))
def test_same_bytes_as_apollo(name: str) -> None:
    assert _compose(FIXTURES / name) == (FIXTURES / name / "supergraph.graphql").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(n for n in NOT_BYTE_EQUAL if n != "fed1-shop"))
def test_same_api_and_join_metadata(name: str) -> None:
    theirs = (FIXTURES / name / "supergraph.graphql").read_text(encoding="utf-8")
    assert differences(_compose(FIXTURES / name), theirs) == []


def test_the_order_of_the_subgraphs_does_not_matter() -> None:
    directory = FIXTURES / "shipping"
    files = sorted(p for p in directory.glob("*.graphql") if p.name != "supergraph.graphql")
    inputs = [
        SubgraphInput(p.stem, f"http://127.0.0.1:{4101 + i}/graphql", p.read_text(encoding="utf-8"))
        for i, p in enumerate(files)
    ]
    assert compose(inputs[::-1]).supergraph_sdl == (directory / "supergraph.graphql").read_text(
        encoding="utf-8"
    )
