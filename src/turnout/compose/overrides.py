"""`@override(from:, label:)`: which subgraph resolves a field, progressive overrides and their hints."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .model import SubField, Subgraph

__all__ = ["Override", "Report", "validate_override"]

_LABEL = r"^[a-zA-Z][a-zA-Z0-9_\-:./]*$"
_PERCENT = r"^percent\((\d{1,2}(\.\d{1,8})?|100)\)$"

Report = Callable[..., None]  # (code, message, *(subgraph, line)) -> None


@dataclass
class Override:
    """The outcome of a field's @override directives, by subgraph name."""

    used: set[str] = field(default_factory=set)  # overridden there, but still used (key, requires, interface)
    unused: set[str] = field(default_factory=set)  # overridden there, and not used
    labels: dict[str, str] = field(default_factory=dict)  # progressive override labels, both sides
    unknown_target: set[str] = field(default_factory=set)


def validate_override(
    coordinate: str,
    present: list[tuple[Subgraph, SubField]],
    subgraphs: dict[str, Subgraph],
    error: Report,
    hint: Report,
) -> Override:
    """Check the field's @override directives; which subgraphs' instances are overridden, with which labels."""
    result = Override()
    by_name = {s.name: f for s, f in present}
    with_override = {s.name for s, f in present if f.override_from is not None and s.fed2}
    for subgraph, f in present:
        if subgraph.name not in with_override or f.override_from is None:
            continue
        source, parent = f.override_from, coordinate.split(".")[0]
        if subgraph.types[parent].kind == "interface" and not subgraph.types[parent].interface_object:
            error(
                "OVERRIDE_ON_INTERFACE",
                f'@override cannot be used on field "{coordinate}" on subgraph "{subgraph.name}": '
                f"@override is not supported on interface type fields.",
                (subgraph.name, f.line),
            )
            continue
        if source not in subgraphs:
            result.unknown_target.add(subgraph.name)
            hint(
                "FROM_SUBGRAPH_DOES_NOT_EXIST",
                f'Source subgraph "{source}" for field "{coordinate}" on subgraph "{subgraph.name}" does '
                f"not exist.",
                (subgraph.name, f.line),
            )
        elif source == subgraph.name:
            error(
                "OVERRIDE_FROM_SELF_ERROR",
                f'Source and destination subgraphs "{source}" are the same for overridden field '
                f'"{coordinate}"',
                (subgraph.name, f.line),
            )
        elif source in with_override:
            error(
                "OVERRIDE_SOURCE_HAS_OVERRIDE",
                f'Field "{coordinate}" on subgraph "{subgraph.name}" is also marked with directive '
                f'@override in subgraph "{source}". Only one @override directive is allowed per field.',
                (subgraph.name, f.line),
                (source, by_name[source].line),
            )
        elif source not in by_name:
            hint(
                "OVERRIDE_DIRECTIVE_CAN_BE_REMOVED",
                f'Field "{coordinate}" on subgraph "{subgraph.name}" no longer exists in the from '
                f"subgraph. The @override directive can be removed.",
                (subgraph.name, f.line),
            )
        else:
            _apply(coordinate, subgraph, f, subgraphs[source], by_name[source], result, error, hint)
    return result


def _apply(
    coordinate: str,
    subgraph: Subgraph,
    f: SubField,
    source: Subgraph,
    from_field: SubField,
    result: Override,
    error: Report,
    hint: Report,
) -> None:
    conflict = (
        "requires"
        if from_field.requires
        else "provides"
        if from_field.provides
        else "external"
        if f.external
        else None
    )
    if conflict is not None:
        error(
            "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
            f'@override cannot be used on field "{coordinate}" on subgraph "{subgraph.name}" since '
            f'"{coordinate}" on "{source.name if conflict != "external" else subgraph.name}" is marked '
            f'with directive "@{conflict}"',
            (subgraph.name, f.line),
        )
        return
    label = f.override_label
    parent, name = coordinate.split(".")
    used = (parent, name) in source.used
    if from_field.external:
        hint(
            "OVERRIDE_DIRECTIVE_CAN_BE_REMOVED",
            f'Field "{coordinate}" on subgraph "{subgraph.name}" is not resolved anymore by the from '
            f'subgraph (it is marked "@external" in "{source.name}"). The @override directive can be '
            f"removed.",
            (subgraph.name, f.line),
        )
    elif used:
        result.used.add(source.name)
    else:
        result.unused.add(source.name)
    if label is None:
        if not from_field.external:
            hint(
                "OVERRIDDEN_FIELD_CAN_BE_REMOVED",
                f'Field "{coordinate}" on subgraph "{source.name}" is overridden. '
                + (
                    "It is still used in some federation directive(s) (@key, @requires, and/or @provides) and/or "
                    "to satisfy interface constraint(s), but consider marking it @external explicitly or removing "
                    "it along with its references."
                    if used
                    else "Consider removing it."
                ),
                (source.name, from_field.line),
            )
        return
    if re.match(_LABEL, label) or (re.match(_PERCENT, label) and 0 <= float(label[8:-1]) <= 100):
        result.labels[subgraph.name] = result.labels[source.name] = label
    else:
        error(
            "OVERRIDE_LABEL_INVALID",
            f'Invalid @override label "{label}" on field "{coordinate}" on subgraph "{subgraph.name}": '
            f"labels must start with a letter and after that may contain alphanumerics, underscores, "
            f"minuses, colons, periods, or slashes. Alternatively, labels may be of the form "
            f'"percent(x)" where x is a float between 0-100 inclusive.',
            (subgraph.name, f.line),
        )
    message = (
        f'Field "{coordinate}" on subgraph "{source.name}" is currently being migrated via progressive '
        f"@override. It is still used in some federation directive(s) (@key, @requires, and/or "
        f"@provides) and/or to satisfy interface constraint(s). Once the migration is complete, consider "
        f"marking it @external explicitly or removing it along with its references."
        if used
        else f'Field "{coordinate}" is currently being migrated with progressive @override. Once the '
        f'migration is complete, remove the field from subgraph "{source.name}".'
    )
    hint("OVERRIDE_MIGRATION_IN_PROGRESS", message, (source.name, from_field.line))
