"""The `@link`ed (or `@core`) features of a supergraph: which spec each directive and type comes from, under
which local name (`LinkedSpecs`), and which specs are machinery that never reaches the API schema."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import SupergraphError

__all__ = ["MACHINERY_SPECS", "LinkedSpecs"]

_SPEC_URL = re.compile(r"^https?://[^/]+(?:/.*)?/(?P<name>[A-Za-z_][A-Za-z0-9_-]*)/v(?P<version>\d+\.\d+)/?$")

# The feature names whose elements are machinery of the supergraph and never reach the API schema.
MACHINERY_SPECS = frozenset(
    {
        "core",
        "link",
        "join",
        "inaccessible",
        "tag",
        "context",
        "cost",
        "authenticated",
        "requiresScopes",
        "policy",
    }
)


@dataclass
class LinkedSpecs:
    """The `@link`ed (or `@core`) features of a supergraph and the local names of their elements."""

    # feature name -> (version, local prefix)
    features: dict[str, tuple[str, str]] = field(default_factory=dict)
    # local directive name -> (feature, directive name in the spec)
    directives: dict[str, tuple[str, str]] = field(default_factory=dict)
    # local type names -> feature (for types imported under their own name)
    imported_types: dict[str, str] = field(default_factory=dict)
    # (feature, directive) -> the local name an `import:` gave it
    imported_directives: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, url: str, alias: str | None, imports: Sequence[Any], line: int | None) -> None:
        match = _SPEC_URL.match(url)
        if not match:
            return
        name = match.group("name")
        prefix = alias or name
        self.features[name] = (match.group("version"), prefix)
        # the feature's eponymous directive is @prefix; the others @prefix__name
        self.directives[prefix] = (name, name)
        for item in imports:
            if isinstance(item, str):
                local, original = item, item
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                original = item["name"]
                local = item.get("as") or original
            else:
                raise SupergraphError(f"@link import of {url!r} is not a name or {{name, as}}", line=line)
            if original.startswith("@"):
                self.directives[local.lstrip("@")] = (name, original.lstrip("@"))
                self.imported_directives[(name, original.lstrip("@"))] = local.lstrip("@")
            else:
                self.imported_types[local] = name

    def feature_of_directive(self, local: str) -> tuple[str, str] | None:
        found = self.directives.get(local)
        if found:
            return found
        if "__" in local:
            prefix, _, rest = local.partition("__")
            for feature, (_version, feature_prefix) in self.features.items():
                if feature_prefix == prefix:
                    return feature, rest
        return None

    def directive_name(self, feature: str, directive: str) -> str | None:
        if feature not in self.features:
            return None
        imported = self.imported_directives.get((feature, directive))
        if imported is not None:
            return imported
        for local, (feat, original) in self.directives.items():
            if feat == feature and original == directive:
                return local
        prefix = self.features[feature][1]
        return prefix if directive == feature else f"{prefix}__{directive}"

    def is_machinery_type(self, type_name: str) -> bool:
        if type_name in self.imported_types:
            return self.imported_types[type_name] in MACHINERY_SPECS
        if "__" in type_name:
            prefix = type_name.split("__", 1)[0]
            return any(
                p == prefix and feature in MACHINERY_SPECS for feature, (_v, p) in self.features.items()
            )
        return False

    def is_machinery_directive(self, local: str) -> bool:
        found = self.feature_of_directive(local)
        return found is not None and found[0] in MACHINERY_SPECS
