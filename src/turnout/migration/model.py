"""The migration model: migrations, stages, comparison rules, and the evidence records they produce."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "ComparisonOutcome",
    "CoordinateRule",
    "Coverage",
    "DiffGroup",
    "DiffSample",
    "Difference",
    "Gates",
    "InstanceReport",
    "InstanceStage",
    "Migration",
    "MigrationEvidence",
    "MigrationState",
    "Stage",
    "StageChange",
    "match_rate",
]


class Stage(enum.StrEnum):
    """Where a migration stands. Each stage is entered with evidence (see readiness)."""

    MONOLITH = "monolith"  # `from` serves; nothing else happens
    SIDE_BY_SIDE = "side_by_side"  # `from` serves; a sample also runs on `to`, compared and recorded
    MIGRATED = "migrated"  # `to` serves for `percent`% of cohorts; `from` answers when `to` fails
    REMOVED = "removed"  # `to` only

    @property
    def order(self) -> int:
        return list(Stage).index(self)


@dataclass(frozen=True, kw_only=True)
class CoordinateRule:
    """How values at one schema coordinate are compared."""

    ignore: bool = False
    unordered: bool = False  # lists compared as multisets
    float_tolerance: float | None = None  # absolute tolerance for numbers
    null_equals_missing: bool = False


@dataclass(frozen=True, kw_only=True)
class Gates:
    """What moving forward requires."""

    min_match_rate: float = 0.99  # to enter `migrated`
    min_comparisons: int = 100
    min_operations: int = 1  # distinct operation names compared
    removed_after_seconds: float = 86400.0  # to enter `removed`: no fallback for this long
    # the evidence the gates read: since the migration entered its stage, and no older than this (None: no limit)
    evidence_window_seconds: float | None = None


@dataclass(frozen=True, kw_only=True)
class Migration:
    """A set of field coordinates moving from one subgraph to another."""

    name: str
    from_subgraph: str
    to_subgraph: str
    fields: tuple[str, ...]  # schema coordinates, e.g. "Assignment.createdDate"
    rare_fields: frozenset[str] = frozenset()  # compared once is enough for the gates (rarely asked for)
    label: str | None = None  # bound to an @override(label:) in the supergraph
    rules: dict[str, CoordinateRule] = field(default_factory=dict)
    sample_rate: float = 0.1  # share of eligible requests compared in side_by_side
    noise_rate: float = 0.05  # share of compared requests that also re-run the primary
    shadow_mutations: bool = False  # mutations are never shadowed unless declared safe
    reverse_compare: bool = False  # in migrated: also run `from` in the shadow and compare
    gates: Gates = field(default_factory=Gates)


@dataclass(frozen=True, kw_only=True)
class MigrationState:
    """A migration's current stage, as stored (every gateway instance reads the same)."""

    name: str
    stage: Stage = Stage.MONOLITH
    percent: float = 100.0  # rollout in `migrated`
    changed_at: datetime | None = None
    changed_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class StageChange:
    """One line of a migration's stage log."""

    name: str
    from_stage: Stage
    to_stage: Stage
    percent: float
    at: datetime
    by: str
    reason: str
    forced: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class InstanceStage:
    """The stage and percent one gateway instance runs for a migration, and since when (picked up)."""

    stage: Stage
    percent: float
    since: datetime


@dataclass(frozen=True, kw_only=True)
class InstanceReport:
    """What one gateway instance reported it runs of a migration, when it last reported."""

    instance: str
    seen_at: datetime
    stage: Stage
    percent: float
    since: datetime


ComparisonOutcome = Literal["match", "mismatch", "noise", "error"]


@dataclass(frozen=True, kw_only=True)
class Difference:
    """One difference between the primary's and the candidate's response."""

    path: tuple[str | int, ...]
    coordinate: str  # the schema coordinate at that path, e.g. "Assignment.createdDate"
    kind: str  # value | type | missing | extra | length | order | error
    primary: Any = None
    candidate: Any = None


@dataclass(frozen=True, kw_only=True)
class DiffSample:
    at: datetime
    path: str
    primary: str  # redacted preview (or the full value when configured)
    candidate: str
    primary_hash: str
    candidate_hash: str


@dataclass(frozen=True, kw_only=True)
class DiffGroup:
    """Differences of one kind at one coordinate in one operation, grouped by signature."""

    signature: str
    migration: str
    coordinate: str
    operation: str
    kind: str
    count: int
    first_seen: datetime
    last_seen: datetime
    noise: bool = False
    acknowledged_until: datetime | None = None
    acknowledged_by: str | None = None
    acknowledged_reason: str | None = None
    samples: tuple[DiffSample, ...] = ()


def match_rate(matches: int, mismatches: int, errors: int) -> float | None:
    """The one definition of a match rate, wherever one is shown or judged: matches over the comparisons that
    were judged, a comparison whose candidate failed counted as a non-match. Comparisons whose only differences
    are noise are not judged either way. None before anything was judged."""
    judged = matches + mismatches + errors
    return matches / judged if judged else None


@dataclass(frozen=True, kw_only=True)
class Coverage:
    """How much of one migrating coordinate was compared: the comparisons that reached it, in how many distinct
    operations, how many of its values were compared, and how many of those differed."""

    comparisons: int = 0
    operations: int = 0
    values: int = 0
    differing: int = 0
    fallbacks: int = (
        0  # requests (in `migrated`) whose fetch of it failed on the new side, answered by the old
    )

    @property
    def differing_share(self) -> float | None:
        """The share of its values that differed ("1 in 7 publishedAt values")."""
        return self.differing / self.values if self.values else None


@dataclass(frozen=True, kw_only=True)
class MigrationEvidence:
    """What the store knows of one migration over a period."""

    name: str
    comparisons: int = 0
    matches: int = 0
    mismatches: int = 0
    noise: int = 0
    errors: int = 0
    operations: int = 0  # distinct operation names compared
    fallbacks: int = 0
    last_fallback: datetime | None = None
    shadow_dropped: int = 0
    latency_from_ms: tuple[float | None, float | None] = (None, None)  # p50, p99
    latency_to_ms: tuple[float | None, float | None] = (None, None)
    open_diff_groups: int = 0  # unacknowledged, non-noise
    coverage: dict[str, Coverage] = field(default_factory=dict)  # by migrating coordinate

    @property
    def match_rate(self) -> float | None:
        return match_rate(self.matches, self.mismatches, self.errors)
