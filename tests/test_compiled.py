"""`make test-compiled` runs the tests on the mypyc build: this checks that the modules it compiled are the ones
Python loaded (an extension module beside each .py), so those tests cannot silently run the pure-Python build."""

from __future__ import annotations

import importlib
import os

import pytest

EXPECTED = os.environ.get("TURNOUT_EXPECT_COMPILED", "").split()


@pytest.mark.skipif(
    not EXPECTED, reason="pure-Python build: `make test-compiled` runs this with the compiled one"
)
@pytest.mark.parametrize("path", EXPECTED)
def test_the_compiled_module_is_loaded(path: str) -> None:
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    assert module.__file__ is not None and module.__file__.endswith(".so"), module.__file__
