"""The query planner: from a normalized operation and a `Routing` (which subgraph serves which field for this
request) to a `QueryPlan` of fetches. Stages: normalize, capabilities, walk (moves chosen by the cost model),
fetch graph, plan (docs/architecture.md)."""

from .display import print_plan
from .normalize import Field, Fragment, Selection
from .plan_nodes import Fetch, Flatten, Parallel, QueryPlan, Sequence, Shape
from .query_planner import PlanningError, QueryPlanner, SelectionLimitError, select_operation
from .routing import DEFAULT_ROUTING, Routing

__all__ = [
    "DEFAULT_ROUTING",
    "Fetch",
    "Field",
    "Flatten",
    "Fragment",
    "Parallel",
    "PlanningError",
    "QueryPlan",
    "QueryPlanner",
    "Routing",
    "Selection",
    "SelectionLimitError",
    "Sequence",
    "Shape",
    "print_plan",
    "select_operation",
]
