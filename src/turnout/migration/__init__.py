"""Migrations: stages, routing per request, side-by-side comparison, fallback, evidence, gates.

What the layers above use: the model (`Migration`, `Stage`), the engine that decides each request's routing,
the runtime that falls back and schedules comparisons, the one stage-move use case, the stores (one protocol,
SQL and in-memory) and the recorder that writes evidence to them, and the report."""

from .engine import EvidenceSink, Fanout, MigrationEngine
from .memory_store import MemoryStore
from .model import ComparisonOutcome, CoordinateRule, Difference, Gates, Migration, MigrationState, Stage
from .recorder import Recorder
from .report import migration_report
from .runtime import RequestRun, compare_later, fall_back
from .stages import move_stage
from .store import StageConflict, Store
from .store_protocol import MigrationStore

__all__ = [
    "ComparisonOutcome",
    "CoordinateRule",
    "Difference",
    "EvidenceSink",
    "Fanout",
    "Gates",
    "MemoryStore",
    "Migration",
    "MigrationEngine",
    "MigrationState",
    "MigrationStore",
    "Recorder",
    "RequestRun",
    "Stage",
    "StageConflict",
    "Store",
    "compare_later",
    "fall_back",
    "migration_report",
    "move_stage",
]
