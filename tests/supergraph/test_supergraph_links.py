"""`@link(as:)` renames and `@link(import:)`: the reader finds the join, inaccessible and tag elements
under whatever local names the supergraph gives them.

`renamed-imports` is composition's own output when a subgraph imports `@inaccessible` as `@hidden`
and `@tag` as `@label` and composes a custom `@cacheControl` directive; the other variants are composed
fixtures with a feature renamed by hand, the way the link spec allows.
"""

from __future__ import annotations

import functools
from typing import Any

from graphql import print_schema

from support.fixtures import load_supergraph
from turnout.supergraph.join_spec import read_supergraph
from turnout.supergraph.model import SupergraphModel

JOIN_LINK = '@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)'


@functools.cache
def model(name: str) -> SupergraphModel:
    return read_supergraph(load_supergraph(name))


def summary(m: SupergraphModel) -> dict[str, Any]:
    """What the planner reads of a supergraph, in plain data."""
    return {
        "subgraphs": {enum: (s.name, s.url) for enum, s in m.subgraphs.items()},
        "types": {
            name: (
                t.kind,
                {
                    g: ([(k.fields, k.resolvable) for k in e.keys], e.interface_object)
                    for g, e in t.in_graphs.items()
                },
                {
                    f: {
                        g: (i.external, i.requires_text, i.provides_text, i.override_from)
                        for g, i in fd.in_graphs.items()
                    }
                    for f, fd in t.fields.items()
                },
                {g: sorted(i) for g, i in t.implements_in.items()},
                {g: sorted(u) for g, u in t.members_in.items()},
            )
            for name, t in m.types.items()
        },
    }


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_join_renamed_with_as() -> None:
    sdl = load_supergraph("shop")
    renamed = replace_once(sdl, JOIN_LINK, JOIN_LINK.replace("for:", 'as: "fed", for:')).replace(
        "join__", "fed__"
    )
    assert "join__" not in renamed
    m = read_supergraph(renamed)
    assert summary(m) == summary(model("shop"))
    assert print_schema(m.api_schema) == print_schema(model("shop").api_schema)
    assert m.api_schema.get_type("fed__Graph") is None
    assert m.api_schema.get_directive("fed__type") is None


def test_join_directives_imported_under_other_names() -> None:
    sdl = load_supergraph("media")
    imported = replace_once(
        sdl,
        JOIN_LINK,
        '@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION, '
        'import: ["@graph", {name: "@type", as: "@entity"}, {name: "@field", as: "@resolvedBy"}])',
    )
    imported = (
        imported.replace("@join__graph", "@graph")
        .replace("@join__type", "@entity")
        .replace("@join__field", "@resolvedBy")
    )
    m = read_supergraph(imported)
    assert summary(m) == summary(model("media"))
    assert m.types["Media"].in_graphs["REVIEWS"].interface_object
    api = m.api_schema
    assert print_schema(api) == print_schema(model("media").api_schema)
    assert api.get_directive("entity") is None
    assert api.get_directive("resolvedBy") is None


def test_inaccessible_and_tag_renamed_with_as() -> None:
    sdl = load_supergraph("wholesale")
    renamed = replace_once(
        sdl,
        '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)',
        '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", as: "private", for: SECURITY)',
    ).replace("@inaccessible", "@private")
    renamed = replace_once(
        renamed,
        '@link(url: "https://specs.apollo.dev/tag/v0.3")',
        '@link(url: "https://specs.apollo.dev/tag/v0.3", as: "label")',
    ).replace("@tag", "@label")
    m = read_supergraph(renamed)
    assert print_schema(m.api_schema) == print_schema(model("wholesale").api_schema)
    assert m.api_schema.get_type("Stats") is None
    assert m.api_schema.get_directive("private") is None
    assert m.api_schema.get_directive("label") is None


def test_composition_writes_renamed_imports() -> None:
    sdl = load_supergraph("renamed-imports")
    assert '@link(url: "https://specs.apollo.dev/tag/v0.3", import: [{name: "@tag", as: "@label"}])' in sdl
    assert 'import: [{name: "@inaccessible", as: "@hidden"}])' in sdl
    assert '@link(url: "https://acme.dev/cache/v1.0", import: ["@cacheControl"])' in sdl


def test_renamed_imports_planner_view() -> None:
    m = model("renamed-imports")
    assert {s.name for s in m.subgraphs.values()} == {"comments", "content"}
    assert {g: [k.fields for k in e.keys] for g, e in m.types["Article"].in_graphs.items()} == {
        "COMMENTS": ["id"],
        "CONTENT": ["id"],
    }
    assert set(m.types["Article"].fields["comments"].in_graphs) == {"COMMENTS"}
    # the renamed machinery never reaches clients
    assert m.api_schema.get_directive("label") is None
    assert m.api_schema.get_directive("hidden") is None


def test_inaccessible_imported_under_another_name_hides_elements() -> None:
    api = model("renamed-imports").api_schema
    query = api.query_type
    assert query is not None
    assert "drafts" not in query.fields
    article = api.get_type("Article")
    assert "reviewerNotes" not in article.fields  # type: ignore[union-attr]
    assert list(api.get_type("ArticleStatus").values) == ["PUBLISHED"]  # type: ignore[union-attr]


def test_custom_composed_directive_is_not_machinery() -> None:
    """`@cacheControl` is the subgraphs' own directive: its applications stay in the supergraph schema."""
    m = model("renamed-imports")
    assert m.schema.get_directive("cacheControl") is not None
    query = m.schema.query_type
    assert query is not None
    applied = query.fields["articles"].ast_node.directives
    assert "cacheControl" in [d.name.value for d in applied]
