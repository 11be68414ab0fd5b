"""Faults under load: one part breaks, the rest answers, all of it heals.

Each test runs a steady load of sign-ins and reads (tests/support/load.py) while one part is
stopped, signalled, restarted or cut off, and prints its figures. Where a Docker engine
answers, the stack is the containers of ``container_stack.py`` (PostgreSQL on a volume, so
that its restart is a real one); elsewhere it is the local stack of ``make run``, broken
through its supervisor's control socket (tests/e2e/fault_stacks.py): PostgreSQL is restarted
with pg_ctl, the SMTP sink closes and reopens its port. A network partition has no local
form; there, sharing is frozen instead (SIGSTOP), which roster sees exactly as a partition,
and the figures say which of the two ran.
"""

from __future__ import annotations

import collections
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.common.grpc_transport import IOMGR_ENDPOINTS
from tests.e2e.container_stack import (
    ContainerStack,
    expect_json,
    running_container_stack,
    verified_account,
)
from tests.e2e.fault_stacks import ContainerFaults, FaultStack, LocalFaults
from tests.e2e.mail import mail_count
from tests.e2e.stack import PASSWORD, HttpsClient, running_stack, temporary_data_dir
from tests.support import containers
from tests.support.engine import ContainerEngine, NoEngine
from tests.support.load import Answer, Load

pytestmark = pytest.mark.e2e

GRPC_DEADLINE_SECONDS = 5.0  # the gateway's default TRACKCC_GATEWAY_GRPC_TIMEOUT_SECONDS
HEAL_SECONDS = 90.0
MAIL_SECONDS = 120.0  # the outbox retries after 10 s, 20 s, 40 s ... (RetryPolicy)
PARTITION_SECONDS = 30.0
WORKERS = 4
# A request waiting this long with the database frozen is inside a service, not in a
# handshake: the gateway does nothing slower than that by itself.
STUCK_SECONDS = 0.5
# The local stack, like the containers, lets the load sign in far more often than a school.
LOCAL_ENV = {"TRACKCC_RATE_LIMIT_PER_MINUTE": "100000"}


@pytest.fixture(scope="module")
def stack(
    container_engine: ContainerEngine | NoEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    if isinstance(container_engine, NoEngine):
        with temporary_data_dir() as data_dir, running_stack(data_dir, "faults", LOCAL_ENV) as s:
            yield LocalFaults(s)
        return
    work = tmp_path_factory.mktemp("faults")
    with running_container_stack(container_engine, work, durable_postgres=True) as running:
        yield ContainerFaults(running)


@dataclass(frozen=True)
class Teacher:
    email: str
    token: str


@pytest.fixture(scope="module")
def teacher(stack: FaultStack) -> Teacher:
    email = f"faults-{uuid.uuid4().hex[:8]}@example.com"
    return Teacher(email, verified_account(stack, email, "teacher"))


def _containers(stack: FaultStack) -> ContainerStack:
    if not isinstance(stack, ContainerFaults):
        pytest.skip(f"needs a Docker engine; this run has {stack.kind}")
    return stack.stack


def _report(line: str) -> None:
    print(line)  # noqa: T201 - the figures are what these tests are for


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    # The same polling whatever runs the stack.
    return containers.wait_until(condition, timeout, what)


def test_every_component_serves_on_grpc_iomgr_endpoints(stack: FaultStack) -> None:
    """The images and the local stack alike run gRPC on the socket layer the services choose
    (services/common/grpc_transport.py), as each one reports when it starts serving."""
    for component in ("auth", "roster", "sharing", "gateway"):
        serving = [line for line in stack.log_lines(component) if line.get("message") == "serving"]
        assert serving, f"{component} logged no 'serving'"
        assert serving[0].get("grpc_experiments") == IOMGR_ENDPOINTS, (component, serving[0])


def test_roster_stopped_answers_503_in_time_while_the_rest_keeps_working(
    stack: FaultStack, teacher: Teacher
) -> None:
    with Load(stack, teacher.token, ["/v1/me", "/v1/classes"]) as load:
        load.wait_for_answers(20)
        assert stack.stop("roster") == 0
        started = time.monotonic()
        status, headers, body = stack.request("GET", "/v1/classes", None, teacher.token)
        took = time.monotonic() - started
        assert status == 503, body
        assert headers["Content-Type"].startswith("application/problem+json")
        assert json.loads(body)["code"] == "unavailable"
        assert took < GRPC_DEADLINE_SECONDS + 1, took
        mark = load.mark()
        load.wait_for_answers(20)
        stack.start("roster")
        back = _wait_until(
            lambda: stack.request("GET", "/v1/classes", None, teacher.token)[0] == 200,
            HEAL_SECONDS,
            "roster back",
        )
    during = load.statuses_since(mark)
    _report(
        f"\nroster stopped ({stack.kind}): /v1/classes 503 in {took:.2f} s; "
        f"back {back:.1f} s after its start; answers meanwhile: {load.describe(mark)}"
    )
    assert set(during["/v1/me"]) == {200}, during
    assert set(during["/v1/classes"]) <= {200, 503}, during


# What each component serves: the load of its drain test reads only through it (the
# gateway's, through everything).
DRAIN_PATHS = {
    "auth": ["/v1/me"],
    "roster": ["/v1/classes"],
    "sharing": ["/v1/shared-with-me"],
    "gateway": ["/v1/me", "/v1/classes", "/v1/shared-with-me"],
}
SIGNS_IN = {"auth", "gateway"}


def _logged_after(stack: FaultStack, name: str, skip: int, message: str) -> dict[str, Any] | None:
    for line in stack.log_lines(name)[skip:]:
        if line.get("message") == message:
            return line
    return None


@pytest.mark.parametrize("component", ["auth", "roster", "sharing", "gateway"])
def test_sigterm_drains_the_requests_in_flight(
    stack: FaultStack, teacher: Teacher, component: str
) -> None:
    """SIGTERM while requests are inside ``component``: each of them gets its answer.

    To have requests in flight for sure, PostgreSQL is frozen first: every request of the load
    then waits inside the service for its query. The signal comes, the component starts its
    drain (it logs ``stopping``), PostgreSQL is thawed, and the drain must answer every one
    of those requests as if nothing had happened. Counted on the server side too: a service
    logs how many calls it was handling at the signal and how many its grace cut off; the
    gateway logs every request it took, with its request id and the status it answered.
    """
    sign_in = (teacher.email, PASSWORD) if component in SIGNS_IN else None
    skip = len(stack.log_lines(component))
    with Load(
        stack, teacher.token, DRAIN_PATHS[component], workers=WORKERS, sign_in=sign_in
    ) as load:
        load.wait_for_answers(4 * WORKERS)
        with stack.frozen_database():
            frozen = time.monotonic()
            _wait_until(
                lambda: _stuck(load.outstanding()) == load.threads, 20, "every worker waiting"
            )
            in_flight = set(load.outstanding())
            mark = load.mark()
            signalled = time.monotonic()
            stack.sigterm(component)
            _wait_until(
                lambda: _logged_after(stack, component, skip, "stopping") is not None,
                20,
                f"{component} stopping",
            )
        thawed = time.monotonic()
        exit_code = stack.wait_exited(component)
        drained = time.monotonic() - signalled
        _wait_until(lambda: in_flight <= set(load.answer_of(in_flight)), 30, "in-flight answered")
        load.wait_for_answers(2 * WORKERS)
        down = load.answers(mark)
        stack.start(component)
        back = _wait_until(_serves(stack, teacher), HEAL_SECONDS, f"{component} back")
    answers = load.answer_of(in_flight)
    after = [a for a in down if a.request_id not in in_flight]
    refusals = [a for a in after if a.status != 200]
    first_refusal = min((a.ended - signalled for a in refusals), default=float("nan"))
    server_side = _server_side_figures(stack, component, skip)
    _report(
        f"\nSIGTERM to {component} ({stack.kind}): database frozen for "
        f"{thawed - frozen:.2f} s, the signal {signalled - frozen:.2f} s into it; "
        f"{len(in_flight)} requests in flight, "
        f"answered {_counts(answers.values())}; exit {exit_code} {drained:.2f} s after the "
        f"signal; {server_side}; sent after the signal: {_counts(after)}, first refusal "
        f"{first_refusal:.2f} s after the signal; back {back:.1f} s after its start"
    )
    assert exit_code == 0
    # The drain: every request in flight at the signal got its real answer.
    assert {a.status for a in answers.values()} == {200}, answers
    if component == "gateway":
        _assert_gateway_answered_what_it_took(stack, skip, down)
    else:
        drain = _logged_after(stack, component, skip, "drained")
        assert drain is not None
        # At most every worker's request (one may wait at auth for its session instead).
        assert 1 <= drain["in_flight"] <= load.threads and drain["cut_off"] == 0, drain
        # A stopped service: the gateway answers "unavailable" at once, never an error of
        # its own, never a wait for the deadline.
        assert {(a.status, a.problem) for a in refusals} <= {(503, "unavailable")}, refusals
        assert all(a.ended - a.started < GRPC_DEADLINE_SECONDS for a in refusals), refusals


def _serves(stack: FaultStack, teacher: Teacher) -> Callable[[], bool]:
    def serves() -> bool:
        paths = DRAIN_PATHS["gateway"]
        try:
            return all(stack.request("GET", p, None, teacher.token)[0] == 200 for p in paths)
        except OSError:
            return False

    return serves


def _stuck(outstanding: dict[str, tuple[str, float]]) -> int:
    now = time.monotonic()
    return sum(1 for _, sent in outstanding.values() if now - sent > STUCK_SECONDS)


def _counts(answers: Any) -> dict[str, int]:
    counted: collections.Counter[str] = collections.Counter()
    for answer in answers:
        counted[f"{answer.status}{' ' + answer.problem if answer.problem else ''}"] += 1
    return dict(counted)


def _server_side_figures(stack: FaultStack, component: str, skip: int) -> str:
    if component == "gateway":
        taken = _gateway_requests(stack, skip, after_stopping=True)
        return f"gateway answered after its signal: {dict(collections.Counter(taken.values()))}"
    drain = _logged_after(stack, component, skip, "drained") or {}
    return f"{component} drained {drain.get('in_flight')} calls, cut off {drain.get('cut_off')}"


def _gateway_requests(stack: FaultStack, skip: int, *, after_stopping: bool) -> dict[str, int]:
    """Request id -> status, from the gateway's access log (its run that got the signal)."""
    taken: dict[str, int] = {}
    stopping = not after_stopping
    for line in stack.log_lines("gateway")[skip:]:
        if line.get("message") == "stopping":
            stopping = True
        if line.get("message") == "serving" and stopping and after_stopping:
            break  # the next run
        if stopping and line.get("message") == "request" and "request_id" in line:
            taken[str(line["request_id"])] = int(line["status"])
    return taken


def _assert_gateway_answered_what_it_took(stack: FaultStack, skip: int, down: list[Answer]) -> None:
    # What the gateway took after its signal, it answered in full and without an error; what
    # it never took (its port closed), the client saw refused: docker-proxy accepts and
    # drops such a connection, so the client alone could not tell the two apart.
    taken = _gateway_requests(stack, skip, after_stopping=True)
    assert taken and set(taken.values()) == {200}, taken
    for answer in down:
        if answer.request_id in taken:
            assert answer.status == taken[answer.request_id], answer
        else:
            assert answer.status == 0, answer


def test_postgres_restarted_loses_no_acknowledged_write(
    stack: FaultStack, teacher: Teacher
) -> None:
    acknowledged: list[tuple[float, str]] = []
    refused: collections.Counter[int] = collections.Counter()
    creating = threading.Event()

    def keep_creating() -> None:
        # Creates go on while PostgreSQL stops and starts again: what they get meanwhile is
        # the point (503, never 500), and what they were told was written must be there.
        index = 0
        while creating.is_set():
            index += 1
            status, _, body = stack.request(
                "POST", "/v1/classes", {"name": f"c{index}"}, teacher.token
            )
            if status == 201:
                acknowledged.append((time.monotonic(), json.loads(body)["id"]))
            else:
                refused[status] += 1

    creating.set()
    creator = threading.Thread(target=keep_creating, name="creates", daemon=True)
    creator.start()
    try:
        containers.wait_until(lambda: len(acknowledged) >= 10, HEAL_SECONDS, "creates before")
        stack.restart_postgres()
        restarted = time.monotonic()
        # The services reconnect by themselves: creates succeed again without their restart.
        containers.wait_until(
            lambda: sum(at > restarted for at, _ in acknowledged) >= 10,
            HEAL_SECONDS,
            f"creates after the restart (refused meanwhile: {dict(refused)})",
        )
    finally:
        creating.clear()
        creator.join(timeout=HEAL_SECONDS)
    recovered = min(at for at, _ in acknowledged if at > restarted) - restarted

    listed: set[str] = set()
    token = ""
    while True:
        page = expect_json(
            stack.request(
                "GET", f"/v1/classes?page_size=200&page_token={token}", None, teacher.token
            ),
            200,
        )
        listed |= {item["id"] for item in page["items"]}
        token = page["next_page_token"]
        if not token:
            break
    _report(
        f"\npostgres restarted ({stack.kind}) under a steady stream of creates: "
        f"{len(acknowledged)} acknowledged, refused {dict(refused)}; creates succeed again "
        f"{recovered:.1f} s after its restart"
    )
    assert {class_id for _, class_id in acknowledged} <= listed
    # While the database was away, creates were refused as unavailable (retry), never as 500.
    assert set(refused) <= {503}, refused


def test_mail_waits_while_smtp_is_down_and_goes_out_once(stack: FaultStack) -> None:
    stack.stop_smtp()
    addresses = {f"waiting-{uuid.uuid4().hex[:8]}@example.com" for _ in range(3)}
    for address in addresses:
        body = {"email": address, "password": PASSWORD, "role": "guardian"}
        expect_json(stack.request("POST", "/v1/accounts", body), 201)
    assert mail_count(stack, addresses) == {}
    stack.start_smtp()
    took = _wait_until(
        lambda: set(mail_count(stack, addresses)) == addresses, MAIL_SECONDS, "mail delivered"
    )
    # Nothing is pending any more, so no second copy can still come.
    _wait_until(lambda: _outbox_pending(stack) == 0, MAIL_SECONDS, "outbox empty")
    _report(
        f"\nsmtp stopped ({stack.kind}): {len(addresses)} mails delivered {took:.1f} s after "
        "it was back"
    )
    assert mail_count(stack, addresses) == dict.fromkeys(addresses, 1)


def _handled(stack: FaultStack, service: str, method: str, code: str) -> float:
    """``grpc_server_handled_total`` of one method and code, as the service counts it."""
    labels = (f'grpc_method="{method}"', f'grpc_code="{code}"')
    total = 0.0
    for line in stack.metrics(service).splitlines():
        if line.startswith("grpc_server_handled_total{") and all(x in line for x in labels):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _outbox_pending(stack: FaultStack) -> float:
    for line in stack.metrics("auth").splitlines():
        if line.startswith("trackcc_mail_outbox_pending"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("auth exports no trackcc_mail_outbox_pending")


def test_roster_cut_off_from_sharing_answers_in_time_and_heals_without_a_restart(
    stack: FaultStack, teacher: Teacher
) -> None:
    """Roster loses sharing for 30 s: its creates answer 503 in time, and it heals alone.

    On containers, roster's network to sharing is cut: nothing else is. On local processes
    there is no network to cut, so sharing is frozen instead (SIGSTOP, SIGCONT after 30 s):
    to roster that is the same peer, one that takes connections and never answers. But the
    gateway's own calls to sharing hang as well there, so that variant asserts only what
    still holds: roster's answer within the gateway's deadline, routes that need no sharing
    unaffected, nothing hanging, and roster healed without a restart.
    """
    if isinstance(stack, LocalFaults):
        _roster_with_sharing_frozen(stack, teacher)
        return
    running = _containers(stack)
    roster = running.containers["roster"]
    roster.reload()
    started_at = roster.attrs["State"]["StartedAt"]
    own = expect_json(
        running.request("POST", "/v1/classes", {"name": "before the cut"}, teacher.token), 201
    )
    # auth, and sharing as the gateway reaches it, are not cut off. The owner's read of the
    # class is decided from roster's own row (no sharing call), so it may keep answering 200;
    # a create writes the owner tuple to sharing, so it is refused.
    unaffected = ["/v1/me", "/v1/shared-with-me"]
    read = f"/v1/classes/{own['id']}"
    refused_before = _handled(stack, "roster", "CreateClass", "UNAVAILABLE")
    with Load(running, teacher.token, [*unaffected, read], workers=2) as load:
        load.wait_for_answers(20)
        containers.disconnect(roster, running.sharing_network)
        cut = time.monotonic()
        mark = load.mark()
        try:
            # A create needs sharing (the owner tuple first): roster must say so in time.
            probes = _creates_until(running, teacher, cut + PARTITION_SECONDS)
        finally:
            containers.reconnect(roster, running.sharing_network, running.sharing_aliases("roster"))
        during = load.answers(mark)
        healed = _creates_again(running, teacher)
    roster.reload()
    refused_by_roster = _handled(stack, "roster", "CreateClass", "UNAVAILABLE") - refused_before
    reads = [a for a in during if a.path == read]
    slowest = max([took for _, _, took in probes] + [a.ended - a.started for a in reads])
    _report(
        f"\nroster cut off from sharing for {PARTITION_SECONDS:g} s: creates answered "
        f"{dict(collections.Counter((s, c) for s, c, _ in probes))}; the load meanwhile: "
        f"{load.describe(mark)}; slowest roster answer {slowest:.2f} s; roster itself refused "
        f"{refused_by_roster:g} creates as UNAVAILABLE; healed "
        f"{healed:.1f} s after reconnecting, without a restart"
    )
    # The public code of every server-side failure is "unavailable" (docs/api.md); that roster
    # gave it (sharing_unavailable inside), and not the gateway for want of roster, its own
    # count of refused calls says.
    assert {(status, code) for status, code, _ in probes} == {(503, "unavailable")}
    assert refused_by_roster >= len(probes)
    assert {(a.status, a.problem) for a in reads} <= {(200, ""), (503, "unavailable")}
    # Within the gateway's deadline: roster's own answer, never the gateway's timeout.
    assert slowest < GRPC_DEADLINE_SECONDS, (probes, reads)
    assert {a.status for a in during if a.path in unaffected} == {200}, load.describe(mark)
    # Healed by itself: the same process, never restarted.
    assert roster.attrs["State"]["StartedAt"] == started_at
    assert roster.attrs["RestartCount"] == 0


def _creates_until(
    stack: HttpsClient, teacher: Teacher, until: float
) -> list[tuple[int, str, float]]:
    """Creates classes one after the other until ``until``: (status, code, seconds) each."""
    probes: list[tuple[int, str, float]] = []
    while time.monotonic() < until:
        sent = time.monotonic()
        status, _, body = stack.request("POST", "/v1/classes", {"name": "cut off"}, teacher.token)
        code = json.loads(body).get("code", "") if body else ""
        probes.append((status, code, time.monotonic() - sent))
    return probes


def _creates_again(stack: HttpsClient, teacher: Teacher) -> float:
    """Seconds until a create succeeds again: roster reaches sharing once more."""
    return _wait_until(
        lambda: stack.request("POST", "/v1/classes", {"name": "healed"}, teacher.token)[0] == 201,
        HEAL_SECONDS,
        "roster reaches sharing again",
    )


def _roster_with_sharing_frozen(stack: LocalFaults, teacher: Teacher) -> None:
    roster_pid, sharing_pid = stack.pid("roster"), stack.pid("sharing")
    own = expect_json(
        stack.request("POST", "/v1/classes", {"name": "before the freeze"}, teacher.token), 201
    )
    # /v1/me needs auth alone. The owner's read of the class needs no sharing call (roster's
    # own row decides it); a create writes the owner tuple to sharing, so it is refused.
    unaffected = ["/v1/me"]
    read = f"/v1/classes/{own['id']}"
    refused_before = _handled(stack, "roster", "CreateClass", "UNAVAILABLE")
    with Load(stack, teacher.token, [*unaffected, read], workers=2) as load:
        load.wait_for_answers(20)
        with stack.frozen("sharing"):
            frozen = time.monotonic()
            mark = load.mark()
            probes = _creates_until(stack, teacher, frozen + PARTITION_SECONDS)
        during = load.answers(mark)
        healed = _creates_again(stack, teacher)
    refused_by_roster = _handled(stack, "roster", "CreateClass", "UNAVAILABLE") - refused_before
    reads = [a for a in during if a.path == read]
    slowest = max([took for _, _, took in probes] + [a.ended - a.started for a in reads])
    _report(
        f"\nsharing frozen for {PARTITION_SECONDS:g} s ({stack.kind}; the local stand-in for "
        f"roster cut off from sharing): creates answered "
        f"{dict(collections.Counter((s, c) for s, c, _ in probes))}; the load meanwhile: "
        f"{load.describe(mark)}; slowest roster answer {slowest:.2f} s; roster itself refused "
        f"{refused_by_roster:g} creates as UNAVAILABLE; healed {healed:.1f} s after the thaw, "
        "without a restart"
    )
    assert probes and {(status, code) for status, code, _ in probes} == {(503, "unavailable")}
    # Roster's own refusal (its deadline to sharing ends before the gateway's to roster).
    assert refused_by_roster >= len(probes)
    assert {(a.status, a.problem) for a in reads} <= {(200, ""), (503, "unavailable")}
    # Nothing waits past the deadline. Measured at the client, so with a second's slack for
    # TLS and a loaded machine: that roster answered in time, not the gateway's timeout, its
    # own count of refusals says (a call still running at its deadline is cancelled, and
    # then not counted as refused).
    assert slowest < GRPC_DEADLINE_SECONDS + 1, (probes, reads)
    assert {a.status for a in during if a.path in unaffected} == {200}, load.describe(mark)
    # Healed by itself: the same processes, never restarted.
    assert (stack.pid("roster"), stack.pid("sharing")) == (roster_pid, sharing_pid)
