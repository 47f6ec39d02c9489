"""Each corpus case composes, or fails with exactly the expected error codes."""

from __future__ import annotations

import pytest

from turnout.compose import SubgraphInput, compose
from turnout.supergraph.join_spec import read_supergraph

from .corpus import CASES, Case


def _inputs(case: Case) -> list[SubgraphInput]:
    return [
        SubgraphInput(name, f"http://127.0.0.1:{4101 + i}/graphql", sdl)
        for i, (name, sdl) in enumerate(case.subgraphs.items())
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name: str) -> None:
    case = CASES[name]
    result = compose(_inputs(case))
    assert sorted({e.code for e in result.errors}) == sorted(case.errors), [str(e) for e in result.errors]
    hints = {h.code for h in result.hints}
    assert set(case.hints) <= hints
    if not case.errors:
        assert result.supergraph_sdl is not None
        model = read_supergraph(result.supergraph_sdl)  # turnout's own loader serves it
        assert set(s.name for s in model.subgraphs.values()) == set(case.subgraphs)
    else:
        assert result.supergraph_sdl is None
        for error in result.errors:
            assert set(error.subgraphs) <= set(case.subgraphs)


def test_corpus_size() -> None:
    assert len(CASES) >= 40
    assert sum(1 for c in CASES.values() if c.errors) >= 15
