"""Random subgraph sets for the differential test: entities with keys shared between subgraphs, value types,
@shareable, @external with @requires and @provides, @override (labels too), interfaces, unions, enums, inputs
and arguments, with mistakes mixed in (fields resolved twice, types that disagree, keys that do not resolve).
Deterministic per seed."""

from __future__ import annotations

import random

__all__ = ["random_abstract_set", "random_set"]

SCALARS = ("Int", "String", "ID", "Float", "Boolean")


def _wrap(rng: random.Random, base: str) -> str:
    shape = rng.random()
    if shape < 0.5:
        return base
    if shape < 0.75:
        return base + "!"
    if shape < 0.9:
        return f"[{base}!]"
    return f"[{base}]!"


def random_set(seed: int) -> dict[str, str]:
    """A dict subgraph name -> SDL."""
    rng = random.Random(seed)
    careful = rng.random() < 0.6  # no deliberate mistakes: most such sets compose
    count = rng.randint(2, 4)
    names = [f"s{i}" for i in range(count)]
    entities = [f"E{i}" for i in range(rng.randint(1, 4))]
    values = [f"V{i}" for i in range(rng.randint(0, 2))]
    owner = {e: rng.choice(names) for e in entities}
    keys = {e: rng.choice(["id", "id", "sku", "id sku"]) for e in entities}
    enum_values = ["A", "B", "C", "D"]
    fields_of = {e: [f"f{j}" for j in range(rng.randint(1, 4))] for e in entities}
    types_of = {e: {f: rng.choice(SCALARS) for f in fields_of[e]} for e in entities}
    shared = {(e, f): rng.random() < 0.4 for e in entities for f in fields_of[e]}
    value_fields = {v: [_wrap(rng, "Int") for _ in range(rng.randint(1, 3))] for v in values}
    sdls = {}
    for name in names:
        imports = {"key", "shareable", "external", "requires", "provides", "override"}
        parts: list[str] = []
        query: list[str] = []
        version = "2.7" if rng.random() < 0.3 else "2.3"
        for e in entities:
            mine = owner[e] == name
            if not mine and rng.random() < 0.45:
                continue
            key_fields = keys[e].split()
            body = [f"  {k}: {'ID' if k == 'id' else 'String'}!" for k in key_fields]
            resolvable = "" if mine or rng.random() < 0.85 else ", resolvable: false"
            for f in fields_of[e]:
                base = types_of[e][f]
                if not careful and rng.random() < 0.08:  # a mistake: another type
                    base = rng.choice(SCALARS)
                if mine:
                    sharing = shared[(e, f)] if careful else rng.random() < 0.3
                    body.append(f"  {f}: {base}" + (" @shareable" if sharing else ""))
                elif rng.random() < 0.25:
                    kind = rng.random()
                    if kind < 0.4 and (shared[(e, f)] or not careful):
                        body.append(f"  {f}: {base} @shareable")
                    elif kind < 0.55 and not careful:
                        body.append(f"  {f}: {base}")  # resolved twice without @shareable, unless overridden
                    elif kind < 0.8 and kind >= 0.4:
                        label = ', label: "percent(25)"' if version == "2.7" and rng.random() < 0.4 else ""
                        body.append(f'  {f}: {base} @override(from: "{owner[e]}"{label})')
                    elif kind >= 0.8:
                        body.append(f"  {f}: {base} @external")
                        body.append(f'  from{f}: Int @requires(fields: "{f}")')
            if not mine and rng.random() < 0.5:
                body.append(f"  extra{name}: Int")
            if rng.random() < 0.5:
                query.append(f"  get{e}{name}(id: ID!): {e}")
            if rng.random() < 0.3:
                query.append(f"  all{e}{name}(first: Int = 5, kind: Kind): [{e}!]!")
            parts.append(f'type {e} @key(fields: "{keys[e]}"{resolvable}) {{\n' + "\n".join(body) + "\n}")
        for v in values:
            if rng.random() < 0.6:
                shareable = " @shareable" if careful or rng.random() < 0.8 else ""
                shapes = value_fields[v] if careful else [_wrap(rng, "Int") for _ in range(rng.randint(1, 3))]
                fields = "\n".join(f"  v{j}: {shape}" for j, shape in enumerate(shapes))
                parts.append(f"type {v}{shareable} {{\n{fields}\n}}")
                query.append(f"  value{v}{name}: {v}")
        if rng.random() < 0.5:
            chosen = enum_values if careful else rng.sample(enum_values, rng.randint(1, 4))
            parts.append("enum Kind { " + " ".join(chosen) + " }")
            query.append(f"  kind{name}: Kind")
        elif any("kind: Kind" in q for q in query):
            parts.append("enum Kind { " + " ".join(enum_values if careful else enum_values[:2]) + " }")
        if rng.random() < 0.3:
            parts.append(
                "input Filter { text: String"
                + (" limit: Int" if rng.random() < 0.5 else "")
                + (" must: Int!" if not careful and rng.random() < 0.1 else "")
                + " }"
            )
            query.append(f"  search{name}(filter: Filter): Int")
        if rng.random() < 0.3 and entities:
            members = sorted({rng.choice(entities) for _ in range(2)})
            present = [m for m in members if f"type {m} " in "\n".join(parts)]
            if present:
                parts.append("union Thing = " + " | ".join(present))
                query.append(f"  things{name}: [Thing!]!")
        if rng.random() < 0.2:
            query.append("  shared: Int" + (" @shareable" if careful or rng.random() < 0.7 else ""))
        if query:
            parts.insert(0, "type Query {\n" + "\n".join(query) + "\n}")
        imported = ", ".join(f'"@{i}"' for i in sorted(imports))
        header = f'extend schema @link(url: "https://specs.apollo.dev/federation/v{version}", import: [{imported}])'
        sdls[name] = header + "\n" + "\n\n".join(parts) + "\n"
    return sdls


def random_abstract_set(seed: int) -> dict[str, str]:
    """Interfaces (entity interfaces with @interfaceObject stand-ins, value interfaces), unions split across
    subgraphs, @provides, and Federation 1 subgraphs (`extend type` with @external keys) among Federation 2 ones."""
    rng = random.Random(seed)
    careful = rng.random() < 0.6
    count = rng.randint(2, 4)
    names = [f"s{i}" for i in range(count)]
    fed1 = {n for n in names[1:] if rng.random() < 0.3}
    kinds = [f"K{i}" for i in range(rng.randint(2, 3))]  # implementations of the entity interface Animal
    home = names[0]  # where Animal is an interface with its implementations
    shared_name = careful or rng.random() < 0.7
    sdls: dict[str, str] = {}
    for name in names:
        parts: list[str] = []
        query: list[str] = []
        if name in fed1:
            # Federation 1: extends what the home subgraph defines, with @external keys
            for kind in kinds:
                if rng.random() < 0.6:
                    parts.append(
                        f'extend type {kind} @key(fields: "id") {{\n  id: ID! @external\n  '
                        f"legacy{name}: String\n}}"
                    )
                    if rng.random() < 0.5:
                        query.append(f"  old{kind}{name}: {kind}")
            if rng.random() < 0.5:
                parts.append("type Tag { label: String }")
                query.append(f"  tags{name}: [Tag]")
            if query:
                parts.insert(0, "type Query {\n" + "\n".join(query) + "\n}")
            sdls[name] = "\n\n".join(parts) + "\n"
            continue
        if name == home:
            fields = "  id: ID!\n  name: String" + (" @shareable" if shared_name else "")
            parts.append('interface Animal @key(fields: "id") {\n  id: ID!\n  name: String\n}')
            for kind in kinds:
                extra = "\n  bark: Boolean" if rng.random() < 0.5 else ""
                parts.append(f'type {kind} implements Animal @key(fields: "id") {{\n{fields}{extra}\n}}')
            query.append("  animals: [Animal!]!")
            query.append(f"  first{kinds[0]}: {kinds[0]}")
            union_members = kinds[: rng.randint(1, len(kinds))]
            parts.append("union Pet = " + " | ".join(union_members))
            query.append(f"  pets{name}: [Pet]")
        else:
            style = rng.random()
            if style < 0.5:
                resolvable = "" if careful or rng.random() < 0.7 else ", resolvable: false"
                body = "  id: ID!\n  age: Int" + (
                    '\n  name: String @external\n  label: String @requires(fields: "name")'
                    if rng.random() < 0.3
                    else ""
                )
                parts.append(f'type Animal @key(fields: "id"{resolvable}) @interfaceObject {{\n{body}\n}}')
                if rng.random() < 0.6:
                    query.append(f"  oldest{name}: Animal")
            else:
                kind = rng.choice(kinds)
                provided = rng.random() < 0.5 and shared_name
                name_field = "\n  name: String @external" if provided else ""
                parts.append(
                    f'type {kind} @key(fields: "id") {{\n  id: ID!{name_field}\n  owner{name}: String\n}}'
                )
                provides = ' @provides(fields: "name")' if provided else ""
                query.append(f"  best{kind}{name}: {kind}{provides}")
                if rng.random() < 0.5:
                    members = [kind] + ([k for k in kinds if k != kind][:1] if rng.random() < 0.3 else [])
                    for member in members[1:]:
                        parts.append(f'type {member} @key(fields: "id") {{\n  id: ID!\n}}')
                    parts.append("union Pet = " + " | ".join(members))
                    query.append(f"  pets{name}: [Pet]")
        if query:
            parts.insert(0, "type Query {\n" + "\n".join(query) + "\n}")
        imports = '"@key", "@shareable", "@external", "@requires", "@provides", "@interfaceObject"'
        header = f'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [{imports}])'
        sdls[name] = header + "\n" + "\n\n".join(parts) + "\n"
    return sdls
