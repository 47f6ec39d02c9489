"""Per request: which subgraph serves each migrating field, decided from a sticky cohort."""

from __future__ import annotations

import base64
import hashlib
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import orjson

from ..planner.routing import Routing
from ..supergraph.model import SupergraphModel
from .model import Migration, MigrationState, Stage

__all__ = ["CohortKey", "Decision", "Router", "cohort_bucket"]

_PERCENT_LABEL = re.compile(r"^percent\((\d+(?:\.\d+)?)\)$")


@dataclass(frozen=True, kw_only=True)
class CohortKey:
    """Where the cohort of a request comes from: a header, a JWT claim, a variable; random when none."""

    source: Literal["header", "claim", "variable", "random"] = "random"
    name: str = ""


def _claim(headers: Mapping[str, str], claim: str) -> Any:
    authorization = headers.get("authorization", "")
    token = authorization.split(" ", 1)[1] if authorization.lower().startswith("bearer ") else ""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, orjson.JSONDecodeError):
        return None
    return claims.get(claim) if isinstance(claims, dict) else None


def cohort_bucket(
    key: CohortKey,
    headers: Mapping[str, str],
    variables: Mapping[str, Any] | None,
    rng: random.Random | None = None,
) -> float:
    """A number in [0, 100): the same for every request of one cohort (a user, a tenant...)."""
    value: Any = None
    if key.source == "header":
        value = headers.get(key.name.lower())
    elif key.source == "claim":
        value = _claim(headers, key.name)
    elif key.source == "variable" and variables:
        value = variables.get(key.name)
    if value is None or value == "":
        return (rng or random).random() * 100.0
    digest = hashlib.sha256(str(value).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100.0


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The routings of one request."""

    primary: Routing
    # migrations whose `to` subgraph serves this request (a failure there falls back to `from`)
    served_by_to: tuple[Migration, ...] = ()
    fallback: Routing | None = None
    # migration -> the routing its shadow runs with (side_by_side, or reverse comparison in migrated)
    candidates: Mapping[str, Routing] = field(default_factory=lambda: MappingProxyType({}))


class Router:
    """Turns migrations and their stored stages into a Routing for each request."""

    def __init__(self, model: SupergraphModel, migrations: list[Migration]) -> None:
        self.model = model
        self.migrations = {m.name: m for m in migrations}
        # `percent(N)` override labels that no migration owns: on for the first N% of cohorts
        labels = {
            info.override_label
            for typedef in model.types.values()
            for fdef in typedef.fields.values()
            for info in fdef.in_graphs.values()
            if info.override_label
        }
        owned = {m.label for m in migrations if m.label}
        self.percent_labels: dict[str, float] = {}
        for label in labels - owned:
            match = _PERCENT_LABEL.match(label)
            if match:
                self.percent_labels[label] = float(match.group(1))

    def _serving(self, migration: Migration, to: bool) -> tuple[dict[str, str], set[str]]:
        if migration.label:
            return {}, ({migration.label} if to else set())
        target = migration.to_subgraph if to else migration.from_subgraph
        return dict.fromkeys(migration.fields, target), set()

    def decide(self, states: Mapping[str, MigrationState], bucket: float) -> Decision:
        assignments: dict[str, str] = {}
        labels = {label for label, percent in self.percent_labels.items() if bucket < percent}
        uses_to: list[Migration] = []
        # what each migration's side is for this request
        sides: dict[str, bool] = {}
        for name, migration in self.migrations.items():
            state = states.get(name) or MigrationState(name=name)
            to = state.stage == Stage.REMOVED or (state.stage == Stage.MIGRATED and bucket < state.percent)
            sides[name] = to
            fields, on = self._serving(migration, to)
            assignments.update(fields)
            labels |= on
            if to and state.stage == Stage.MIGRATED:
                uses_to.append(migration)
        primary = Routing(assignments=MappingProxyType(assignments), active_labels=frozenset(labels))
        fallback = None
        if uses_to:
            fallback = self._flip(assignments, labels, uses_to, to=False)
        candidates: dict[str, Routing] = {}
        for name, migration in self.migrations.items():
            state = states.get(name) or MigrationState(name=name)
            if state.stage == Stage.SIDE_BY_SIDE:
                candidates[name] = self._flip(assignments, labels, [migration], to=True)
            elif state.stage == Stage.MIGRATED and migration.reverse_compare and sides[name]:
                candidates[name] = self._flip(assignments, labels, [migration], to=False)
        return Decision(
            primary=primary,
            served_by_to=tuple(uses_to),
            fallback=fallback,
            candidates=MappingProxyType(candidates),
        )

    def _flip(
        self, assignments: dict[str, str], labels: set[str], migrations: list[Migration], to: bool
    ) -> Routing:
        changed = dict(assignments)
        active = set(labels)
        for migration in migrations:
            fields, on = self._serving(migration, to)
            changed.update(fields)
            if migration.label:
                active.discard(migration.label)
            active |= on
        return Routing(assignments=MappingProxyType(changed), active_labels=frozenset(active))
