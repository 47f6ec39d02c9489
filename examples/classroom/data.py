"""The classroom's records: users, courses, assignments and graded work, generated from a fixed seed."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

__all__ = [
    "ASSIGNMENTS",
    "ASSIGNMENTS_BY_COURSE",
    "ASSIGNMENTS_BY_ID",
    "COURSES",
    "COURSES_BY_ID",
    "GRADED",
    "PROGRESS",
    "SEED",
    "STUDENTS",
    "TEACHERS",
    "USERS",
    "USERS_BY_ID",
    "Record",
    "is_summer_time",
    "iso_utc",
    "local_to_utc",
]

Record = dict[str, Any]

# The monolith went live on 1 September 2014; every run generates the same school from this seed.
SEED = 20140901

STUDENT_COUNT = 190
TEACHER_COUNT = 10
# The winter term: assignments are created on weekdays in school hours (local time, Europe/Berlin).
TERM_START = date(2023, 11, 6)
TERM_END = date(2024, 4, 26)

_FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dario",
    "Elif",
    "Finn",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kira",
    "Luca",
    "Mila",
    "Noah",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umut",
    "Vera",
    "Wim",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bea",
    "Carl",
    "Dana",
    "Emil",
    "Frida",
    "Gabriel",
    "Hanna",
    "Ivan",
    "Jana",
    "Karl",
    "Lena",
]
_LAST = [
    "Albers",
    "Brandt",
    "Costa",
    "Demir",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jansen",
    "Kowalski",
    "Lehmann",
    "Meyer",
    "Nowak",
    "Okafor",
    "Petrov",
    "Quast",
    "Richter",
    "Schulz",
    "Tanaka",
    "Ulrich",
    "Vogel",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmer",
]

# (code, title, subject tag, topics)
_COURSES = [
    (
        "MATH-101",
        "Algebra I",
        "math",
        ["linear equations", "inequalities", "quadratics", "functions", "polynomials"],
    ),
    (
        "MATH-201",
        "Geometry",
        "math",
        ["triangles", "circles", "proofs", "area and volume", "transformations"],
    ),
    ("SCI-110", "Biology", "biology", ["cells", "genetics", "evolution", "ecosystems", "human body"]),
    (
        "SCI-120",
        "Chemistry",
        "chemistry",
        ["atoms", "bonding", "reactions", "acids and bases", "stoichiometry"],
    ),
    ("SCI-130", "Physics", "physics", ["motion", "forces", "energy", "waves", "electricity"]),
    ("ENG-101", "English Literature", "english", ["poetry", "the novel", "drama", "short stories", "essays"]),
    ("ENG-150", "Creative Writing", "writing", ["character", "setting", "dialogue", "revision", "voice"]),
    (
        "HIST-101",
        "World History",
        "history",
        ["antiquity", "middle ages", "revolutions", "empires", "cold war"],
    ),
    ("GEO-101", "Geography", "geography", ["maps", "climate", "rivers", "cities", "population"]),
    (
        "CS-101",
        "Introduction to Programming",
        "programming",
        ["variables", "loops", "functions", "lists", "recursion"],
    ),
    ("ART-101", "Drawing", "art", ["line", "perspective", "shading", "portraits", "still life"]),
    ("MUS-101", "Music Theory", "music", ["rhythm", "scales", "intervals", "chords", "form"]),
]

# (kind tag, title suffix, points); readings never have a due date
_KINDS = [
    ("homework", "homework", 10),
    ("quiz", "quiz", 20),
    ("reading", "reading", 0),
    ("lab", "lab report", 25),
    ("essay", "essay", 30),
    ("project", "project", 50),
]


def _last_sunday(year: int, month: int) -> date:
    """The last Sunday of a month (month < 12)."""
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def is_summer_time(local: datetime) -> bool:
    """Whether a naive Europe/Berlin wall-clock time is in CEST (the EU rule: last Sunday of March 02:00 to
    last Sunday of October 03:00). The monolith's own helper from 2014; no tz database needed."""
    start = datetime.combine(_last_sunday(local.year, 3), datetime.min.time()).replace(hour=2)
    end = datetime.combine(_last_sunday(local.year, 10), datetime.min.time()).replace(hour=3)
    return start <= local < end


def local_to_utc(local: datetime) -> datetime:
    """A naive Europe/Berlin wall-clock time as an aware UTC datetime (CET +01:00, CEST +02:00)."""
    offset = timedelta(hours=2 if is_summer_time(local) else 1)
    return (local - offset).replace(tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """``2024-04-03T07:15:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _generate() -> tuple[list[Record], list[Record], list[Record], dict[tuple[str, str], list[Record]]]:
    rng = random.Random(SEED)

    users: list[Record] = []
    names = [(first, last) for first in _FIRST for last in _LAST]
    picked = rng.sample(names, STUDENT_COUNT + TEACHER_COUNT)
    for n, (first, last) in enumerate(picked, start=1):
        role = "STUDENT" if n <= STUDENT_COUNT else "TEACHER"
        joined = date(2014, 9, 1) + timedelta(days=rng.randrange(0, 9 * 365))
        users.append(
            {
                "id": f"u{n}",
                "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower()}{n}@school.example",
                "role": role,
                "joinedDate": joined.isoformat(),
                "bio": None,
                "courseIds": [],
            }
        )
    students = users[:STUDENT_COUNT]
    teachers = users[STUDENT_COUNT:]

    courses: list[Record] = []
    for n, (code, title, subject, topics) in enumerate(_COURSES, start=1):
        teacher = teachers[(n - 1) % TEACHER_COUNT]
        course = {
            "id": f"c{n}",
            "code": code,
            "title": title,
            "subject": subject,
            "topics": topics,
            "teacherId": teacher["id"],
            "studentIds": [],
        }
        teacher["courseIds"].append(course["id"])
        courses.append(course)
    for student in students:
        for course in sorted(rng.sample(courses, rng.randint(3, 5)), key=lambda c: int(c["id"][1:])):
            student["courseIds"].append(course["id"])
            course["studentIds"].append(student["id"])

    term_days = [
        TERM_START + timedelta(days=d)
        for d in range((TERM_END - TERM_START).days + 1)
        if (TERM_START + timedelta(days=d)).weekday() < 5
    ]
    drafts: list[Record] = []
    for course in courses:
        for _ in range(rng.randint(12, 18)):
            topic = rng.choice(course["topics"])
            kind, suffix, points = rng.choice(_KINDS)
            day = rng.choice(term_days)
            created = datetime.combine(day, datetime.min.time()).replace(
                hour=rng.randint(7, 18), minute=rng.randrange(0, 60, 5)
            )
            if kind == "reading" or rng.random() < 0.05:
                due = None
            else:
                due = day + timedelta(days=rng.choice([3, 5, 7, 10, 14]))
            week = created.isocalendar().week
            # the order teachers entered them in the old form: subject, kind, week, then extras
            tags = [course["subject"], kind, f"week-{week}"]
            if rng.random() < 0.3:
                tags.append(rng.choice(["group-work", "extra-credit", "exam-prep", "optional"]))
            drafts.append(
                {
                    "courseId": course["id"],
                    "title": f"{topic.capitalize()}: {suffix}",
                    "kind": kind,
                    "createdLocal": created,
                    "due": due,
                    "tags": tags,
                    "points": points,
                }
            )
    drafts.sort(key=lambda a: (a["createdLocal"], a["courseId"]))
    assignments = [{"id": f"a{n}", **draft} for n, draft in enumerate(drafts, start=1)]

    by_course: dict[str, list[Record]] = {c["id"]: [] for c in courses}
    for assignment in assignments:
        by_course[assignment["courseId"]].append(assignment)
    graded: dict[tuple[str, str], list[Record]] = {}
    for student in students:
        diligence = rng.uniform(0.25, 0.95)
        for course_id in student["courseIds"]:
            work = []
            for assignment in by_course[course_id]:
                if rng.random() < diligence:
                    submitted = local_to_utc(assignment["createdLocal"]) + timedelta(
                        hours=rng.randint(2, 200), minutes=rng.randrange(0, 60)
                    )
                    work.append(
                        {
                            "id": f"{assignment['id']}-{student['id']}",
                            "assignmentId": assignment["id"],
                            "userId": student["id"],
                            "submittedAt": submitted,
                            "status": "GRADED",
                            "answer": None,
                            "grade": round(rng.uniform(40, 100), 1),
                        }
                    )
            graded[(student["id"], course_id)] = work
    return users, courses, assignments, graded


USERS, COURSES, ASSIGNMENTS, GRADED = _generate()
STUDENTS: list[Record] = [u for u in USERS if u["role"] == "STUDENT"]
TEACHERS: list[Record] = [u for u in USERS if u["role"] == "TEACHER"]
USERS_BY_ID: dict[str, Record] = {u["id"]: u for u in USERS}
COURSES_BY_ID: dict[str, Record] = {c["id"]: c for c in COURSES}
ASSIGNMENTS_BY_ID: dict[str, Record] = {a["id"]: a for a in ASSIGNMENTS}
ASSIGNMENTS_BY_COURSE: dict[str, list[Record]] = {c["id"]: [] for c in COURSES}
for _assignment in ASSIGNMENTS:
    ASSIGNMENTS_BY_COURSE[_assignment["courseId"]].append(_assignment)


def _progress(user: Record) -> list[Record]:
    rows = []
    for course_id in user["courseIds"]:
        work = GRADED.get((user["id"], course_id), [])
        total = len(ASSIGNMENTS_BY_COURSE[course_id])
        last = max((w["submittedAt"] for w in work), default=None)
        rows.append(
            {
                "courseId": course_id,
                "done": len(work),
                "total": total,
                # with nothing handed in yet, the first day of term counts as the last activity
                "lastActivity": last
                or local_to_utc(datetime.combine(TERM_START, datetime.min.time()).replace(hour=8)),
            }
        )
    return rows


# Per student, one row per enrolled course (in course order): graded work done out of the course's total.
PROGRESS: dict[str, list[Record]] = {s["id"]: _progress(s) for s in STUDENTS}
