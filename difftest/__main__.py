"""`python -m difftest`: random valid operations sent to turnout and to Apollo Gateway over the same subgraphs.

.venv/bin/python -m difftest                                   # every supergraph set, 300 operations each
.venv/bin/python -m difftest --supergraph-set shop --operations 50 --seed 7
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shutil
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from bench._procs import ChildProcesses, interrupt_on_signals, loopback_host
from graphql import parse, print_ast, validate
from tests.support.fixtures import with_subgraph_urls

from difftest.compare import ACCEPTED_PATH, EXPERIMENTS, Accepted, Case, diff, load_accepted
from difftest.gateways import Answer, Gateway, post, start_apollo, start_turnout
from difftest.generator import Generator, Operation
from difftest.worlds import WORLDS, World
from turnout.supergraph.join_spec import read_supergraph

__all__ = ["main"]

QUERY_CHARS, ANSWER_CHARS = 2500, 900


@dataclass
class Tally:
    """One supergraph set's figures."""

    generated: int = 0
    valid: int = 0
    agreed: int = 0
    explained: int = 0  # operations whose every difference an accepted entry explains
    accepted: Counter[str] = field(default_factory=Counter)  # entry id -> operations it explained (in part)
    different: list[tuple[Operation, Case]] = field(default_factory=list)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def _experiments(
    session: aiohttp.ClientSession,
    turnout: Gateway,
    reference: Gateway,
    operation: Operation,
    case: Case,
    accepted: list[Accepted],
) -> None:
    """Asks both again with each rewriting of compare.EXPERIMENTS that applies; records what changed."""
    others = [a for a in accepted if not (a.predicate or "").startswith("reference-depends-on-")]
    for experiment in EXPERIMENTS:
        rewritten = experiment.rewrite(case.document, operation.variables)
        if rewritten is None:
            continue
        document, variables = rewritten
        if validate(case.schema, document):
            continue  # not expected: a rewriting keeps the operation valid
        query = print_ast(document)
        ours, theirs = await asyncio.gather(
            post(session, turnout, query, variables), post(session, reference, query, variables)
        )
        again = Case(case.world, case.schema, document, variables, ours, theirs, diff(ours, theirs))
        case.experiments[experiment.name] = (
            not diff(case.turnout, Answer(ours.status, experiment.restore(ours.body))),
            not diff(case.reference, Answer(theirs.status, experiment.restore(theirs.body))),
            None not in _explain(again, others)[0],
        )


def _explain(case: Case, accepted: list[Accepted]) -> tuple[list[str | None], set[str]]:
    """For each item, the id of the first entry that accepts it (None: not accepted)."""
    ids = [next((a.id for a in accepted if a.accepts(case, item)), None) for item in case.items]
    return ids, {i for i in ids if i is not None}


def _print_case(title: str, operation: Operation, case: Case, ids: list[str | None]) -> None:
    print(
        f"\n=== {title}: {case.world}, seed {operation.seed}, operation {operation.index}, shape {case.shape[:160]}"
    )
    print(_clip(operation.query, QUERY_CHARS))
    if operation.variables:
        print(f"variables: {_json(operation.variables)}")
    for item, entry in list(zip(case.items, ids, strict=True))[:12]:
        print(
            f"  - {item.describe()} [{', '.join(sorted(case.coordinates(item))) or '-'}]"
            + (f"  (accepted: {entry})" if entry else "")
        )
    if len(case.items) > 12:
        print(f"  - ... {len(case.items) - 12} more")
    for name, (ours, theirs, agree) in case.experiments.items():
        print(
            f"  rewritten ({name}): turnout's answer {'unchanged' if ours else 'CHANGED'}, the reference's "
            f"{'unchanged' if theirs else 'changed'}, the two {'agree' if agree else 'still differ'}"
            + ("  <- likely a turnout bug" if agree and not ours else "")
        )
    print(f"turnout   ({case.turnout.status}): {_clip(_json(case.turnout.body), ANSWER_CHARS)}")
    print(f"reference ({case.reference.status}): {_clip(_json(case.reference.body), ANSWER_CHARS)}")


async def _compare(
    world: World,
    generator: Generator,
    turnout: Gateway,
    reference: Gateway,
    count: int,
    seed: int,
    accepted: list[Accepted],
    tally: Tally,
    records: list[dict[str, Any]],
) -> None:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for operation in generator.operations(count, seed):
            tally.generated += 1
            if not operation.valid:
                continue
            tally.valid += 1
            ours, theirs = await asyncio.gather(
                post(session, turnout, operation.query, operation.variables),
                post(session, reference, operation.query, operation.variables),
            )
            items = diff(ours, theirs)
            if not items:
                tally.agreed += 1
                continue
            case = Case(
                world.name, generator.schema, parse(operation.query), operation.variables, ours, theirs, items
            )
            await _experiments(session, turnout, reference, operation, case, accepted)
            ids, entries = _explain(case, accepted)
            records.append(
                {
                    "set": world.name,
                    "seed": operation.seed,
                    "index": operation.index,
                    "query": operation.query,
                    "variables": operation.variables,
                    "shape": case.shape,
                    "items": [
                        [i.kind, list(i.path), sorted(case.coordinates(i)), e]
                        for i, e in zip(items, ids, strict=True)
                    ],
                    "experiments": case.experiments,
                    "turnout": ours.body,
                    "reference": theirs.body,
                }
            )
            if None in ids:
                tally.different.append((operation, case))
                _print_case(f"DIFFERENCE {len(tally.different)}", operation, case, ids)
            else:
                tally.explained += 1
                tally.accepted.update(entries)
                print(
                    f"accepted ({', '.join(sorted(entries))}): {world.name} operation {operation.index}, "
                    f"{len(items)} item(s), first {items[0].describe(60)}"
                )


def _run_world(
    world: World, args: argparse.Namespace, accepted: list[Accepted], tmp: Path, records: list[dict[str, Any]]
) -> Tally:
    tally = Tally()
    folder = tmp / world.name
    folder.mkdir()
    running = world.serve(args.host)
    try:
        sdl = with_subgraph_urls(world.supergraph.read_text(encoding="utf-8"), running.urls)
        supergraph = folder / "supergraph.graphql"
        supergraph.write_text(sdl, encoding="utf-8")
        generator = Generator(read_supergraph(sdl), world.hints())
        with ChildProcesses(folder) as procs:
            turnout, reference = (
                start_turnout(procs, supergraph, args.host),
                start_apollo(procs, supergraph, args.host),
            )
            print(
                f"\n##### {world.name}: turnout at {turnout.url}, Apollo Gateway at {reference.url}",
                flush=True,
            )
            asyncio.run(
                _compare(
                    world, generator, turnout, reference, args.operations, args.seed, accepted, tally, records
                )
            )
    finally:
        running.stop()
    return tally


def _summary(tallies: dict[str, Tally], accepted: list[Accepted]) -> None:
    verdicts = {a.id: a.verdict for a in accepted}
    print("\n##### summary")
    print(f"{'set':<12} {'generated':>9} {'valid':>6} {'agreed':>6} {'accepted':>8} {'different':>9}")
    for name, t in tallies.items():
        print(
            f"{name:<12} {t.generated:>9} {t.valid:>6} {t.agreed:>6} {t.explained:>8} {len(t.different):>9}"
        )
    print("\naccepted differences (operations; an operation may count under several entries):")
    for entry in accepted:
        counts = {name: t.accepted[entry.id] for name, t in tallies.items() if t.accepted[entry.id]}
        if counts:
            print(f"  {entry.id} [{verdicts[entry.id]}]: {counts}")
    groups: dict[str, list[str]] = defaultdict(list)
    for name, t in tallies.items():
        for operation, case in t.different:
            ids, _ = _explain(case, accepted)
            what = sorted(
                {
                    f"{i.kind} {'|'.join(sorted(case.coordinates(i))) or '-'}"
                    for i, e in zip(case.items, ids, strict=True)
                    if e is None
                }
            )
            # turnout's answer changed with a rewriting that cannot change a correct one, and then both agreed
            suspect = sorted(n for n, (ours, _, agree) in case.experiments.items() if not ours and agree)
            blame = f"LIKELY TURNOUT BUG (its answer changes with {', '.join(suspect)}): " if suspect else ""
            groups[blame + "; ".join(what)[:300]].append(f"{name}#{operation.index}")
    if groups:
        print("\ndifferences by what differs (kind, coordinates):")
        for cause, cases in sorted(groups.items(), key=lambda g: -len(g[1])):
            print(
                f"  {len(cases):>4}  {cause}\n        {' '.join(cases[:12])}{' ...' if len(cases) > 12 else ''}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m difftest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--supergraph-set",
        action="append",
        choices=sorted(WORLDS),
        dest="sets",
        help="a set to run (repeatable; default: all)",
    )
    parser.add_argument("--operations", type=int, default=300, help="valid operations per set (default 300)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--host", type=loopback_host, default="127.0.0.1", help="loopback address to serve on"
    )
    parser.add_argument(
        "--accepted", type=Path, default=ACCEPTED_PATH, help="the accepted differences (YAML)"
    )
    parser.add_argument("--json", type=Path, help="also write every difference to this file")
    args = parser.parse_args(argv)
    accepted = load_accepted(args.accepted)
    logging.getLogger(
        "ariadne"
    ).disabled = True  # the subgraphs' resolver errors are expected: not logged here
    tallies: dict[str, Tally] = {}
    records: list[dict[str, Any]] = []
    status = 0
    tmp = Path(tempfile.mkdtemp(prefix="difftest-"))  # the supergraphs and the gateways' logs; kept on errors
    with interrupt_on_signals():
        try:
            for name in args.sets or list(WORLDS):
                tallies[name] = _run_world(WORLDS[name], args, accepted, tmp, records)
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            status = 130
        except (RuntimeError, TimeoutError, OSError) as error:
            print(f"difftest: {type(error).__name__}: {error}\n(the logs are in {tmp})", file=sys.stderr)
            status = 1
    if status != 1:
        shutil.rmtree(tmp, ignore_errors=True)
    _summary(tallies, accepted)
    if args.json:
        args.json.write_text(json.dumps(records, indent=1, ensure_ascii=False), encoding="utf-8")
    if status == 0 and any(t.different for t in tallies.values()):
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
