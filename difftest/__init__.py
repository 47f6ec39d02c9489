"""Differential testing of turnout against Apollo Gateway: random valid operations, the same subgraphs, both answers.

`generator` writes the operations, `worlds` serves the supergraph sets' subgraphs, `gateways` runs the two gateways,
`compare` judges the answers (with `accepted.yaml`), `__main__` is `python -m difftest`.
"""

from __future__ import annotations

from difftest.generator import FEATURES, Generator, Hints, Limits, Operation

__all__ = ["FEATURES", "Generator", "Hints", "Limits", "Operation"]
