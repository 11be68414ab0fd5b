"""One email rule for every address (services/common/emails.py), and an outbox that gives up
an undeliverable mail instead of failing every pass (issue 11, item 7)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    PASSWORD,
    VERIFY_SUBJECT,
    AuthStack,
    Session,
    auth_stack,
    new_email,
    new_user,
    sign_in,
    sign_up,
    wait_for_mail,
)

HOSTILE = ["victim<attacker@evil.example>", "(x@example.com", "a,b@example.com", "a b@example.com"]


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, tmp_path_factory.mktemp("emails")) as running:
        yield running


async def _post(
    stack: AuthStack, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    async with stack.http.post(path, json=body, headers=headers or {}) as response:
        return response.status, await response.json(content_type=None)


def _fields(problem: dict[str, Any]) -> set[str]:
    return {error["field"] for error in problem.get("errors", [])}


@pytest.mark.parametrize("address", HOSTILE)
async def test_addresses_that_would_mail_someone_else_are_refused_everywhere(
    stack: AuthStack, address: str
) -> None:
    body = {"email": address, "password": PASSWORD, "role": "teacher"}
    status, problem = await _post(stack, "/v1/accounts", body)
    assert (status, problem["code"]) == (422, "validation_failed"), problem
    assert _fields(problem) == {"email"}

    _, owner = await new_user(stack, "inviter")
    status, created = await _post(stack, "/v1/classes", {"name": "7B"}, owner.headers)
    assert status == 201, created
    invite = {"email": address, "relation": "viewer", "role": "guardian"}
    status, problem = await _post(
        stack, f"/v1/classes/{created['id']}/invitations", invite, owner.headers
    )
    assert (status, problem["code"]) == (422, "validation_failed"), problem
    assert _fields(problem) == {"email"}

    status, problem = await _post(
        stack, "/v1/me/email", {"new_email": address, "password": PASSWORD}, owner.headers
    )
    assert (status, problem["code"]) == (422, "validation_failed"), problem


async def test_one_normal_form_for_accounts_and_invitations(stack: AuthStack) -> None:
    local = new_email("Mixed.Case").partition("@")[0]
    typed = f"  {local.upper()}@Example.ORG "
    account = await sign_up(stack, typed)
    assert account["email"] == f"{local.lower()}@example.org"
    # Only a verified address sees invitations sent to it.
    token = (await wait_for_mail(stack, account["email"], VERIFY_SUBJECT)).token("/verify")
    status, _ = await _post(stack, "/v1/accounts/verify", {"token": token})
    assert status == 204
    invitee: Session = await sign_in(stack, typed)

    _, owner = await new_user(stack, "owner")
    status, created = await _post(stack, "/v1/classes", {"name": "8C"}, owner.headers)
    assert status == 201
    invite = {"email": f"{local.upper()}@EXAMPLE.org", "relation": "viewer", "role": "guardian"}
    status, invitation = await _post(
        stack, f"/v1/classes/{created['id']}/invitations", invite, owner.headers
    )
    assert status == 201, invitation
    assert invitation["email"] == account["email"]
    async with stack.http.get(
        "/v1/invitations?direction=received", headers=invitee.headers
    ) as response:
        received = (await response.json())["items"]
    assert [item["id"] for item in received] == [invitation["id"]]


async def _auth_metric(stack: AuthStack, name: str) -> float:
    url = f"http://127.0.0.1:{stack.auth.metrics_port}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_an_undeliverable_mail_is_given_up_and_the_others_go_out(
    stack: AuthStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    failed_metric = 'trackcc_mail_outbox_failed_total{reason="invalid_message"}'
    before = await _auth_metric(stack, failed_metric)
    # A row from before the rule: its address cannot be one To header.
    bad = "(x@example.com"
    mail_id = await stack.auth_pool.fetchval(
        "INSERT INTO mail_outbox (recipient, subject, body, created_at, next_attempt_at)"
        " VALUES ($1, 'Confirm', 'token=live-secret', now(), now()) RETURNING id",
        bad,
    )
    # Mail enqueued after it still goes out.
    address = new_email("after-bad")
    await sign_up(stack, address)
    await wait_for_mail(stack, address, VERIFY_SUBJECT)

    async with asyncio.timeout(15):
        while True:
            row = await stack.auth_pool.fetchrow(
                "SELECT failed_at, body, sent_at, last_error FROM mail_outbox WHERE id = $1",
                mail_id,
            )
            assert row is not None
            if row["failed_at"] is not None:
                break
            await asyncio.sleep(0.05)  # the outbox worker runs on its own schedule
    assert row["body"] == "" and row["sent_at"] is None and bad not in row["last_error"]
    assert await _auth_metric(stack, failed_metric) == before + 1
    given_up = [r for r in caplog.records if r.getMessage() == "mail undeliverable, given up"]
    assert given_up
    for record in caplog.records:
        assert bad not in caplog.handler.format(record)
        assert bad not in str(record.__dict__)
    # Given up means given up: the row is never claimed again.
    attempts = await stack.auth_pool.fetchval(
        "SELECT attempts FROM mail_outbox WHERE id = $1", mail_id
    )
    second = new_email("later")
    await sign_up(stack, second)
    await wait_for_mail(stack, second, VERIFY_SUBJECT)
    assert (
        await stack.auth_pool.fetchval("SELECT attempts FROM mail_outbox WHERE id = $1", mail_id)
        == attempts
    )
