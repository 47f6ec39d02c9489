"""The supergraph: an Apollo Federation v2 supergraph SDL (`@link`, `@join__*`) read into a `SupergraphModel`, with
the API schema clients see."""

from .join_spec import read_supergraph
from .model import SupergraphError, SupergraphModel

__all__ = ["SupergraphError", "SupergraphModel", "read_supergraph"]
