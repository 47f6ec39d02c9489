"""Classroom traffic for a gateway: named queries and a few mutations from many simulated users (aiohttp)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import random
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

from .data import ASSIGNMENTS_BY_COURSE, STUDENTS, Record

__all__ = [
    "MUTATIONS",
    "QUERIES",
    "Operation",
    "TrafficResponse",
    "TrafficResult",
    "main",
    "operation_for",
    "run_traffic",
    "student_for",
]

USER_HEADER = "x-user-id"


@dataclass(frozen=True)
class Operation:
    """A named operation of the mix and its weight within its kind (queries or mutations)."""

    name: str
    document: str
    weight: int
    mutation: bool = False


QUERIES: tuple[Operation, ...] = (
    Operation(
        "Dashboard",
        """query Dashboard($userId: ID!) {
  user(id: $userId) {
    id
    name
    courses { id code title }
    progress { course { id code title } completion lastActivity }
    recentGrades: submissions(first: 3, status: GRADED) { id grade submittedAt assignment { id title dueDate } }
  }
}""",
        30,
    ),
    Operation(
        "AssignmentList",
        """query AssignmentList($courseId: ID, $first: Int) {
  assignments(courseId: $courseId, first: $first) { id title createdDate dueDate tags course { code } }
}""",
        20,
    ),
    Operation(
        "AssignmentDetail",
        """query AssignmentDetail($id: ID!) {
  assignment(id: $id) {
    id
    title
    createdDate
    dueDate
    tags
    points
    renderedAt
    course { id title teacher { name } }
  }
}""",
        20,
    ),
    Operation(
        "CourseRoster",
        """query CourseRoster($courseId: ID!) {
  course(id: $courseId) {
    id
    code
    title
    teacher { id name email }
    students { id name progress { course { id } completion } }
  }
}""",
        10,
    ),
    Operation(
        "CourseAssignments",
        """query CourseAssignments($courseId: ID!) {
  course(id: $courseId) { id code assignments { id title createdDate tags } }
}""",
        10,
    ),
    Operation(
        "MyProgress",
        """query MyProgress($userId: ID!) {
  user(id: $userId) { id progress { course { code title } completion lastActivity } }
}""",
        10,
    ),
)

MUTATIONS: tuple[Operation, ...] = (
    Operation(
        "SubmitAssignment",
        """mutation SubmitAssignment($id: ID!, $userId: ID!, $answer: String!) {
  submitAssignment(id: $id, userId: $userId, answer: $answer) {
    id
    status
    submittedAt
    assignment { id title }
  }
}""",
        3,
        mutation=True,
    ),
    Operation(
        "UpdateProfile",
        """mutation UpdateProfile($userId: ID!, $bio: String) {
  updateProfile(userId: $userId, input: {bio: $bio}) { id name bio }
}""",
        1,
        mutation=True,
    ),
)


@dataclass(frozen=True)
class TrafficResponse:
    """One exchange: what was sent as whom, and what came back (``body`` is None when nothing parsed)."""

    operation: str
    user: str
    status: int | None
    body: dict[str, Any] | None
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """HTTP 200 with data and no GraphQL errors."""
        return (
            self.error is None
            and self.status == 200
            and self.body is not None
            and not self.body.get("errors")
            and self.body.get("data") is not None
        )


@dataclass
class TrafficResult:
    """What a run sent and got: ``errors`` counts every answer that is not OK (GraphQL errors included)."""

    sent: int = 0
    ok: int = 0
    errors: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)

    def add(self, response: TrafficResponse) -> None:
        self.sent += 1
        self.by_operation[response.operation] += 1
        if response.ok:
            self.ok += 1
            return
        self.errors += 1
        if len(self.error_samples) < 10:
            detail = response.error or json.dumps((response.body or {}).get("errors"))[:300]
            self.error_samples.append(
                f"{response.operation} as {response.user}: HTTP {response.status} {detail}"
            )


def student_for(n: int) -> Record:
    """The student simulated user ``n`` (1-based) acts as (``user-1`` is ``u1``; more users than students wrap)."""
    return STUDENTS[(n - 1) % len(STUDENTS)]


def _variables(operation: Operation, student: Record, rng: random.Random) -> dict[str, Any]:
    course_id = rng.choice(student["courseIds"])
    if operation.name in ("Dashboard", "MyProgress"):
        return {"userId": student["id"]}
    if operation.name == "AssignmentList":
        return (
            {"courseId": course_id, "first": rng.choice([5, 10, 20])} if rng.random() < 0.8 else {"first": 25}
        )
    if operation.name == "AssignmentDetail":
        return {"id": rng.choice(ASSIGNMENTS_BY_COURSE[course_id])["id"]}
    if operation.name in ("CourseRoster", "CourseAssignments"):
        return {"courseId": course_id}
    if operation.name == "SubmitAssignment":
        work = rng.choice(ASSIGNMENTS_BY_COURSE[course_id])
        return {"id": work["id"], "userId": student["id"], "answer": f"My answer to {work['title']!r}."}
    if operation.name == "UpdateProfile":
        return {
            "userId": student["id"],
            "bio": rng.choice([None, "Likes maths.", "Plays the cello.", "Reads a lot."]),
        }
    raise KeyError(operation.name)


def operation_for(rng: random.Random, mutation_share: float) -> Operation:
    """One operation of the mix: a mutation with probability ``mutation_share``, else a query, by weight."""
    pool = MUTATIONS if rng.random() < mutation_share else QUERIES
    return rng.choices(pool, weights=[o.weight for o in pool])[0]


OnResponse = Callable[[TrafficResponse], Awaitable[None] | None]


async def _send(
    session: aiohttp.ClientSession,
    url: str,
    operation: Operation,
    user: int,
    variables: dict[str, Any],
    timeout: float,
) -> TrafficResponse:
    name = f"user-{user}"
    body = {"query": operation.document, "operationName": operation.name, "variables": variables}
    started = time.perf_counter()
    try:
        async with session.post(
            url, json=body, headers={USER_HEADER: name}, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            text = await response.text()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as error:
        return TrafficResponse(
            operation.name,
            name,
            None,
            None,
            time.perf_counter() - started,
            error=f"{type(error).__name__}: {error}",
        )
    seconds = time.perf_counter() - started
    try:
        parsed = json.loads(text)
    except ValueError:
        return TrafficResponse(operation.name, name, status, None, seconds, error=f"not JSON: {text[:200]!r}")
    if not isinstance(parsed, dict):
        return TrafficResponse(operation.name, name, status, None, seconds, error="not a JSON object")
    return TrafficResponse(operation.name, name, status, parsed, seconds)


async def run_traffic(
    gateway_url: str,
    *,
    users: int = 50,
    concurrency: int = 8,
    duration: float | None = None,
    stop_event: asyncio.Event | None = None,
    mutation_share: float = 0.05,
    on_response: OnResponse | None = None,
    max_requests: int | None = None,
    seed: int | None = None,
    timeout: float = 10.0,
    rate: float | None = None,
) -> TrafficResult:
    """Sends the classroom mix to ``gateway_url`` from ``concurrency`` workers until ``duration`` seconds pass,
    ``stop_event`` is set or ``max_requests`` were sent (with none of them: until cancelled).

    Each request is one simulated user's (header ``x-user-id: user-N``, N in 1..users, acting as student
    ``uN``); ``on_response`` (plain or async) sees every exchange. Returns the counts.

    With ``rate`` (requests per second) the load is an open loop: a request leaves every 1/rate seconds
    whether or not the earlier ones were answered, at most ``concurrency`` on the wire at once (the rest wait
    for a connection, and their latency shows it).
    """
    if users < 1 or concurrency < 1:
        raise ValueError("users and concurrency must be at least 1")
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    if not 0.0 <= mutation_share <= 1.0:
        raise ValueError("mutation_share must be between 0 and 1")
    result = TrafficResult()
    deadline = time.monotonic() + duration if duration is not None else None
    master = random.Random(seed)
    budget = [max_requests]

    def more() -> bool:
        if stop_event is not None and stop_event.is_set():
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return False
        if budget[0] is not None:
            if budget[0] <= 0:
                return False
            budget[0] -= 1
        return True

    async def exchange(session: aiohttp.ClientSession, rng: random.Random, due: float | None = None) -> None:
        user = rng.randint(1, users)
        operation = operation_for(rng, mutation_share)
        variables = _variables(operation, student_for(user), rng)
        response = await _send(session, gateway_url, operation, user, variables, timeout)
        if due is not None:
            # open loop: the latency counts from when the request was due, so a gateway that falls behind the
            # rate is not flattered by requests that left late (coordinated omission)
            response = replace(response, seconds=time.perf_counter() - due)
        result.add(response)
        if on_response is not None:
            outcome = on_response(response)
            if inspect.isawaitable(outcome):
                await outcome

    async def worker(session: aiohttp.ClientSession, rng: random.Random) -> None:
        while more():
            await exchange(session, rng)

    async def paced(session: aiohttp.ClientSession, rng: random.Random, rate: float) -> None:
        due = time.perf_counter()
        running: set[asyncio.Task[None]] = set()
        while more():
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(exchange(session, rng, due))
            running.add(task)
            task.add_done_callback(running.discard)
            due += 1.0 / rate
        await asyncio.gather(*running)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        if rate is not None:
            await paced(session, random.Random(master.getrandbits(64)), rate)
        else:
            rngs = [random.Random(master.getrandbits(64)) for _ in range(concurrency)]
            await asyncio.gather(*(worker(session, rng) for rng in rngs))
    return result


def main(argv: list[str] | None = None) -> None:
    """``python -m examples.classroom.traffic --url URL [--duration S] ...``: runs and prints the counts."""
    parser = argparse.ArgumentParser(prog="python -m examples.classroom.traffic", description=__doc__)
    parser.add_argument(
        "--url", default="http://127.0.0.1:4000/graphql", help="the gateway's GraphQL endpoint"
    )
    parser.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--mutation-share", type=float, default=0.05)
    parser.add_argument("--requests", type=int, help="stop after this many requests")
    parser.add_argument("--seed", type=int, help="for a repeatable sequence of requests")
    args = parser.parse_args(argv)

    async def run() -> TrafficResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop.set)  # Ctrl-C: finish in-flight requests, then report
        return await run_traffic(
            args.url,
            users=args.users,
            concurrency=args.concurrency,
            duration=args.duration,
            stop_event=stop,
            mutation_share=args.mutation_share,
            max_requests=args.requests,
            seed=args.seed,
        )

    started = time.monotonic()
    result = asyncio.run(run())
    elapsed = max(time.monotonic() - started, 1e-9)
    print(
        f"sent {result.sent} in {elapsed:.1f}s ({result.sent / elapsed:.0f}/s): "
        f"{result.ok} ok, {result.errors} with errors"
    )
    for name, count in sorted(result.by_operation.items()):
        print(f"  {name:<18} {count}")
    for sample in result.error_samples:
        print(f"  ! {sample}")


if __name__ == "__main__":
    main()
