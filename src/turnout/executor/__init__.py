"""The executor: runs a `QueryPlan` against the subgraphs (fetches in order, `_entities` batches, merging), keeps
what a re-run may reuse (`FetchMemo`), replaces what failed from another run (`replace_failed`), and shapes the
response as the client asked (`Projector`)."""

from .fallback import replace_failed
from .memo import FetchMemo, FetchRecord
from .plan_executor import ExecutionState, PlanExecutor
from .projection import Projector

__all__ = ["ExecutionState", "FetchMemo", "FetchRecord", "PlanExecutor", "Projector", "replace_failed"]
