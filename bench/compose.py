"""Composition time: turnout's composition against Apollo's (`@apollo/composition`) on the same subgraph sets.

    .venv/bin/python -m bench.compose [--repeat 3] [--subgraphs 200] [--types 5000] [--json [FILE]]

Sets: the largest fixture of tests/fixtures/supergraphs/ (by SDL size) and a generated graph of `--subgraphs`
subgraphs and `--types` object types (entities with keys, each extended by the next subgraph, chains of
references, an interface and a union per subgraph, enums, inputs). Each set is composed once to warm up, then
`--repeat` times; the table gives the median and best in milliseconds, from the SDL texts to the supergraph SDL
(parsing, validation, merging, satisfiability, printing). Apollo's composition runs in one node process
(bench/peers/install.sh installs it; without it only turnout is timed). See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from turnout.compose import SubgraphInput, compose  # noqa: E402

PEERS = ROOT / "bench" / "peers"
HEADER = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'
)


def generated(subgraphs: int, types: int) -> list[SubgraphInput]:
    """`subgraphs` subgraphs owning `types` entity types between them; each extends a few of the next one's."""
    per = max(1, types // subgraphs)
    inputs = []
    for s in range(subgraphs):
        lines = [
            HEADER,
            f"type Query {{\n  first{s}: T{s}_0\n  item{s}(id: ID!): T{s}_0\n  search{s}(filter: "
            f"Filter{s}): [Result{s}!]!\n  all{s}: [Node{s}!]!\n}}",
        ]
        lines.append(f"input Filter{s} {{ text: String kind: Kind{s} limit: Int = 10 }}")
        lines.append(f"enum Kind{s} {{ A B C }}")
        lines.append(f"interface Node{s} {{ id: ID! }}")
        lines.append(f"union Result{s} = " + " | ".join(f"T{s}_{t}" for t in range(min(per, 3))))
        for t in range(per):
            following = f"T{s}_{t + 1}" if t + 1 < per else f"T{s}_0"
            lines.append(
                f'type T{s}_{t} implements Node{s} @key(fields: "id") {{\n  id: ID!\n  name: String\n  size{t}: '
                f"Int\n  kind: Kind{s}\n  next: {following}\n  many(first: Int = 5): [{following}!]!\n}}"
            )
        other = (s + 1) % subgraphs
        for t in range(min(per, 5)):
            lines.append(f'type T{other}_{t} @key(fields: "id") {{\n  id: ID!\n  extra{s}: Int\n}}')
        inputs.append(
            SubgraphInput(f"sub{s}", f"http://127.0.0.1:{4101 + s}/graphql", "\n".join(lines) + "\n")
        )
    return inputs


def largest_fixture() -> tuple[str, list[SubgraphInput]]:
    best: tuple[int, str, list[SubgraphInput]] = (-1, "", [])
    for directory in sorted((ROOT / "tests" / "fixtures" / "supergraphs").iterdir()):
        files = sorted(p for p in directory.glob("*.graphql") if p.name != "supergraph.graphql")
        inputs = [
            SubgraphInput(p.stem, f"http://127.0.0.1:{4101 + i}/graphql", p.read_text(encoding="utf-8"))
            for i, p in enumerate(files)
        ]
        size = sum(len(i.sdl) for i in inputs)
        if size > best[0]:
            best = (size, directory.name, inputs)
    return f"fixture {best[1]}", best[2]


def time_turnout(inputs: list[SubgraphInput], repeat: int) -> tuple[list[float], int]:
    first = compose(inputs)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        compose(inputs)
        runs.append((time.perf_counter() - start) * 1000)
    return runs, len(first.errors)


def time_apollo(sets: dict[str, list[SubgraphInput]], repeat: int) -> dict[str, Any] | None:
    node = shutil.which("node")
    runtime = (
        next((PEERS / "runtime" / "node_modules").glob("node-*/bin/node"), None)
        if (PEERS / "runtime" / "node_modules").is_dir()
        else None
    )
    node = str(runtime) if runtime is not None else node
    if node is None or not (PEERS / "node_modules" / "@apollo" / "composition").is_dir():
        return None
    payload = {
        name: [{"name": i.name, "url": i.url, "sdl": i.sdl} for i in inputs] for name, inputs in sets.items()
    }
    done = subprocess.run(
        [node, str(PEERS / "compose_timed.mjs"), "--repeat", str(repeat)],
        cwd=PEERS,
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--subgraphs", type=int, default=200)
    parser.add_argument("--types", type=int, default=5000)
    parser.add_argument(
        "--json", nargs="?", const="-", default=None, help="write the rows as JSON (FILE or -)"
    )
    args = parser.parse_args(argv)
    name, fixture = largest_fixture()
    sets = {
        name: fixture,
        f"generated {args.subgraphs} subgraphs, {args.types} types": generated(args.subgraphs, args.types),
    }
    apollo = time_apollo(sets, args.repeat)
    rows = []
    for set_name, inputs in sets.items():
        runs, errors = time_turnout(inputs, args.repeat)
        row: dict[str, Any] = {
            "set": set_name,
            "subgraphs": len(inputs),
            "sdl_kb": sum(len(i.sdl) for i in inputs) // 1024,
            "turnout_median_ms": statistics.median(runs),
            "turnout_best_ms": min(runs),
            "turnout_errors": errors,
        }
        if apollo is not None:
            theirs = apollo[set_name]
            row.update(
                apollo_median_ms=statistics.median(theirs["ms"]),
                apollo_best_ms=min(theirs["ms"]),
                apollo_errors=theirs["errors"],
            )
        rows.append(row)
    print(f"{'set':44} {'subgraphs':>9} {'SDL KiB':>8} {'turnout ms (best)':>20} {'Apollo ms (best)':>20}")
    for row in rows:
        theirs = (
            f"{row['apollo_median_ms']:10.0f} ({row['apollo_best_ms']:.0f})"
            if "apollo_median_ms" in row
            else "not installed"
        )
        print(
            f"{row['set']:44} {row['subgraphs']:9d} {row['sdl_kb']:8d} "
            f"{row['turnout_median_ms']:12.0f} ({row['turnout_best_ms']:.0f}) {theirs:>20}"
        )
        if row["turnout_errors"] or row.get("apollo_errors"):
            print(f"  errors: turnout {row['turnout_errors']}, Apollo {row.get('apollo_errors')}")
    if args.json:
        text = json.dumps(rows, indent=2)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
