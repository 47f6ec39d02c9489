"""Query planning time, from a parsed and validated document to its plan, over many operations.

    .venv/bin/python -m bench.planning [--repeat 5] [--depth 4] [--wide 200] [--only TEXT] [--json [FILE]]
    .venv/bin/python -m bench.planning --supergraph FILE --operations PATH [--operations PATH ...]
    .venv/bin/python -m bench.planning --suites DIR     # DIR/<suite>/supergraph.graphql + its operations

By default: every fixture of tests/fixtures/supergraphs/ (and the classroom example), with the operations the
tests plan against it (bench/planning_operations/<fixture>/*.graphql) and two generated ones per supergraph: `deep`,
every field reachable from Query to `--depth` levels (required arguments filled with literals), and `wide`,
`--wide` aliased root fields. Each operation is parsed and validated (timed apart), then planned `--repeat` times,
each time by a fresh QueryPlanner (no cache survives from one run to the next); the table gives each operation's
median, sorted, then the median, p90 and worst over the operations. Runs in this process only, no network.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    get_named_type,
    parse,
    print_ast,
    validate,
)

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/planning.py` as well as `python -m bench.planning`
    sys.path.insert(0, str(ROOT))

from bench._report import quantile  # noqa: E402
from turnout.admission.limits import Limits, limit_rules, nesting_error  # noqa: E402
from turnout.planner.plan_nodes import QueryPlan  # noqa: E402
from turnout.planner.query_planner import QueryPlanner  # noqa: E402
from turnout.supergraph.join_spec import read_supergraph  # noqa: E402
from turnout.supergraph.model import SupergraphModel  # noqa: E402

__all__ = ["Measured", "Operation", "Suite", "default_suites", "generate_deep", "generate_wide", "main"]

FIXTURES = ROOT / "tests" / "fixtures" / "supergraphs"
OPERATIONS = ROOT / "bench" / "planning_operations"
SUPERGRAPH_FILE = "supergraph.graphql"
# bench/planning_operations/<name>/ plans against the fixture <name>, or against examples/<rest>/ for these
EXAMPLE_PREFIX = "examples-"

T = TypeVar("T")


# -- operations -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One operation to plan: the document text holding it (and the fragments it uses), and its name there."""

    suite: str
    name: str  # shown in the table: file stem, `file:Operation` or `generated:deep4`
    text: str
    operation_name: str | None  # passed to the planner; None for a document with a single operation
    origin: str  # "file" or "generated"


@dataclass
class Suite:
    """One supergraph and the operations planned against it."""

    name: str
    supergraph: Path
    sources: list[Path] = field(default_factory=list)  # .graphql files (one or several operations) and .json


def _used_fragments(
    node: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    found: dict[str, FragmentDefinitionNode],
) -> None:
    if node is None:
        return
    for selection in node.selections:
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in found:
                found[name] = fragments[name]
                _used_fragments(fragments[name].selection_set, fragments, found)
        elif isinstance(selection, FieldNode | InlineFragmentNode):
            _used_fragments(selection.selection_set, fragments, found)


def split_document(suite: str, name: str, text: str) -> list[Operation]:
    """The operations of one document: the document itself when it has one, else each with its fragments.

    A document that does not parse comes back as one operation (its parse error is reported when measured)."""
    try:
        document = parse(text)
    except GraphQLSyntaxError:
        return [Operation(suite, name, text, None, "file")]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) <= 1:
        return [Operation(suite, name, text, None, "file")] if operations else []
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    out = []
    for index, operation in enumerate(operations):
        used: dict[str, FragmentDefinitionNode] = {}
        _used_fragments(operation.selection_set, fragments, used)
        own = print_ast(DocumentNode(definitions=(operation, *used.values())))
        label = operation.name.value if operation.name else f"#{index + 1}"
        out.append(
            Operation(suite, f"{name}:{label}", own, operation.name.value if operation.name else None, "file")
        )
    return out


def read_operations(suite: str, path: Path, base: Path) -> list[Operation]:
    """The operations of a .graphql file (one or several; none for a schema) or of a .json file: a list of
    documents, each a string or an object with `query` (and `operationName`), as the federation audit's
    `tests.json`."""
    label = str(path.relative_to(base).with_suffix("")) if path.is_relative_to(base) else path.stem
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".json":
        return split_document(suite, label, text)
    entries = json.loads(text)
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of documents")
    out: list[Operation] = []
    for index, entry in enumerate(entries):
        query = entry if isinstance(entry, str) else entry.get("query") if isinstance(entry, dict) else None
        if not isinstance(query, str):
            raise ValueError(f"{path}[{index}]: neither a string nor an object with a `query` string")
        chosen = entry.get("operationName") if isinstance(entry, dict) else None
        for operation in split_document(suite, f"{label}[{index}]", query):
            if chosen is None or operation.operation_name in (None, chosen):
                out.append(operation)
    return out


def operation_files(path: Path, skip: Path | None = None) -> list[Path]:
    """A file, or every .graphql (and .json) file under a directory, in name order, the supergraph excepted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such file or directory")
    # in a directory, JSON files only by the audit's name for them (subgraphs.json and the like are not operations)
    return [
        p
        for p in sorted(path.rglob("*"))
        if p.is_file()
        and p.name != SUPERGRAPH_FILE
        and (p.suffix in (".graphql", ".gql") or p.name == "tests.json")
        and (skip is None or p.resolve() != skip.resolve())
    ]


def default_suites() -> list[Suite]:
    """Every fixture supergraph with its committed operations, and the examples named in planning_operations/."""
    suites = {p.parent.name: Suite(p.parent.name, p) for p in sorted(FIXTURES.glob(f"*/{SUPERGRAPH_FILE}"))}
    for folder in sorted(p for p in OPERATIONS.iterdir() if p.is_dir()):
        if folder.name.startswith(EXAMPLE_PREFIX):
            supergraph = ROOT / "examples" / folder.name.removeprefix(EXAMPLE_PREFIX) / SUPERGRAPH_FILE
            suites.setdefault(folder.name, Suite(folder.name, supergraph))
        if folder.name not in suites:
            raise FileNotFoundError(f"{folder}: no supergraph for it (neither a fixture nor examples-NAME)")
        suites[folder.name].sources = operation_files(folder)
    return list(suites.values())


def suites_in(folder: Path) -> list[Suite]:
    """DIR/<suite>/supergraph.graphql, each with every other .graphql file and tests.json under its folder (the
    layout of the federation audit's results: `suites/<id>/{supergraph.graphql,tests.json}`)."""
    out = []
    for supergraph in sorted(folder.glob(f"*/{SUPERGRAPH_FILE}")):
        out.append(Suite(supergraph.parent.name, supergraph, operation_files(supergraph.parent)))
    if not out:
        raise FileNotFoundError(f"{folder}: no <suite>/{SUPERGRAPH_FILE} in it")
    return out


# -- generated operations -------------------------------------------------------------------------------------------


def _literal(gtype: GraphQLInputType, seen: frozenset[str] = frozenset()) -> str:
    """A literal of the input type: 1, 1.5, "x", true, "1", the enum's first value, objects with required fields."""
    if isinstance(gtype, GraphQLNonNull):
        return _literal(gtype.of_type, seen)
    if isinstance(gtype, GraphQLList):
        return f"[{_literal(gtype.of_type, seen)}]"
    if isinstance(gtype, GraphQLEnumType):
        return next(iter(gtype.values))
    if isinstance(gtype, GraphQLInputObjectType):
        if gtype.name in seen:
            return "null"
        fields = [
            (n, f)
            for n, f in gtype.fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        ]
        if not fields and getattr(gtype, "is_one_of", False) and gtype.fields:
            fields = [next(iter(gtype.fields.items()))]
        inner = ", ".join(f"{n}: {_literal(f.type, seen | {gtype.name})}" for n, f in fields)
        return "{" + inner + "}"
    if isinstance(gtype, GraphQLScalarType):
        return {"Int": "1", "Float": "1.5", "Boolean": "true", "ID": '"1"'}.get(gtype.name, '"x"')
    return "null"


class _Generator:
    """Selections of every field reachable from a type, `depth` levels down, as GraphQL text."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.fields = 0

    def _arguments(self, args: dict[str, Any]) -> str:
        required = [
            (n, a)
            for n, a in args.items()
            if isinstance(a.type, GraphQLNonNull) and a.default_value is Undefined
        ]
        if not required:
            return ""
        return "(" + ", ".join(f"{n}: {_literal(a.type)}" for n, a in required) + ")"

    def selection(self, gtype: GraphQLNamedType, depth: int, pad: str) -> list[str]:
        """The lines of a selection set's content on `gtype` (abstract types: __typename and a fragment per type)."""
        lines: list[str] = []
        used: dict[
            str, str
        ] = {}  # response key -> type, to alias fields that would conflict across fragments
        if isinstance(gtype, GraphQLUnionType):
            lines.append(f"{pad}__typename")
            for member in gtype.types:
                lines += self._fragment(member, depth, pad, used, skip=set())
            return lines
        assert isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType)
        lines += self._fields(gtype, depth, pad, used, skip=set())
        if isinstance(gtype, GraphQLInterfaceType):
            lines.insert(0, f"{pad}__typename")
            for implementation in self.schema.get_possible_types(gtype):
                lines += self._fragment(implementation, depth, pad, used, skip=set(gtype.fields))
        return lines

    def _fragment(
        self, gtype: GraphQLObjectType, depth: int, pad: str, used: dict[str, str], skip: set[str]
    ) -> list[str]:
        inner = self._fields(gtype, depth, pad + "  ", used, skip)
        return [f"{pad}... on {gtype.name} {{", *inner, f"{pad}}}"] if inner else []

    def _fields(
        self,
        gtype: GraphQLObjectType | GraphQLInterfaceType,
        depth: int,
        pad: str,
        used: dict[str, str],
        skip: set[str],
    ) -> list[str]:
        lines: list[str] = []
        for name, definition in gtype.fields.items():
            if name.startswith("__") or name in skip:
                continue
            shape = str(definition.type)
            key = name if used.setdefault(name, shape) == shape else f"{gtype.name}_{name}"
            used.setdefault(key, shape)
            head = f"{pad}{key + ': ' if key != name else ''}{name}{self._arguments(definition.args)}"
            named = get_named_type(definition.type)
            self.fields += 1
            if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
                lines.append(head)
            elif depth > 1:
                lines += [f"{head} {{", *self.selection(named, depth - 1, pad + "  "), f"{pad}}}"]
            else:
                lines.append(f"{head} {{ __typename }}")
        return lines


def generate_deep(schema: GraphQLSchema, depth: int) -> tuple[str, int]:
    """`query Deep<depth>`: every field reachable from Query to `depth` levels; (text, fields selected)."""
    generator = _Generator(schema)
    query = schema.query_type
    assert query is not None
    body = generator.selection(query, depth, "  ")
    return "\n".join([f"query Deep{depth} {{", *body, "}"]) + "\n", generator.fields


def generate_wide(schema: GraphQLSchema, aliases: int, depth: int = 2) -> tuple[str, int]:
    """`query Wide<n>`: `aliases` aliased root fields, round robin over Query's fields, each with its fields
    `depth` levels down; (text, fields selected)."""
    generator = _Generator(schema)
    query = schema.query_type
    assert query is not None
    roots = [(n, f) for n, f in query.fields.items() if not n.startswith("__")]
    lines = [f"query Wide{aliases} {{"]
    for index in range(aliases):
        name, definition = roots[index % len(roots)]
        head = f"  a{index:03d}: {name}{generator._arguments(definition.args)}"
        generator.fields += 1
        named = get_named_type(definition.type)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            lines += [f"{head} {{", *generator.selection(named, depth, "    "), "  }"]
        else:
            lines.append(head)
    lines.append("}")
    return "\n".join(lines) + "\n", generator.fields


# -- measuring ------------------------------------------------------------------------------------------------------


@dataclass
class Measured:
    """One operation's figures (milliseconds; medians over the repeats)."""

    suite: str
    name: str
    origin: str
    plan_ms: float = math.nan
    plan_min_ms: float = math.nan
    prepare_ms: float = math.nan  # parse + validate (graphql-core's specified rules)
    fields: int = 0  # fields in the document (fragments counted where defined)
    fetches: int = 0  # subgraph fetches in the plan
    over_limits: list[str] = field(default_factory=list)  # what turnout serve's default Limits would refuse
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.suite}/{self.name}"


def _count_fields(node: Any) -> int:
    selection_set = getattr(node, "selection_set", None)
    own = 1 if isinstance(node, FieldNode) else 0
    if selection_set is None:
        return own
    return own + sum(_count_fields(s) for s in selection_set.selections)


def _over_limits(text: str, schema: GraphQLSchema) -> list[str]:
    """The default request limits of `turnout serve` the document exceeds (it would be refused)."""
    limits = Limits()
    try:
        document = parse(text, max_lexical_tokens=limits.max_tokens)
    except GraphQLSyntaxError as error:
        return ["tokens"] if "tokens" in error.message else []
    if nesting_error(document, limits.max_nesting) is not None:
        return ["nesting"]
    codes = {
        str((e.extensions or {}).get("code", "")) for e in validate(schema, document, limit_rules(limits))
    }
    names = {
        "MAX_DEPTH_LIMIT": "depth",
        "MAX_ALIASES_LIMIT": "aliases",
        "MAX_ROOT_FIELDS_LIMIT": "root fields",
        "MAX_DIRECTIVES_LIMIT": "directives",
    }
    return sorted(names.get(c, c) for c in codes if c)


def _timed(run: Callable[[], T], repeat: int, warmup: int) -> tuple[list[float], T]:
    """Seconds of each of `repeat` calls of `run()` after `warmup` untimed ones (a garbage collection before
    each timed one, so none inherits the previous one's garbage), and the last result."""
    for _ in range(warmup):
        run()
    times = []
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    assert result is not None
    return times, result


def measure(operation: Operation, model: SupergraphModel, repeat: int, warmup: int) -> Measured:
    row = Measured(operation.suite, operation.name, operation.origin)
    schema = model.api_schema

    def prepare() -> tuple[DocumentNode, list[GraphQLError]]:
        document = parse(operation.text)
        return document, validate(schema, document)

    try:
        times, (document, errors) = _timed(prepare, repeat, warmup)
    except GraphQLSyntaxError as error:
        row.error = f"syntax: {error.message}"
        return row
    row.prepare_ms = statistics.median(times) * 1000.0
    row.fields = sum(_count_fields(d) for d in document.definitions)
    row.over_limits = _over_limits(operation.text, schema)
    if errors:
        row.error = f"invalid: {errors[0].message}" + (
            f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        )
        return row

    def plan() -> QueryPlan:
        return QueryPlanner(model).plan(document, operation.operation_name)

    try:
        times, plan_result = _timed(plan, repeat, warmup)
    except Exception as error:  # a planning failure is a result, not a crash of the benchmark
        row.error = f"planning: {type(error).__name__}: {error}"
        return row
    row.plan_ms = statistics.median(times) * 1000.0
    row.plan_min_ms = min(times) * 1000.0
    row.fetches = len(plan_result.signature)
    return row


def operations_of(
    suite: Suite, model: SupergraphModel, args: argparse.Namespace, empty: list[Path]
) -> Iterator[Operation]:
    """The suite's operations (files without one are added to `empty`), then the generated ones."""
    base = Path(os.path.commonpath([s.parent for s in suite.sources])) if suite.sources else Path()
    for source in suite.sources:
        found = read_operations(suite.name, source, base)
        if not found:
            empty.append(source)
        yield from found
    if args.generated:
        text, _n = generate_deep(model.api_schema, args.depth)
        yield Operation(suite.name, f"generated:deep{args.depth}", text, None, "generated")
        if args.wide > 0:
            text, _n = generate_wide(model.api_schema, args.wide)
            yield Operation(suite.name, f"generated:wide{args.wide}", text, None, "generated")


def run(suites: Sequence[Suite], args: argparse.Namespace, progress: bool) -> list[Measured]:
    rows: list[Measured] = []
    for suite in suites:
        try:
            model = read_supergraph(suite.supergraph.read_text(encoding="utf-8"))
        except Exception as error:
            rows.append(
                Measured(
                    suite.name, SUPERGRAPH_FILE, "file", error=f"supergraph: {type(error).__name__}: {error}"
                )
            )
            continue
        started = time.perf_counter()
        count = 0
        empty: list[Path] = []
        for operation in operations_of(suite, model, args, empty):
            if args.only and args.only not in f"{operation.suite}/{operation.name}":
                continue
            if args.dump is not None:
                target = (
                    args.dump
                    / operation.suite
                    / f"{operation.name.replace(':', '__').replace('/', '__')}.graphql"
                )
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(operation.text, encoding="utf-8")
            rows.append(measure(operation, model, args.repeat, args.warmup))
            count += 1
        if progress and count:
            skipped = f" ({len(empty)} file(s) without an operation skipped)" if empty else ""
            print(
                f"  {suite.name}: {count} operation(s){skipped}, {time.perf_counter() - started:.1f}s",
                flush=True,
            )
    return rows


# -- the report -----------------------------------------------------------------------------------------------------


def summary(rows: Iterable[Measured]) -> dict[str, Any]:
    planned = [r for r in rows if r.error is None]
    if not planned:
        return {"operations": 0}
    worst = max(planned, key=lambda r: r.plan_ms)
    worst_prepare = max(planned, key=lambda r: r.prepare_ms)
    plans = [r.plan_ms for r in planned]
    prepares = [r.prepare_ms for r in planned]
    return {
        "operations": len(planned),
        "plan_median_ms": statistics.median(plans),
        "plan_p90_ms": quantile(plans, 0.9),
        "plan_worst_ms": worst.plan_ms,
        "plan_worst": worst.label,
        "prepare_median_ms": statistics.median(prepares),
        "prepare_p90_ms": quantile(prepares, 0.9),
        "prepare_worst_ms": worst_prepare.prepare_ms,
        "prepare_worst": worst_prepare.label,
    }


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}" if value < 10 else f"{value:.1f}"


def print_report(rows: Sequence[Measured], args: argparse.Namespace) -> None:
    planned = sorted((r for r in rows if r.error is None), key=lambda r: r.plan_ms, reverse=True)
    shown = planned[: args.top] if args.top else planned
    header = ("plan ms", "min ms", "parse+validate ms", "fields", "fetches", "over limits", "operation")
    lines = [
        (
            _ms(r.plan_ms),
            _ms(r.plan_min_ms),
            _ms(r.prepare_ms),
            str(r.fields),
            str(r.fetches),
            ",".join(r.over_limits) or "-",
            r.label,
        )
        for r in shown
    ]
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)
    ]
    print(
        f"\nplanning time per operation, slowest first (median of {args.repeat} runs, each by a fresh "
        f"QueryPlanner; parse+validate apart){'' if len(shown) == len(planned) else f'; the {len(shown)} slowest of {len(planned)}'}"
    )
    print("  ".join(h.rjust(w) if i < 6 else h for i, (h, w) in enumerate(zip(header, widths, strict=True))))
    for line in lines:
        print(
            "  ".join(c.rjust(w) if i < 6 else c for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        )

    groups = [
        ("all", planned),
        ("from files", [r for r in planned if r.origin == "file"]),
        ("generated", [r for r in planned if r.origin == "generated"]),
    ]
    if planned:
        print("\nover the operations (ms): plan median / p90 / worst; parse+validate median / p90 / worst")
    for title, members in groups:
        s = summary(members)
        if not s["operations"]:
            continue
        print(
            f"  {title:<11} {s['operations']:>4} ops   plan {_ms(s['plan_median_ms'])} / {_ms(s['plan_p90_ms'])} / "
            f"{_ms(s['plan_worst_ms'])} ({s['plan_worst']})   parse+validate {_ms(s['prepare_median_ms'])} / "
            f"{_ms(s['prepare_p90_ms'])} / {_ms(s['prepare_worst_ms'])} ({s['prepare_worst']})"
        )
    failed = [r for r in rows if r.error is not None]
    if failed:
        print(f"\nnot planned ({len(failed)}):")
        for r in failed:
            print(f"  {r.label}: {(r.error or '')[:300]}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.planning", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per operation (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per operation first (default 1)")
    parser.add_argument("--supergraph", type=Path, help="a supergraph SDL file (with --operations)")
    parser.add_argument(
        "--operations",
        type=Path,
        action="append",
        default=[],
        help="a .graphql file (one or several operations: each is planned), a .json list of "
        "documents (the audit's tests.json), or a directory of them; repeatable",
    )
    parser.add_argument(
        "--suites",
        type=Path,
        help="a directory of <suite>/supergraph.graphql, each with the .graphql files and "
        "tests.json beside it (the federation audit's results/suites folder)",
    )
    parser.add_argument(
        "--depth", type=int, default=4, help="levels of the generated deep operation (default 4)"
    )
    parser.add_argument(
        "--wide", type=int, default=200, help="aliases of the generated wide operation (default 200, 0: none)"
    )
    parser.add_argument(
        "--no-generated",
        dest="generated",
        action="store_false",
        help="only the operations of the files, no generated deep and wide ones",
    )
    parser.add_argument("--only", metavar="TEXT", help="only operations whose suite/name contains TEXT")
    parser.add_argument(
        "--top",
        type=int,
        default=40,
        help="rows of the table: the N slowest operations "
        "(default 40; 0: all; the summaries and --json always cover all)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the rows and summaries as JSON to FILE; alone (or -): to stdout, no table",
    )
    parser.add_argument(
        "--dump",
        type=Path,
        metavar="DIR",
        help="write every operation planned (generated ones included) to DIR/<suite>/<name>.graphql",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.warmup < 0 or args.depth < 1 or args.wide < 0:
        parser.error("--repeat and --depth must be positive, --warmup and --wide not negative")
    if args.operations and not args.supergraph:
        parser.error("--operations needs --supergraph")
    if args.suites and (args.supergraph or args.operations):
        parser.error("--suites or --supergraph/--operations, not both")
    return args


def _slowest_first(row: Measured) -> float:
    return -row.plan_ms if row.error is None else 0.0


def _finite(values: dict[str, Any]) -> dict[str, Any]:
    """NaN (not measured) as null, so the JSON is standard."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in values.items()}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.suites:
        suites = suites_in(args.suites)
    elif args.supergraph:
        files = [f for p in args.operations for f in operation_files(p, skip=args.supergraph)]
        suites = [Suite(args.supergraph.parent.name or args.supergraph.stem, args.supergraph, files)]
    else:
        suites = default_suites()
    to_stdout = args.json == "-"
    if not to_stdout:
        count = sum(len(s.sources) for s in suites)
        print(
            f"planning benchmark: {len(suites)} supergraph(s), {count} operation file(s)"
            f"{f' + generated deep{args.depth} and wide{args.wide} per supergraph' if args.generated else ''}; "
            f"{args.repeat} timed run(s) after {args.warmup} warm-up per operation; Python {sys.version.split()[0]}"
        )
    rows = run(suites, args, progress=not to_stdout)
    if args.json is not None:
        planned = [r for r in rows if r.error is None]
        document = {
            "repeat": args.repeat,
            "warmup": args.warmup,
            "summary": {
                "all": summary(planned),
                "files": summary(r for r in planned if r.origin == "file"),
                "generated": summary(r for r in planned if r.origin == "generated"),
            },
            "operations": [_finite(asdict(r)) for r in sorted(rows, key=_slowest_first)],
        }
        text = json.dumps(document, indent=2)
        if to_stdout:
            print(text)
            return 0
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    print_report(rows, args)
    if args.json is not None:
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
