"""Differential test: turnout's composition against Apollo's (`@apollo/composition`, installed by
`bench/peers/install.sh`) on the repository's fixtures, the examples and the corpus. Where Apollo composes, the
API schemas are equal, the join metadata agrees and Apollo's gateway loads turnout's supergraph (and plans with
it); where Apollo's composition fails, the error codes are the same."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from turnout.compose import SubgraphInput, compose

from .corpus import CASES
from .facts import differences

ROOT = Path(__file__).resolve().parents[2]
APOLLO = ROOT / "bench" / "peers" / "node_modules" / "@apollo" / "composition"
SCRIPT = Path(__file__).with_name("apollo_compose.mjs")

# Sets where turnout knowingly differs from Apollo, and why.
KNOWN = {
    "corpus:authenticated-not-composed": "@authenticated, @requiresScopes and @policy are refused (UNSUPPORTED_FEATURE), "
    "not composed: turnout does not carry access control into the supergraph",
}


def _directory_sets() -> dict[str, list[SubgraphInput]]:
    sets: dict[str, list[SubgraphInput]] = {}
    directories = [
        *sorted((ROOT / "tests" / "fixtures" / "supergraphs").iterdir()),
        *sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir()),
    ]
    for directory in directories:
        files = sorted(p for p in directory.glob("*.graphql") if p.name != "supergraph.graphql")
        if not files:
            continue
        kind = "fixture" if directory.parent.name == "supergraphs" else "example"
        sets[f"{kind}:{directory.name}"] = [
            SubgraphInput(p.stem, f"http://127.0.0.1:{4101 + i}/graphql", p.read_text(encoding="utf-8"))
            for i, p in enumerate(files)
        ]
    return sets


def _all_sets() -> dict[str, list[SubgraphInput]]:
    sets = _directory_sets()
    for name, case in CASES.items():
        sets[f"corpus:{name}"] = [
            SubgraphInput(n, f"http://127.0.0.1:{4101 + i}/graphql", sdl)
            for i, (n, sdl) in enumerate(case.subgraphs.items())
        ]
    return sets


SETS = _all_sets()


@pytest.fixture(scope="module")
def apollo() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None or not APOLLO.is_dir():
        pytest.skip("Apollo's composition is not installed: run bench/peers/install.sh (needs node and npm)")
    payload = [
        {
            "name": name,
            "subgraphs": [{"name": s.name, "url": s.url, "sdl": s.sdl} for s in inputs],
            "ours": compose(inputs).supergraph_sdl,
        }
        for name, inputs in SETS.items()
    ]
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", sorted(SETS))
def test_agrees_with_apollo(name: str, apollo: dict[str, Any]) -> None:
    if name in KNOWN:
        pytest.xfail(KNOWN[name])
    theirs = apollo[name]
    ours = compose(SETS[name])
    their_codes = sorted({e["code"] for e in theirs["errors"]})
    our_codes = sorted({e.code for e in ours.errors})
    assert our_codes == their_codes, ([str(e) for e in ours.errors], theirs["errors"])
    if not their_codes:
        assert sorted({h.code for h in ours.hints}) == sorted(set(theirs["hints"]))
    if theirs["supergraph"] is not None:
        assert ours.supergraph_sdl is not None
        assert differences(ours.supergraph_sdl, theirs["supergraph"]) == []
        # Apollo's gateway loads turnout's supergraph (unless it refuses its own too: the context spec is
        # `for: SECURITY`, which Supergraph.build refuses without an explicit list of supported features)
        assert theirs["oursRefused"] is None or theirs["oursRefused"] == theirs["theirsRefused"]


def test_enough_sets() -> None:
    corpus = [n for n in SETS if n.startswith("corpus:")]
    assert len(corpus) >= 40
    assert len(SETS) - len(corpus) >= 15
