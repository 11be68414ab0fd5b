"""What operators see of auth's security events after real traffic through the gateway: the
audit log (read as auth's owner role, for inspection only) and the Prometheus metrics of auth
and the gateway, scraped from their metrics ports."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.common.devcerts import DevPki
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import (
    NEW_PASSWORD,
    PASSWORD,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    AuthStack,
    Session,
    auth_stack,
    new_email,
    new_user,
    sign_in,
    sign_in_response,
    support_session,
    wait_for_mail,
)

WRONG = "not my password at all 3"
THIRD_PASSWORD = "saffron glacier tandem 61"
AUDIT_WAIT_SECONDS = 60.0  # docs/api.md: a deleted account is gone within 60 s
METRICS_WAIT_SECONDS = 15.0


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AuthStack]:
    directory = tmp_path_factory.mktemp("auth-observability")
    async with auth_stack(pg_endpoint, pki, directory) as running:
        yield running


async def _lock(stack: AuthStack, address: str) -> list[int]:
    """Ten wrong passwords; the statuses they got."""
    answers = await asyncio.gather(*(sign_in_response(stack, address, WRONG) for _ in range(10)))
    return [status for status, _ in answers]


async def _audit_rows(stack: AuthStack, subject: str) -> list[asyncpg.Record]:
    """The audit entries about ``subject``, oldest first, read as auth's owner role."""
    connection = await asyncpg.connect(stack.database.owner_dsn("auth"))
    try:
        return list(
            await connection.fetch(
                """
                SELECT at, actor, subject, event, reason FROM auth.audit_log
                WHERE subject = $1::uuid ORDER BY id
                """,
                subject,
            )
        )
    finally:
        await connection.close()


async def _post(
    stack: AuthStack, path: str, body: Mapping[str, str], session: Session | None = None
) -> int:
    headers = session.headers if session else {}
    async with stack.http.post(path, json=body, headers=headers) as response:
        return response.status


async def test_security_events_are_in_the_audit_log_with_actor_subject_and_reason(
    stack: AuthStack,
) -> None:
    started = dt.datetime.now(dt.UTC)
    support = await support_session(stack)
    address, first = await new_user(stack, "audited")
    account_id = first.account["id"]

    assert await _lock(stack, address) == [401] * 10
    assert (await sign_in_response(stack, address))[0] == 423
    reason = f"owner wrote from the account address, ticket {uuid.uuid4().hex[:6]}"
    path = f"/v1/admin/accounts/{account_id}/unlock"
    assert await _post(stack, path, {"reason": reason}, support) == 204

    session = await sign_in(stack, address)
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert await _post(stack, "/v1/me/password", change, session) == 204

    assert await _post(stack, "/v1/password/forgot", {"email": address}) == 202
    token = (await wait_for_mail(stack, address, RESET_SUBJECT)).token("/reset")
    reset = {"token": token, "new_password": THIRD_PASSWORD}
    assert await _post(stack, "/v1/password/reset", reset) == 204

    session = await sign_in(stack, address, THIRD_PASSWORD)
    reused = session.id
    spent = {"refresh_token": session.tokens["refresh_token"]}
    async with stack.http.post("/v1/sessions/refresh", json=spent) as response:
        assert response.status == 200
        successor = {"refresh_token": (await response.json())["refresh_token"]}
    # The successor is used, so the spent token again is no lost answer's retry but reuse.
    assert await _post(stack, "/v1/sessions/refresh", successor) == 200
    assert await _post(stack, "/v1/sessions/refresh", spent) == 401  # reuse: session revoked

    session = await sign_in(stack, address, THIRD_PASSWORD)
    async with stack.http.delete(
        "/v1/me", json={"password": THIRD_PASSWORD}, headers=session.headers
    ) as response:
        assert response.status in (202, 204), await response.text()

    events = [
        "lockout",
        "unlock",
        "password_change",
        "password_reset",
        "session_reuse_detected",
        "account_deletion_requested",
        "account_deleted",
    ]
    async with asyncio.timeout(AUDIT_WAIT_SECONDS):
        # The deletion job finishes in the background and signals nothing a test can await.
        while True:
            rows = await _audit_rows(stack, account_id)
            if len(rows) >= len(events):
                break
            await asyncio.sleep(0.2)
    assert [row["event"] for row in rows] == events
    me, staff = f"account:{account_id}", f"account:{support.account['id']}"
    assert [row["actor"] for row in rows] == [
        "system",
        staff,
        me,
        me,
        "system",
        me,
        "system",
    ]
    assert all(str(row["subject"]) == account_id for row in rows)
    assert rows[1]["reason"] == reason
    assert all(row["reason"] for row in rows)
    assert "consecutive failed" in rows[0]["reason"]
    assert reused in rows[4]["reason"]  # names the session it ended
    times = [row["at"] for row in rows]
    assert times == sorted(times)
    assert started <= times[0] and times[-1] <= dt.datetime.now(dt.UTC)
    # Ids and reasons only: the address and the passwords appear nowhere.
    for row in rows:
        for secret in (address, PASSWORD, NEW_PASSWORD, THIRD_PASSWORD):
            assert secret not in row["actor"] and secret not in row["reason"]


async def _scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text exposition: (name, labels) -> value."""
    async with aiohttp.ClientSession() as plain, plain.get(url) as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _auth_metrics_url(stack: AuthStack) -> str:
    return f"http://127.0.0.1:{stack.auth.metrics_port}/metrics"


def _logins(samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float]) -> dict[str, float]:
    return {
        result: samples[("trackcc_auth_logins_total", frozenset({("result", result)}))]
        for result in ("success", "invalid_credentials", "locked")
    }


def _lockouts(samples: Mapping[tuple[str, frozenset[tuple[str, str]]], float]) -> float:
    return samples[("trackcc_auth_lockouts_total", frozenset())]


async def test_sign_ins_are_counted_by_result_and_lockouts_once(stack: AuthStack) -> None:
    before = await _scrape(_auth_metrics_url(stack))
    address, _ = await new_user(stack, "counted")  # one success
    await sign_in(stack, address)  # two
    for wrong_address in (address, new_email("nobody")):
        status, _ = await sign_in_response(stack, wrong_address, WRONG)
        assert status == 401
    locked_address, _ = await new_user(stack, "counted-locked")  # three
    statuses = await _lock(stack, locked_address)
    statuses += [(await sign_in_response(stack, locked_address))[0] for _ in range(2)]
    assert sorted(statuses) == [401] * 10 + [423] * 2

    after = await _scrape(_auth_metrics_url(stack))
    delta = {result: after - _logins(before)[result] for result, after in _logins(after).items()}
    assert delta == {"success": 3, "invalid_credentials": 2 + 10, "locked": 2}
    assert _lockouts(after) - _lockouts(before) == 1


async def test_the_outbox_gauge_is_exported_and_reads_zero_once_mail_is_delivered(
    stack: AuthStack,
) -> None:
    address, _ = await new_user(stack, "gauge")  # a verification mail
    await wait_for_mail(stack, address, VERIFY_SUBJECT)
    async with asyncio.timeout(METRICS_WAIT_SECONDS):
        # The worker updates the gauge after each pass; it has no event to await.
        while True:
            samples = await _scrape(_auth_metrics_url(stack))
            if samples.get(("trackcc_mail_outbox_pending", frozenset())) == 0:
                break
            await asyncio.sleep(0.05)


async def test_gateway_request_durations_are_labelled_with_route_templates(
    stack: AuthStack,
) -> None:
    address, first = await new_user(stack, "routes")
    second = await sign_in(stack, address)
    async with stack.http.delete(f"/v1/sessions/{second.id}", headers=first.headers) as response:
        assert response.status == 204
    samples = await _scrape(stack.gateway.metrics_url)
    counts = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "http_server_request_duration_seconds_count"
    }
    routes = {dict(labels)["route"] for labels in counts}
    assert {"/v1/sessions", "/v1/sessions/{id}", "/v1/accounts"} <= routes
    signed_in = frozenset({("method", "POST"), ("route", "/v1/sessions"), ("status", "200")})
    assert counts[signed_in] >= 2
    ended = frozenset({("method", "DELETE"), ("route", "/v1/sessions/{id}"), ("status", "204")})
    assert counts[ended] >= 1
    # Never a raw id: a label per id would be a series per user.
    for value in (second.id, first.id, first.account["id"], address):
        assert not any(value in route for route in routes)
