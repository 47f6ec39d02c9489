"""The example classroom: its three subgraphs, the differences planted in the new services, its traffic."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import examples.classroom as classroom
import pytest
import yaml
from examples.classroom import data
from examples.classroom.traffic import QUERIES, run_traffic
from graphql import ObjectTypeDefinitionNode, ObjectTypeExtensionNode, parse, print_ast

from support.client import fetch_entities, graphql_request
from support.servers import ServerThread, stop_all
from support.waiting import wait_until
from turnout.assembly import build_migrations
from turnout.config import Config
from turnout.gateway import Gateway, GraphQLRequest
from turnout.metrics import Metrics
from turnout.migration.engine import MigrationEngine
from turnout.migration.memory_store import MemoryStore
from turnout.migration.model import ComparisonOutcome, Difference, Migration, Stage
from turnout.migration.readiness import fields_declared_by
from turnout.migration.routing import CohortKey
from turnout.migration.shadow import ShadowQueue
from turnout.server.app import create_app
from turnout.supergraph.join_spec import read_supergraph
from turnout.transport.http import HttpTransport

REPO_ROOT = Path(__file__).resolve().parents[2]

# The planted differences, as README.md documents them.
SUMMER_IDS = [f"a{n}" for n in range(166, 195)]
NO_DUE_DATE_IDS = [
    "a9",
    "a10",
    "a19",
    "a23",
    "a40",
    "a45",
    "a53",
    "a63",
    "a64",
    "a67",
    "a71",
    "a72",
    "a73",
    "a81",
    "a89",
    "a96",
    "a98",
    "a106",
    "a113",
    "a116",
    "a119",
    "a124",
    "a126",
    "a128",
    "a140",
    "a147",
    "a160",
    "a162",
    "a164",
    "a169",
    "a170",
    "a173",
    "a176",
    "a180",
    "a181",
    "a186",
]
DUE_DATE_ERROR = "'NoneType' object has no attribute 'isoformat'"


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    """The three classroom subgraphs on loopback, for the whole module: name -> GraphQL URL."""
    servers: list[ServerThread] = []
    try:
        for name in classroom.SUBGRAPHS:
            servers.append(ServerThread(classroom.app_for(name), name=name).start())
        yield {
            name: s.base_url + classroom.GRAPHQL_PATH
            for name, s in zip(classroom.SUBGRAPHS, servers, strict=True)
        }
    finally:
        stop_all(servers)


def _ask(url: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = graphql_request(url, query, variables)
    assert response.status == 200, response.text
    body: dict[str, Any] = response.json
    return body


def _data(url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = _ask(url, query, variables)
    assert not body.get("errors"), body["errors"]
    return body["data"]


def _utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


# -- the subgraphs -----------------------------------------------------------------------------------------


def test_every_subgraph_serves_its_sdl(urls: dict[str, str]) -> None:
    for name, url in urls.items():
        sdl = _data(url, "{ _service { sdl } }")["_service"]["sdl"]
        assert print_ast(parse(sdl)) == print_ast(parse(classroom.sdl_for(name)))
        assert "@shareable" in sdl
    with pytest.raises(KeyError):
        classroom.app_for("gradebook")
    assert classroom.default_urls()["progress"] == "http://127.0.0.1:4203/graphql"


def test_monolith_answers(urls: dict[str, str]) -> None:
    course = _data(
        urls["monolith"],
        """{ course(id: "c1") {
        code title teacher { id role courses { id } } students { id role } assignments { id } } }""",
    )["course"]
    assert course["code"] == "MATH-101" and course["title"] == "Algebra I"
    assert course["teacher"]["role"] == "TEACHER" and {"id": "c1"} in course["teacher"]["courses"]
    assert {s["role"] for s in course["students"]} == {"STUDENT"}
    assert [a["id"] for a in course["assignments"]] == [a["id"] for a in data.ASSIGNMENTS_BY_COURSE["c1"]]

    users = _data(urls["monolith"], "{ users(first: 2, offset: 189) { id role progress { completion } } }")
    assert [(u["id"], u["role"]) for u in users["users"]] == [("u190", "STUDENT"), ("u191", "TEACHER")]
    assert users["users"][1]["progress"] == []
    assert len(data.USERS) == 200 and len(data.COURSES) == 12 and len(data.ASSIGNMENTS) == 194
    assert sum(len(rows) for rows in data.PROGRESS.values()) == 756

    user = _data(
        urls["monolith"],
        """{ user(id: "u1") { name
        progress { course { code } completion lastActivity }
        submissions(first: 2, status: GRADED) { id status grade assignment { id } } } }""",
    )["user"]
    assert user["progress"][0] == {
        "course": {"code": "MATH-201"},
        "completion": 0.5882,
        "lastActivity": "2024-04-09T19:04:00Z",
    }
    assert [s["status"] for s in user["submissions"]] == ["GRADED", "GRADED"]


def test_new_services_answer(urls: dict[str, str]) -> None:
    first = _data(urls["assignments"], "{ assignments(first: 3) { id title } }")["assignments"]
    assert [a["id"] for a in first] == ["a1", "a2", "a3"]
    assert first[0]["title"] == "Proofs: project"
    one = _data(
        urls["assignments"],
        '{ assignment(id: "a1") { id createdDate dueDate } missing: assignment(id: "x") { id } }',
    )
    assert one == {
        "assignment": {"id": "a1", "createdDate": "2023-11-06T11:50:00Z", "dueDate": "2023-11-11"},
        "missing": None,
    }
    course = _data(urls["assignments"], '{ assignments(courseId: "c3", first: 100) { id } }')["assignments"]
    assert len(course) == 18

    entities = fetch_entities(
        urls["progress"],
        [
            {"__typename": "User", "id": "u1"},
            {"__typename": "User", "id": "u191"},
            {"__typename": "User", "id": "nobody"},
        ],
        "... on User { id progress { course { id } completion lastActivity } }",
    ).data["_entities"]
    assert [len(e["progress"]) for e in entities] == [3, 0, 0]
    assert entities[0]["progress"][0] == {
        "course": {"id": "c2"},
        "completion": 0.59,
        "lastActivity": "2024-04-09T19:04:00Z",
    }
    by_key = fetch_entities(
        urls["assignments"], [{"__typename": "Assignment", "id": "a3"}], "... on Assignment { id tags }"
    ).data["_entities"]
    assert by_key == [{"id": "a3", "tags": ["chemistry", "group-work", "project", "week-45"]}]


def test_mutations_stay_with_the_monolith(urls: dict[str, str]) -> None:
    before = _data(urls["monolith"], '{ user(id: "u2") { courses { id } progress { completion } } }')["user"]
    course = before["courses"][0]["id"]
    assignment = _data(urls["monolith"], f'{{ course(id: "{course}") {{ assignments {{ id }} }} }}')
    target = assignment["course"]["assignments"][0]["id"]
    submitted = _data(
        urls["monolith"],
        """mutation($id: ID!) {
        submitAssignment(id: $id, userId: "u2", answer: "42") { id status grade assignment { id } student { id } } }""",
        {"id": target},
    )["submitAssignment"]
    assert submitted == {
        "id": f"{target}-u2",
        "status": "PENDING",
        "grade": None,
        "assignment": {"id": target},
        "student": {"id": "u2"},
    }
    after = _data(
        urls["monolith"],
        """{ user(id: "u2") { progress { completion }
        submissions(status: PENDING) { id } } }""",
    )["user"]
    assert after["progress"] == before["progress"]  # progress counts graded work only
    assert {"id": f"{target}-u2"} in after["submissions"]

    profile = _data(
        urls["monolith"],
        """mutation { updateProfile(userId: "u3", input: {bio: "Plays chess."}) {
        id bio } }""",
    )
    assert profile == {"updateProfile": {"id": "u3", "bio": "Plays chess."}}

    not_enrolled = next(
        c["id"]
        for c in _data(urls["monolith"], "{ courses { id } }")["courses"]
        if c["id"] not in {x["id"] for x in before["courses"]}
    )
    other = _data(urls["monolith"], f'{{ course(id: "{not_enrolled}") {{ assignments {{ id }} }} }}')
    refused = graphql_request(
        urls["monolith"],
        """mutation($id: ID!) {
        submitAssignment(id: $id, userId: "u2", answer: "?") { id } }""",
        {"id": other["course"]["assignments"][0]["id"]},
    )
    assert refused.errors and refused.errors[0]["extensions"]["code"] == "FORBIDDEN"
    for schema_name in ("assignments", "progress"):
        assert "Mutation" not in _data(urls[schema_name], "{ _service { sdl } }")["_service"]["sdl"]


# -- the planted differences ---------------------------------------------------------------------------------

ALL_ASSIGNMENTS = "{ assignments { id title createdDate tags } }"


def test_created_date_is_an_hour_late_in_summer_time(urls: dict[str, str]) -> None:
    old = {a["id"]: a for a in _data(urls["monolith"], ALL_ASSIGNMENTS)["assignments"]}
    new = {a["id"]: a for a in _data(urls["assignments"], ALL_ASSIGNMENTS)["assignments"]}
    assert list(old) == list(new) and len(old) == 194
    shifted = [i for i in old if old[i]["createdDate"] != new[i]["createdDate"]]
    assert shifted == SUMMER_IDS
    for i in shifted:
        assert _utc(new[i]["createdDate"]) - _utc(old[i]["createdDate"]) == timedelta(hours=1)
    assert (old["a166"]["createdDate"], new["a166"]["createdDate"]) == (
        "2024-04-02T06:25:00Z",
        "2024-04-02T07:25:00Z",
    )
    assert old["a165"]["createdDate"] == new["a165"]["createdDate"] == "2024-03-29T15:15:00Z"
    assert all(old[i]["title"] == new[i]["title"] for i in old)


def test_tags_come_sorted_from_the_new_service(urls: dict[str, str]) -> None:
    old = {a["id"]: a["tags"] for a in _data(urls["monolith"], ALL_ASSIGNMENTS)["assignments"]}
    new = {a["id"]: a["tags"] for a in _data(urls["assignments"], ALL_ASSIGNMENTS)["assignments"]}
    assert all(new[i] == sorted(old[i]) for i in old)
    reordered = [i for i in old if old[i] != new[i]]
    assert len(reordered) == 92
    assert old["a3"] == ["chemistry", "project", "week-45", "group-work"]
    assert new["a3"] == ["chemistry", "group-work", "project", "week-45"]


def test_completion_is_rounded_to_two_decimals_by_the_new_service(urls: dict[str, str]) -> None:
    representations = [{"__typename": "User", "id": s["id"]} for s in data.STUDENTS]
    selection = "... on User { id progress { course { id } completion lastActivity } }"
    old = fetch_entities(urls["monolith"], representations, selection).data["_entities"]
    new = fetch_entities(urls["progress"], representations, selection).data["_entities"]
    rows = differing = 0
    for before, after in zip(old, new, strict=True):
        assert [p["course"] for p in before["progress"]] == [p["course"] for p in after["progress"]]
        for expected, p, q in zip(
            data.PROGRESS[before["id"]], before["progress"], after["progress"], strict=True
        ):
            rows += 1
            ratio = expected["done"] / expected["total"]
            assert (p["completion"], q["completion"]) == (round(ratio, 4), round(ratio, 2))
            assert abs(p["completion"] - q["completion"]) <= 0.005 + 1e-9
            assert p["lastActivity"] == q["lastActivity"]
            differing += p["completion"] != q["completion"]
    assert (rows, differing) == (756, 669)


def test_due_date_fails_in_the_new_service_when_there_is_none(urls: dict[str, str]) -> None:
    query = "{ assignments { id dueDate } }"
    old = _ask(urls["monolith"], query)
    new = _ask(urls["assignments"], query)
    assert "errors" not in old
    assert [a["id"] for a in old["data"]["assignments"] if a["dueDate"] is None] == NO_DUE_DATE_IDS
    index = {a["id"]: n for n, a in enumerate(old["data"]["assignments"])}
    assert [e["path"] for e in new["errors"]] == [
        ["assignments", index[i], "dueDate"] for i in NO_DUE_DATE_IDS
    ]
    assert {e["message"] for e in new["errors"]} == {DUE_DATE_ERROR}
    assert new["data"]["assignments"] == old["data"]["assignments"]  # null where it failed, equal elsewhere
    single = _ask(urls["assignments"], '{ assignment(id: "a170") { id dueDate } }')
    assert single["data"] == {"assignment": {"id": "a170", "dueDate": None}}
    assert single["errors"][0]["path"] == ["assignment", "dueDate"]


def test_rendered_at_changes_on_every_call(urls: dict[str, str]) -> None:
    query = '{ assignment(id: "a1") { renderedAt } }'
    seen = [
        _data(urls[name], query)["assignment"]["renderedAt"]
        for name in ("monolith", "monolith", "assignments")
    ]
    assert len(set(seen)) == 3
    assert all(value.endswith("Z") and datetime.fromisoformat(value) for value in seen)


# -- supergraph and migrations -------------------------------------------------------------------------------


def test_supergraph_matches_the_subgraphs() -> None:
    model = read_supergraph(classroom.supergraph_sdl())
    assert {s.name: s.url for s in model.subgraphs.values()} == classroom.default_urls()
    for name in classroom.SUBGRAPHS:
        graph = model.subgraph_by_name(name)
        assert graph is not None
        for definition in parse(classroom.sdl_for(name)).definitions:
            if not isinstance(definition, ObjectTypeDefinitionNode | ObjectTypeExtensionNode):
                continue
            typedef = model.types[definition.name.value]
            for field in definition.fields or ():
                assert graph.enum in typedef.fields[field.name.value].in_graphs, (
                    name,
                    definition.name.value,
                    field.name.value,
                )

    moved = classroom.supergraph_sdl({"progress": "http://10.0.0.9:9000/graphql"})
    assert '@join__graph(name: "progress", url: "http://10.0.0.9:9000/graphql")' in moved
    assert '@join__graph(name: "monolith", url: "http://127.0.0.1:4201/graphql")' in moved
    with pytest.raises(KeyError):
        classroom.supergraph_sdl({"gradebook": "http://x"})


def _migrations(model: Any) -> list[Migration]:
    config = Config.model_validate(yaml.safe_load(classroom.MIGRATIONS_PATH.read_text(encoding="utf-8")))
    assert config.cohort.header == "x-user-id"
    return build_migrations(config.migrations, model)


def test_every_migrating_field_is_declared_on_both_sides() -> None:
    model = read_supergraph(classroom.supergraph_sdl())
    migrations = {m.name: m for m in _migrations(model)}
    assert set(migrations) == {"assignments", "progress"}
    for migration in migrations.values():
        assert fields_declared_by(model, migration, migration.from_subgraph) == list(migration.fields)
        assert fields_declared_by(model, migration, migration.to_subgraph) == list(migration.fields)
    assert set(migrations["assignments"].rules) == {"Assignment.tags"}
    assert migrations["progress"].rules["Progress.completion"].float_tolerance == 0.01


# -- through the gateway ---------------------------------------------------------------------------------------


def test_traffic_through_a_gateway(urls: dict[str, str], serve_asgi: Callable[..., ServerThread]) -> None:
    gateway = Gateway(read_supergraph(classroom.supergraph_sdl(urls)), HttpTransport(timeout=10.0))
    server = serve_asgi(create_app(gateway), lifespan="on", name="gateway")
    seen: list[str] = []

    async def on_response(response: Any) -> None:
        seen.append(response.operation)

    result = asyncio.run(
        run_traffic(
            server.base_url + "/graphql",
            users=20,
            concurrency=4,
            duration=1.0,
            mutation_share=0.2,
            on_response=on_response,
            seed=7,
        )
    )
    assert result.errors == 0, result.error_samples
    assert result.ok == result.sent == len(seen) > 0
    assert sum(result.by_operation.values()) == result.sent
    assert len(result.by_operation) >= 3


def _stages(**stages: tuple[Stage, float]) -> MemoryStore:
    """A store (in memory) with these stages, per migration."""
    store = MemoryStore()
    for name, (stage, percent) in stages.items():
        store.set_stage(name, stage, percent=percent, by="test", reason="test", evidence={})
    return store


class _Evidence:
    def __init__(self) -> None:
        self.comparisons: list[tuple[str, str, ComparisonOutcome, list[Difference]]] = []
        self.repeats: list[tuple[str, dict[str, int], dict[str, int]]] = []

    def comparison(
        self,
        migration: str,
        operation: str,
        outcome: ComparisonOutcome,
        differences: list[Difference],
        noisy_coordinates: set[str],
        **_counts: Any,
    ) -> None:
        self.comparisons.append((migration, operation, outcome, differences))

    def latency(self, migration: str, side: str, ms: float) -> None:
        pass

    def repeat(self, migration: str, values: Any, differing: Any) -> None:
        self.repeats.append((migration, dict(values), dict(differing)))

    def fallback(self, migration: str, operation: str, coordinates: Any = ()) -> None:
        pass

    def shadow_dropped(self, migration: str) -> None:
        raise AssertionError(f"a comparison of {migration} was dropped")


def _side_by_side(
    urls: dict[str, str],
    with_rules: bool,
    requests: list[tuple[str, dict[str, Any]]],
    metrics: Metrics | None = None,
) -> list[tuple[str, str, ComparisonOutcome, list[Difference]]]:
    """Runs the named traffic operations through a gateway with both migrations in side_by_side."""
    documents = {o.name: o.document for o in QUERIES}
    model = read_supergraph(classroom.supergraph_sdl(urls))
    migrations = [replace(m, noise_rate=0.0, rules=m.rules if with_rules else {}) for m in _migrations(model)]
    evidence = _Evidence()
    engine = MigrationEngine(
        model,
        migrations,
        states=_stages(assignments=(Stage.SIDE_BY_SIDE, 100.0), progress=(Stage.SIDE_BY_SIDE, 100.0)),
        evidence=evidence,
        cohort=CohortKey(source="header", name="x-user-id"),
        shadow=ShadowQueue(size=100, concurrency=2, timeout=10.0),
        rng=random.Random(1),
    )
    gateway = Gateway(model, HttpTransport(timeout=10.0), engine=engine, metrics=metrics)

    async def scenario() -> None:
        await gateway.start()
        try:
            for name, variables in requests:
                answer = await gateway.execute(
                    GraphQLRequest(
                        query=documents[name],
                        operation_name=name,
                        variables=variables,
                        headers={"x-user-id": "user-1"},
                    )
                )
                assert "errors" not in answer  # users get the monolith's answers
                await engine.shadow.drain(timeout=10)  # one comparison at a time: evidence in request order
        finally:
            await gateway.close()

    asyncio.run(scenario())
    return evidence.comparisons


def _kinds(differences: list[Difference]) -> set[tuple[str, str]]:
    return {(d.coordinate, d.kind) for d in differences}


def test_side_by_side_finds_the_planted_differences(urls: dict[str, str]) -> None:
    requests: list[tuple[str, dict[str, Any]]] = [
        ("AssignmentDetail", {"id": "a166"}),  # summer time: createdDate an hour late
        ("AssignmentDetail", {"id": "a9"}),  # no due date: the new service fails
        ("AssignmentList", {"courseId": "c4", "first": 3}),
        ("MyProgress", {"userId": "u1"}),
    ]
    raw = _side_by_side(urls, False, requests)
    assert [(m, op) for m, op, _, _ in raw] == [
        ("assignments", "AssignmentDetail"),
        ("assignments", "AssignmentDetail"),
        ("assignments", "AssignmentList"),
        ("progress", "MyProgress"),
    ]
    summer, no_due, listing, progress = (c[3] for c in raw)
    assert _kinds(summer) == {
        ("Assignment.createdDate", "value"),
        ("Assignment.tags", "order"),
        ("Assignment.renderedAt", "value"),
    }
    date = next(d for d in summer if d.coordinate == "Assignment.createdDate")
    assert (date.primary, date.candidate) == ("2024-04-02T06:25:00Z", "2024-04-02T07:25:00Z")
    assert ("Assignment.dueDate", "error") in _kinds(no_due)
    assert raw[1][2] == "error"
    assert _kinds(listing) == {("Assignment.tags", "order")}
    assert _kinds(progress) == {("Progress.completion", "value")}

    ruled = _side_by_side(urls, True, requests)
    assert _kinds(ruled[2][3]) == set()  # tags: unordered
    assert ruled[2][2] == "match"
    assert ruled[3][2] == "match"  # completion: within 0.01
    # the timezone bug stays (and renderedAt, noise that the noise runs, off here, would learn)
    assert _kinds(ruled[0][3]) == {("Assignment.createdDate", "value"), ("Assignment.renderedAt", "value")}


def test_comparisons_call_only_the_new_services(urls: dict[str, str]) -> None:
    """Every candidate fetch to the monolith asks for what the user's request already read from it: the root
    fields (a covering root answer) and, one jump further, the fields that stay on the monolith of objects the
    new service listed (entity fetches answered from the root answer's objects, found by their keys). So
    comparisons call the new services only, and a non-migrating value cannot differ from what the user got.
    (Not MyProgress: its user asks for courses without their `id`, so the courses the new service lists cannot
    be found in the user's answer; the monolith is asked for them.)"""
    requests: list[tuple[str, dict[str, Any]]] = [
        ("Dashboard", {"userId": "u1"}),
        ("AssignmentList", {"courseId": "c4", "first": 3}),
        ("AssignmentDetail", {"id": "a12"}),
        ("CourseAssignments", {"courseId": "c2"}),
        ("CourseRoster", {"courseId": "c1"}),
    ]
    metrics = Metrics()
    raw = _side_by_side(urls, True, requests, metrics)
    assert [op for _, op, _, _ in raw] == [name for name, _ in requests]
    shadow: dict[str, float] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "turnout_subgraph_requests_total" and sample.labels["purpose"] == "shadow":
                subgraph = sample.labels["subgraph"]  # ok and error alike
                shadow[subgraph] = shadow.get(subgraph, 0) + sample.value
    assert shadow.get("monolith", 0) == 0, shadow
    assert shadow.get("assignments", 0) + shadow.get("progress", 0) == len(requests), shadow


# -- the command lines -----------------------------------------------------------------------------------------


def _env() -> dict[str, str]:
    paths = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def test_traffic_command_line(urls: dict[str, str]) -> None:
    # the monolith declares every field the traffic uses, so it can stand in for a gateway here
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "examples.classroom.traffic",
            "--url",
            urls["monolith"],
            "--requests",
            "12",
            "--concurrency",
            "3",
            "--seed",
            "3",
        ],
        cwd=REPO_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "sent 12 " in done.stdout and "12 ok, 0 with errors" in done.stdout


def test_serve_command_line() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "examples.classroom.serve",
            "progress",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO_ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}/graphql"

        def entities() -> Any:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            return fetch_entities(
                url,
                [{"__typename": "User", "id": "u1"}],
                "... on User { progress { completion } }",
                timeout=2,
            )

        answer = wait_until(
            entities, 30, interval=0.1, ignoring=(OSError,), describe="the service never answered"
        )
        assert answer.data["_entities"][0]["progress"][0] == {"completion": 0.59}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        finally:
            if process.stdout:
                process.stdout.close()


def test_one_migrations_fallback_leaves_the_others_evidence_alone(urls: dict[str, str]) -> None:
    """progress is migrated and its new service is down; assignments is in side_by_side. `Dashboard` reads both:
    progress falls back (recorded), and assignments records nothing for that request (its candidate was made
    against the routing that failed); `AssignmentList`, which touches no progress field, is compared as usual,
    and no difference of assignments ever lands outside its own fields."""
    down = dict(urls, progress="http://127.0.0.1:9/graphql")  # nothing listens there
    model = read_supergraph(classroom.supergraph_sdl(down))
    migrations = [replace(m, noise_rate=0.0, sample_rate=1.0) for m in _migrations(model)]
    fallbacks: list[tuple[str, str]] = []
    evidence = _Evidence()
    evidence.fallback = lambda migration, operation, coordinates=(): fallbacks.append(  # type: ignore[method-assign]
        (migration, operation)
    )
    engine = MigrationEngine(
        model,
        migrations,
        evidence=evidence,
        states=_stages(progress=(Stage.MIGRATED, 100.0), assignments=(Stage.SIDE_BY_SIDE, 100.0)),
        cohort=CohortKey(source="header", name="x-user-id"),
        shadow=ShadowQueue(size=100, concurrency=2, timeout=10.0),
        rng=random.Random(1),
    )
    gateway = Gateway(model, HttpTransport(timeout=5.0), engine=engine)
    documents = {o.name: o.document for o in QUERIES}

    async def scenario() -> list[dict[str, Any]]:
        await gateway.start()
        try:
            answers = []
            for name, variables in [
                ("Dashboard", {"userId": "u1"}),
                ("AssignmentList", {"courseId": "c1"}),
                ("Dashboard", {"userId": "u2"}),
            ]:
                answers.append(
                    await gateway.execute(
                        GraphQLRequest(
                            query=documents[name],
                            operation_name=name,
                            variables=variables,
                            headers={"x-user-id": "user-1"},
                        )
                    )
                )
                await engine.shadow.drain(timeout=10)
            return answers
        finally:
            await gateway.close()

    answers = asyncio.run(scenario())
    assert all("errors" not in a for a in answers), answers  # the monolith answered for progress
    assert [f for f in fallbacks if f[0] == "progress"] == [("progress", "Dashboard")] * 2
    compared = [(m, op) for m, op, _outcome, _diffs in evidence.comparisons]
    assert compared == [("assignments", "AssignmentList")]
    own = {m.name: set(m.fields) for m in migrations}
    for migration, _op, _outcome, differences in evidence.comparisons:
        assert {d.coordinate for d in differences} <= own[migration]


def test_a_noise_run_asks_the_old_side_again_only_for_what_migrates(urls: dict[str, str]) -> None:
    """assignments is migrated (its fetch goes to the new service), progress in side_by_side with a noise run on
    every comparison. `Dashboard` reads both. The noise run asks the monolith again for the fetch that holds
    progress's fields and nothing else: the assignments service's answer is reused from the request, in the
    noise run and in the candidate; so each side is called once per comparison."""
    model = read_supergraph(classroom.supergraph_sdl(urls))
    migrations = [
        replace(
            m,
            noise_rate=1.0 if m.name == "progress" else 0.0,
            sample_rate=1.0,
            # dueDate fails on the new side for some assignments: kept on the monolith here
            fields=tuple(f for f in m.fields if f != "Assignment.dueDate"),
        )
        for m in _migrations(model)
    ]
    evidence = _Evidence()
    metrics = Metrics()
    engine = MigrationEngine(
        model,
        migrations,
        evidence=evidence,
        states=_stages(progress=(Stage.SIDE_BY_SIDE, 100.0), assignments=(Stage.MIGRATED, 100.0)),
        cohort=CohortKey(source="header", name="x-user-id"),
        shadow=ShadowQueue(size=100, concurrency=2, timeout=10.0),
        rng=random.Random(1),
    )
    gateway = Gateway(model, HttpTransport(timeout=5.0), engine=engine, metrics=metrics)
    documents = {o.name: o.document for o in QUERIES}

    async def scenario() -> dict[str, Any]:
        await gateway.start()
        try:
            answer = await gateway.execute(
                GraphQLRequest(
                    query=documents["Dashboard"],
                    operation_name="Dashboard",
                    variables={"userId": "u6"},
                    headers={"x-user-id": "user-1"},
                )
            )
            await engine.shadow.drain(timeout=10)
            return answer
        finally:
            await gateway.close()

    assert "errors" not in asyncio.run(scenario())
    assert [(m, op) for m, op, _o, _d in evidence.comparisons] == [("progress", "Dashboard")]
    calls: dict[tuple[str, str], float] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "turnout_subgraph_requests_total":
                key = (sample.labels["purpose"], sample.labels["subgraph"])
                calls[key] = calls.get(key, 0) + sample.value
    primary = {s: n for (purpose, s), n in calls.items() if purpose == "request"}
    assert primary.get("assignments", 0) >= 1 and primary.get("monolith", 0) >= 1, calls
    shadow = {s: n for (purpose, s), n in calls.items() if purpose == "shadow"}
    # the candidate calls progress; the noise run calls the monolith for progress's fields; nobody else (the
    # candidate's fetch to assignments, numbered apart in its plan, asks what the request's did: reused)
    assert shadow == {"progress": 1, "monolith": 1}, sorted(calls.items())
    # and the noise run compared progress's values with themselves
    [(migration, values, _differing)] = evidence.repeats
    assert migration == "progress" and values.get("Progress.completion", 0) > 0, evidence.repeats
