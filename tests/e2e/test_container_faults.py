"""Faults under load, on the containers: one part breaks, the rest answers, all of it heals.

Each test runs a steady load (tests/support/load.py) against the stack of
``container_stack.py`` while one container is stopped or restarted with the helpers of
tests/support/containers.py, and prints its figures. PostgreSQL lives on a volume here, so a
restart of its container is a real restart, not a new empty database.
"""

from __future__ import annotations

import collections
import json
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.container_stack import (
    STOP_GRACE_SECONDS,
    ContainerStack,
    expect_json,
    require_engine,
    running_container_stack,
    verified_account,
)
from tests.e2e.mail import mail_count
from tests.e2e.stack import PASSWORD
from tests.support import containers
from tests.support.engine import ContainerEngine, NoEngine
from tests.support.load import Load

pytestmark = pytest.mark.e2e

GRPC_DEADLINE_SECONDS = 5.0  # the gateway's default TRACKCC_GATEWAY_GRPC_TIMEOUT_SECONDS
HEAL_SECONDS = 90.0
MAIL_SECONDS = 120.0  # the outbox retries after 10 s, 20 s, 40 s ... (RetryPolicy)


@pytest.fixture(scope="module")
def stack(
    container_engine: ContainerEngine | NoEngine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContainerStack]:
    engine = require_engine(container_engine)
    work = tmp_path_factory.mktemp("faults")
    with running_container_stack(engine, work, durable_postgres=True) as running:
        yield running


@pytest.fixture(scope="module")
def teacher(stack: ContainerStack) -> str:
    return verified_account(stack, f"faults-{uuid.uuid4().hex[:8]}@example.com", "teacher")


def test_roster_stopped_answers_503_in_time_while_the_rest_keeps_working(
    stack: ContainerStack, teacher: str
) -> None:
    roster = stack.containers["roster"]
    with Load(stack, teacher, ["/v1/me", "/v1/classes"]) as load:
        load.wait_for_answers(20)
        containers.stop(roster, STOP_GRACE_SECONDS)
        started = time.monotonic()
        status, headers, body = stack.request("GET", "/v1/classes", None, teacher)
        took = time.monotonic() - started
        assert status == 503, body
        assert headers["Content-Type"].startswith("application/problem+json")
        assert took < GRPC_DEADLINE_SECONDS + 1, took
        mark = load.mark()
        load.wait_for_answers(20)
        containers.restart(roster)
        back = containers.wait_until(
            lambda: stack.request("GET", "/v1/classes", None, teacher)[0] == 200,
            HEAL_SECONDS,
            "roster back",
        )
    during = load.statuses_since(mark)
    _report(f"\nroster stopped: /v1/classes 503 in {took:.2f} s; back {back:.1f} s after restart;")
    _report(f"answers while it was down: {load.describe(mark)}")
    assert set(during["/v1/me"]) == {200}, during
    assert set(during["/v1/classes"]) <= {200, 503}, during


def test_postgres_restarted_loses_no_acknowledged_write(
    stack: ContainerStack, teacher: str
) -> None:
    acknowledged: list[str] = []
    refused: collections.Counter[int] = collections.Counter()

    def create(index: int) -> None:
        status, _, body = stack.request("POST", "/v1/classes", {"name": f"c{index}"}, teacher)
        if status == 201:
            acknowledged.append(json.loads(body)["id"])
        else:
            refused[status] += 1

    index = 0
    for _ in range(10):
        create(index := index + 1)
    containers.restart(stack.containers["postgres"], STOP_GRACE_SECONDS)
    # The services reconnect by themselves: creates succeed again without their restart.
    before = len(acknowledged)
    deadline = time.monotonic() + HEAL_SECONDS
    while len(acknowledged) < before + 10 and time.monotonic() < deadline:
        create(index := index + 1)
    assert len(acknowledged) >= before + 10, refused

    listed: set[str] = set()
    token = ""
    while True:
        page = expect_json(
            stack.request("GET", f"/v1/classes?page_size=200&page_token={token}", None, teacher),
            200,
        )
        listed |= {item["id"] for item in page["items"]}
        token = page["next_page_token"]
        if not token:
            break
    _report(
        f"\npostgres restarted: {len(acknowledged)} creates acknowledged, refused {dict(refused)}"
    )
    assert set(acknowledged) <= listed
    # While the database was away, creates were refused as unavailable (retry), never as 500.
    assert set(refused) <= {503}, refused


def _report(line: str) -> None:
    print(line)  # noqa: T201 - the figures are what these tests are for


def test_mail_waits_while_smtp_is_down_and_goes_out_once(stack: ContainerStack) -> None:
    smtp = stack.containers["smtp"]
    containers.stop(smtp, STOP_GRACE_SECONDS)
    addresses = {f"waiting-{uuid.uuid4().hex[:8]}@example.com" for _ in range(3)}
    for address in addresses:
        body = {"email": address, "password": PASSWORD, "role": "guardian"}
        expect_json(stack.request("POST", "/v1/accounts", body), 201)
    assert mail_count(stack, addresses) == {}
    containers.restart(smtp)
    took = containers.wait_until(
        lambda: set(mail_count(stack, addresses)) == addresses, MAIL_SECONDS, "mail delivered"
    )
    # Nothing is pending any more, so no second copy can still come.
    containers.wait_until(lambda: _outbox_pending(stack) == 0, MAIL_SECONDS, "outbox empty")
    _report(f"\nsmtp stopped: {len(addresses)} mails delivered {took:.1f} s after it was back")
    assert mail_count(stack, addresses) == dict.fromkeys(addresses, 1)


def _outbox_pending(stack: ContainerStack) -> float:
    for line in stack.metrics("auth").splitlines():
        if line.startswith("trackcc_mail_outbox_pending"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("auth exports no trackcc_mail_outbox_pending")
