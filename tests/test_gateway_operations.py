"""Operation features through the gateway (tasks: tasks, people).

tasks owns Task (enum Priority, scalars DateTime and JSON, input objects) and knows users by id only;
people owns User and adds Task.watchers. Both have mutations.
"""

from __future__ import annotations

import pytest

from test_gateway_support import GatewayRun, RunSubgraphs, ServeAsgi, TasksWorld, start_gateway, tasks_world


@pytest.fixture
def world() -> TasksWorld:
    return tasks_world()


@pytest.fixture
def tasks(world: TasksWorld, run_subgraphs: RunSubgraphs, serve_asgi: ServeAsgi) -> GatewayRun:
    return start_gateway(serve_asgi, "tasks", run_subgraphs(world.specs))


# -- enums, input objects, custom scalars ------------------------------------------------------------------------


def test_enum_literals_in_an_input_object_and_enum_output(tasks: GatewayRun) -> None:
    response = tasks.query("{ tasks(filter: {priorities: [HIGH, LOW]}) { id priority } }")
    assert response.json == {
        "data": {"tasks": [{"id": "t1", "priority": "HIGH"}, {"id": "t3", "priority": "LOW"}]}
    }


def test_enum_and_input_object_variables(tasks: GatewayRun) -> None:
    query = "query($f: TaskFilter, $n: Int) { tasks(filter: $f, first: $n) { id priority } }"
    variables = {"f": {"priorities": ["MEDIUM", "HIGH"]}, "n": 1}
    response = tasks.query(query, variables)
    assert response.json == {"data": {"tasks": [{"id": "t1", "priority": "HIGH"}]}}
    [fetch] = tasks.requests("tasks")
    assert fetch.variables == variables


def test_variables_nested_in_input_object_literals(tasks: GatewayRun) -> None:
    query = """
    query($who: ID, $before: DateTime, $p: Priority!) {
      tasks(filter: {assignee: {id: $who}, dueBefore: $before, priorities: [$p, LOW]}) { id }
    }
    """
    variables = {"who": "u1", "before": "2024-12-31T00:00:00Z", "p": "HIGH"}
    response = tasks.query(query, variables)
    assert response.json == {"data": {"tasks": [{"id": "t1"}]}}
    [fetch] = tasks.requests("tasks")
    assert fetch.variables == variables


def test_invalid_enum_variable_is_a_request_error(tasks: GatewayRun) -> None:
    response = tasks.query(
        "query($p: Priority!) { tasks(filter: {priorities: [$p]}) { id } }", {"p": "URGENT"}
    )
    assert response.status == 200
    assert "data" not in response.json
    [error] = response.errors
    assert error["message"].startswith("Variable '$p' got invalid value 'URGENT'")
    assert tasks.calls() == {"people": 0, "tasks": 0}


def test_custom_scalars_pass_through(tasks: GatewayRun) -> None:
    response = tasks.query("{ tasks { id due meta } }")
    assert response.json == {
        "data": {
            "tasks": [
                {
                    "id": "t1",
                    "due": "2024-05-01T09:00:00Z",
                    "meta": {"labels": ["qa", "e2e"], "estimate": {"hours": 3, "confidence": None}},
                },
                {"id": "t2", "due": None, "meta": None},
                {"id": "t3", "due": "2024-06-01T00:00:00Z", "meta": [1, "two", {"three": 3.5}]},
            ]
        }
    }


def test_custom_scalar_inputs_literal_and_variable(tasks: GatewayRun) -> None:
    query = """
    mutation($due: DateTime, $meta: JSON) {
      a: createTask(input: {title: "Literal", due: "2025-01-02T03:04:05Z", meta: {deep: [1, {x: null}]}}) {
        due meta }
      b: createTask(input: {title: "Variable", due: $due, meta: $meta}) { due meta }
    }
    """
    meta = {"tags": ["a", "b"], "nested": {"n": 1.5, "flag": False, "none": None}}
    response = tasks.query(query, {"due": "2030-01-01T00:00:00Z", "meta": meta})
    assert response.json == {
        "data": {
            "a": {"due": "2025-01-02T03:04:05Z", "meta": {"deep": [1, {"x": None}]}},
            "b": {"due": "2030-01-01T00:00:00Z", "meta": meta},
        }
    }


def test_input_object_default_values(tasks: GatewayRun, world: TasksWorld) -> None:
    response = tasks.query(
        'mutation { createTask(input: {title: "Defaults"}) { id title priority done due } }'
    )
    assert response.json == {
        "data": {
            "createTask": {"id": "t4", "title": "Defaults", "priority": "MEDIUM", "done": False, "due": None}
        }
    }
    assert world.tasks[-1]["priority"] == "MEDIUM"


# -- variables -------------------------------------------------------------------------------------------------


def test_variable_defaults(tasks: GatewayRun) -> None:
    query = "query Q($n: Int = 2, $p: [Priority!] = [MEDIUM, LOW]) { tasks(first: $n, filter: {priorities: $p}) { id } }"
    assert tasks.query(query).json == {"data": {"tasks": [{"id": "t2"}, {"id": "t3"}]}}
    assert tasks.query(query, {"n": 1}).json == {"data": {"tasks": [{"id": "t2"}]}}
    assert tasks.query(query, {"p": None}).json == {"data": {"tasks": [{"id": "t1"}, {"id": "t2"}]}}


def test_argument_default_when_no_variable_given(tasks: GatewayRun) -> None:
    """`first` defaults to 10 in the schema; an unset nullable variable leaves it to the subgraph."""
    response = tasks.query("query($n: Int) { tasks(first: $n) { id } }")
    # an explicit null would give null to `first`; an unset variable must behave like no argument
    assert response.json == {"data": {"tasks": [{"id": "t1"}, {"id": "t2"}, {"id": "t3"}]}}


def test_operation_name_picks_the_operation(tasks: GatewayRun) -> None:
    query = 'query A { task(id: "t1") { title } } query B { task(id: "t2") { title } }'
    assert tasks.query(query, operation_name="B").json == {"data": {"task": {"title": "Fix planner"}}}
    assert tasks.query(query, operation_name="A").json == {"data": {"task": {"title": "Write tests"}}}


def test_response_keys_follow_the_selection_order(tasks: GatewayRun) -> None:
    """Fields from several subgraphs come back in the order the client asked for them."""
    query = '{ task(id: "t1") { watchers { email id } assignee { name id } title id: title done } me { email name } }'
    data = tasks.query(query).json["data"]
    assert list(data) == ["task", "me"]
    assert list(data["task"]) == ["watchers", "assignee", "title", "id", "done"]
    assert list(data["task"]["watchers"][0]) == ["email", "id"]
    assert list(data["task"]["assignee"]) == ["name", "id"]
    assert list(data["me"]) == ["email", "name"]


# -- fragments ---------------------------------------------------------------------------------------------------


def test_named_inline_and_nested_fragments(tasks: GatewayRun) -> None:
    query = """
    query {
      ...Root
      task(id: "t2") { ...TaskParts ... on Task { watchers { ...Person } } }
    }
    fragment Root on Query { me { ...Person } }
    fragment TaskParts on Task { id ... { priority } assignee { ...Person } }
    fragment Person on User { name ... on User { email } }
    """
    response = tasks.query(query)
    ada = {"name": "Ada Lovelace", "email": "ada@example.com"}
    alan = {"name": "Alan Turing", "email": "alan@example.com"}
    assert response.json == {
        "data": {
            "me": ada,
            "task": {"id": "t2", "priority": "MEDIUM", "assignee": alan, "watchers": [ada, alan]},
        }
    }


def test_same_fragment_in_several_places_merges_with_fields(tasks: GatewayRun) -> None:
    query = """
    { task(id: "t1") { title ...T assignee { id } ...T } }
    fragment T on Task { title assignee { name } }
    """
    response = tasks.query(query)
    assert response.json == {
        "data": {"task": {"title": "Write tests", "assignee": {"id": "u1", "name": "Ada Lovelace"}}}
    }


# -- aliases -------------------------------------------------------------------------------------------------------


def test_alias_id_on_another_field_next_to_an_entity_jump(tasks: GatewayRun) -> None:
    """The client's `id` is the email; the planner still needs User.id as the key into people."""
    response = tasks.query('{ task(id: "t1") { assignee { id: email name } } }')
    assert response.json == {
        "data": {"task": {"assignee": {"id": "ada@example.com", "name": "Ada Lovelace"}}}
    }


def test_alias_swapping_id_and_name(tasks: GatewayRun) -> None:
    response = tasks.query('{ task(id: "t1") { assignee { name: id id: name } } }')
    assert response.json == {"data": {"task": {"assignee": {"name": "u1", "id": "Ada Lovelace"}}}}


def test_alias_id_on_the_entity_whose_key_is_needed(tasks: GatewayRun) -> None:
    """Task.id is the key into people, while the client's `id` is the title."""
    response = tasks.query('{ task(id: "t2") { id: title watchers { id: name } } }')
    assert response.json == {
        "data": {"task": {"id": "Fix planner", "watchers": [{"id": "Ada Lovelace"}, {"id": "Alan Turing"}]}}
    }


def test_alias_id_in_a_list_with_keys_needed_at_two_levels(tasks: GatewayRun) -> None:
    response = tasks.query(
        "{ tasks(first: 2) { id: title name: id assignee { id: email } watchers { id: email } } }"
    )
    assert response.json == {
        "data": {
            "tasks": [
                {
                    "id": "Write tests",
                    "name": "t1",
                    "assignee": {"id": "ada@example.com"},
                    "watchers": [{"id": "alan@example.com"}],
                },
                {
                    "id": "Fix planner",
                    "name": "t2",
                    "assignee": {"id": "alan@example.com"},
                    "watchers": [{"id": "ada@example.com"}, {"id": "alan@example.com"}],
                },
            ]
        }
    }


def test_same_field_twice_with_different_arguments(tasks: GatewayRun) -> None:
    query = '{ a: task(id: "t1") { title assignee { name } } b: task(id: "t2") { title assignee { name } } }'
    response = tasks.query(query)
    assert response.json == {
        "data": {
            "a": {"title": "Write tests", "assignee": {"name": "Ada Lovelace"}},
            "b": {"title": "Fix planner", "assignee": {"name": "Alan Turing"}},
        }
    }


def test_aliases_of_the_same_field_with_different_subselections(tasks: GatewayRun) -> None:
    query = '{ task(id: "t1") { who: assignee { name } contact: assignee { email } } }'
    response = tasks.query(query)
    assert response.json == {
        "data": {"task": {"who": {"name": "Ada Lovelace"}, "contact": {"email": "ada@example.com"}}}
    }


# -- @skip / @include --------------------------------------------------------------------------------------------


def test_include_variable_around_an_entity_jump(tasks: GatewayRun) -> None:
    query = 'query($with: Boolean!) { task(id: "t1") { title assignee @include(if: $with) { name } } }'
    assert tasks.query(query, {"with": False}).json == {"data": {"task": {"title": "Write tests"}}}
    assert tasks.calls()["people"] == 0
    assert tasks.query(query, {"with": True}).json == {
        "data": {"task": {"title": "Write tests", "assignee": {"name": "Ada Lovelace"}}}
    }
    assert tasks.calls()["people"] == 1


def test_skip_literal_around_an_entity_jump(tasks: GatewayRun) -> None:
    response = tasks.query(
        '{ task(id: "t1") { title assignee @skip(if: true) { name } watchers @skip(if: false) { name } } }'
    )
    assert response.json == {
        "data": {"task": {"title": "Write tests", "watchers": [{"name": "Alan Turing"}]}}
    }


def test_emptied_selection_behind_an_entity_jump_is_an_empty_object(tasks: GatewayRun) -> None:
    query = 'query($with: Boolean!) { task(id: "t1") { assignee { name @include(if: $with) } } }'
    response = tasks.query(query, {"with": False})
    assert response.json == {"data": {"task": {"assignee": {}}}}
    response = tasks.query(query, {"with": True})
    assert response.json == {"data": {"task": {"assignee": {"name": "Ada Lovelace"}}}}


def test_emptied_selection_with_literal_skip(tasks: GatewayRun) -> None:
    response = tasks.query(
        '{ task(id: "t1") { assignee { name @skip(if: true) } watchers { email @include(if: false) } } }'
    )
    assert response.json == {"data": {"task": {"assignee": {}, "watchers": [{}]}}}


def test_skip_and_include_on_fragments(tasks: GatewayRun) -> None:
    query = """
    query($a: Boolean!, $b: Boolean!) {
      task(id: "t2") {
        id
        ... on Task @include(if: $a) { watchers { name } }
        ...Who @skip(if: $b)
      }
    }
    fragment Who on Task { assignee { email } }
    """
    assert tasks.query(query, {"a": True, "b": True}).json == {
        "data": {"task": {"id": "t2", "watchers": [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}]}}
    }
    assert tasks.query(query, {"a": False, "b": False}).json == {
        "data": {"task": {"id": "t2", "assignee": {"email": "alan@example.com"}}}
    }


def test_skip_and_include_on_the_same_field(tasks: GatewayRun) -> None:
    query = 'query($s: Boolean!, $i: Boolean!) { task(id: "t1") { id assignee @skip(if: $s) @include(if: $i) { name } } }'
    assert tasks.query(query, {"s": False, "i": True}).json == {
        "data": {"task": {"id": "t1", "assignee": {"name": "Ada Lovelace"}}}
    }
    for s, i in ((True, True), (False, False), (True, False)):
        assert tasks.query(query, {"s": s, "i": i}).json == {"data": {"task": {"id": "t1"}}}


def test_skipped_root_field(tasks: GatewayRun) -> None:
    query = 'query($no: Boolean!) { me @skip(if: $no) { name } task(id: "t3") { title } }'
    assert tasks.query(query, {"no": True}).json == {"data": {"task": {"title": "Ship it"}}}
    assert tasks.calls() == {"people": 0, "tasks": 1}


# -- __typename ---------------------------------------------------------------------------------------------------


def test_typename_everywhere(tasks: GatewayRun) -> None:
    query = """
    { __typename kind: __typename
      task(id: "t1") { __typename t: __typename assignee { __typename name } watchers { __typename } }
      me { ... on User { __typename } } }
    """
    response = tasks.query(query)
    assert response.json == {
        "data": {
            "__typename": "Query",
            "kind": "Query",
            "task": {
                "__typename": "Task",
                "t": "Task",
                "assignee": {"__typename": "User", "name": "Ada Lovelace"},
                "watchers": [{"__typename": "User"}],
            },
            "me": {"__typename": "User"},
        }
    }


def test_typename_alone_needs_no_subgraph(tasks: GatewayRun) -> None:
    assert tasks.query("{ __typename }").json == {"data": {"__typename": "Query"}}
    assert tasks.query("mutation { __typename }").json == {"data": {"__typename": "Mutation"}}
    assert tasks.calls() == {"people": 0, "tasks": 0}


def test_typename_of_an_entity_behind_a_jump(tasks: GatewayRun) -> None:
    response = tasks.query(
        '{ task(id: "t3") { assignee { __typename } } task2: task(id: "t2") { assignee { __typename } } }'
    )
    assert response.json == {
        "data": {"task": {"assignee": None}, "task2": {"assignee": {"__typename": "User"}}}
    }
    assert tasks.calls() == {"people": 0, "tasks": 1}


# -- mutations ----------------------------------------------------------------------------------------------------


def test_mutations_run_in_order_with_their_subtrees(tasks: GatewayRun, world: TasksWorld) -> None:
    query = """
    mutation {
      __typename
      first: createTask(input: {title: "Review", assigneeId: "u1", priority: HIGH}) {
        id title priority assignee { name }
      }
      renamed: renameUser(id: "u1", name: "Ada King") { id name }
      second: createTask(input: {title: "Merge", assigneeId: "u1"}) { id priority assignee { name } }
      done: completeTask(id: "t4") { id done title }
    }
    """
    response = tasks.query(query)
    assert response.json == {
        "data": {
            "__typename": "Mutation",
            "first": {
                "id": "t4",
                "title": "Review",
                "priority": "HIGH",
                "assignee": {"name": "Ada Lovelace"},
            },
            "renamed": {"id": "u1", "name": "Ada King"},
            "second": {"id": "t5", "priority": "MEDIUM", "assignee": {"name": "Ada King"}},
            "done": {"id": "t4", "done": True, "title": "Review"},
        }
    }
    assert world.log == [
        ("createTask", "Review"),
        ("renameUser", "Ada King"),
        ("createTask", "Merge"),
        ("completeTask", "t4"),
    ]
    # the two tasks mutations around renameUser cannot share one request
    root_requests = [r for r in tasks.requests("tasks") if not r.is_entities]
    assert len(root_requests) == 3
    assert all((r.query or "").lstrip().startswith("mutation") for r in root_requests)


def test_consecutive_mutations_on_one_subgraph_stay_in_order(tasks: GatewayRun, world: TasksWorld) -> None:
    query = """
    mutation($title: String!) {
      a: createTask(input: {title: $title}) { id }
      b: completeTask(id: "t4") { done }
      c: completeTask(id: "t2") { title done }
    }
    """
    response = tasks.query(query, {"title": "Plan"})
    assert response.json == {
        "data": {"a": {"id": "t4"}, "b": {"done": True}, "c": {"title": "Fix planner", "done": True}}
    }
    assert world.log == [("createTask", "Plan"), ("completeTask", "t4"), ("completeTask", "t2")]


def test_mutation_result_with_a_null_and_an_entity_jump(tasks: GatewayRun) -> None:
    query = 'mutation { missing: completeTask(id: "nope") { id } t: completeTask(id: "t2") { done watchers { email } } }'
    response = tasks.query(query)
    assert response.json == {
        "data": {
            "missing": None,
            "t": {"done": True, "watchers": [{"email": "ada@example.com"}, {"email": "alan@example.com"}]},
        }
    }
