"""docs/architecture.md stays true: the modules it names exist, every module is named, the layers are lint's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "turnout"
PAGE = (REPO / "docs" / "architecture.md").read_text()
# `planner/walker.py`, `gateway.py`: a module of the package, as the page writes it
NAMED = {m for m in re.findall(r"`([a-z_]+(?:/[a-z_]+)*\.py)", PAGE) if not m.startswith("tests/")}


def _modules(inits: bool = False) -> set[str]:
    return {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if inits or p.name != "__init__.py"}


def test_every_module_the_page_names_exists() -> None:
    assert NAMED, "the page names no module"
    assert sorted(NAMED - _modules(inits=True)) == []


def test_every_module_is_named_on_the_page() -> None:
    assert sorted(_modules() - NAMED) == []


def test_the_layers_are_those_lint_enforces() -> None:
    """Each layer of the import contract appears on the page (as its module or one of its modules)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    [layers] = [c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    for layer in layers:
        for name in (part.strip() for part in layer.split("|")):
            path = name.removeprefix("turnout.").replace(".", "/")
            assert f"{path}.py" in NAMED or any(m.startswith(f"{path}/") for m in NAMED), name


LINES_LIMIT = 600


def test_no_module_is_longer_than_one_person_can_hold() -> None:
    """Issue 15's bound: a module over 600 lines is split along a real seam (docs/architecture.md names them)."""
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > LINES_LIMIT
    }
    assert long == {}
