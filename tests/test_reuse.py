"""executor.reuse: answering a candidate's fetches from the request's own answers."""

from __future__ import annotations

from turnout.executor.reuse import ObjectIndex, covers, project
from turnout.planner.plan_nodes import Shape

# { course { id code title students { id name weight } } } as the monolith answered it
COURSE: Shape = (
    "Course",
    (
        ("id", "id", "", None),
        ("code", "code", "", None),
        ("title", "title", "", None),
        (
            "students",
            "students",
            "",
            ("User", (("id", "id", "", None), ("name", "name", "", None), ("weight", "weight", "", None))),
        ),
    ),
)
ROOT: Shape = ("Query", (("course", "course", "", COURSE),))
ANSWER = {
    "course": {
        "id": "c1",
        "code": "M1",
        "title": "Maths",
        "students": [{"id": "u1", "name": "Ada", "weight": 3}, {"id": "u2", "name": "Bo", "weight": 4}],
    }
}
USER_NAME: Shape = ("User", (("__typename", "__typename", "", None), ("name", "name", "", None)))


def test_entities_found_by_key_anywhere_in_the_answer_and_cut_to_the_selection() -> None:
    index = ObjectIndex([(ROOT, ANSWER)])
    found = index.entities(
        [{"__typename": "User", "id": "u2"}, {"__typename": "Course", "id": "c1"}],
        (("User", USER_NAME), ("Course", ("Course", (("title", "title", "", None),)))),
    )
    assert found == [{"__typename": "User", "name": "Bo"}, {"title": "Maths"}]


def test_one_representation_not_found_and_nothing_is_answered() -> None:
    index = ObjectIndex([(ROOT, ANSWER)])
    assert (
        index.entities(
            [{"__typename": "User", "id": "u1"}, {"__typename": "User", "id": "u9"}], (("User", USER_NAME),)
        )
        is None
    )


def test_a_required_value_the_old_side_never_answered_with_finds_nothing() -> None:
    """A representation's `@requires` value computed by the new side (weight 5) is not the one the old side's
    object holds (3): its fields may depend on it, so the fetch must be sent."""
    index = ObjectIndex([(ROOT, ANSWER)])
    assert index.entities([{"__typename": "User", "id": "u1", "weight": 5}], (("User", USER_NAME),)) is None
    assert index.entities([{"__typename": "User", "id": "u1", "weight": 3}], (("User", USER_NAME),)) == [
        {"__typename": "User", "name": "Ada"}
    ]


def test_a_key_under_an_alias_or_with_arguments_is_not_the_key() -> None:
    aliased: Shape = (
        "Query",
        (("course", "course", "", ("Course", (("id", "code", "", None), ("title", "title", "", None)))),),
    )
    index = ObjectIndex([(aliased, {"course": {"id": "c1", "title": "Maths"}})])
    assert (
        index.entities(
            [{"__typename": "Course", "id": "c1"}], (("Course", ("Course", (("title", "title", "", None),))),)
        )
        is None
    )


def test_fields_the_answer_lacks_or_asked_with_other_arguments_are_not_covered() -> None:
    index = ObjectIndex([(ROOT, ANSWER)])
    email: Shape = ("User", (("email", "email", "", None),))
    assert index.entities([{"__typename": "User", "id": "u1"}], (("User", email),)) is None
    other_arguments: Shape = ("Course", (("title", "title", '(lang: "fr")', None),))
    assert not covers(COURSE, other_arguments)
    assert project(ANSWER["course"], ("Course", (("code", "code", "", None),))) == {"code": "M1"}


def test_a_key_of_another_json_type_is_another_object() -> None:
    """`{"id": true}` and `{"id": 1.0}` are not the object whose id is 1, though Python's `==` says so."""
    numbered: Shape = (
        "Query",
        (("user", "user", "", ("User", (("id", "id", "", None), ("name", "name", "", None)))),),
    )
    index = ObjectIndex([(numbered, {"user": {"id": 1, "name": "Ada"}})])
    name: Shape = ("User", (("name", "name", "", None),))
    assert index.entities([{"__typename": "User", "id": 1}], (("User", name),)) == [{"name": "Ada"}]
    assert index.entities([{"__typename": "User", "id": True}], (("User", name),)) is None
    assert index.entities([{"__typename": "User", "id": 1.0}], (("User", name),)) is None
