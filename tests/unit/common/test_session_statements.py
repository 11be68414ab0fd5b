"""Which statements make a pooled connection need the reset query on release."""

from __future__ import annotations

import pytest

from services.common.db import may_change_session


@pytest.mark.parametrize(
    "query",
    [
        "SET statement_timeout = 1000",
        "set search_path = other",
        "SET LOCAL lock_timeout = '1s'",
        "RESET ALL",
        "SELECT set_config('application_name', 'x', false)",
        "LISTEN changes",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_try_advisory_lock_shared(1)",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "DISCARD PLANS",
        # An assignment does not hide a real SET after it.
        "UPDATE students SET notes = NULL; SET role = other",
        "UPDATE t SET a = (SELECT set_config('x', 'y', false))",
    ],
)
def test_statements_that_may_change_the_session(query: str) -> None:
    assert may_change_session(query)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1",
        "BEGIN ISOLATION LEVEL SERIALIZABLE;",
        "ROLLBACK",
        "SELECT pg_advisory_xact_lock(1)",
        "UPDATE students SET display_name = $2 WHERE id = $1",
        "UPDATE classes AS c SET name = $2 WHERE c.id = $1",
        'UPDATE ONLY "roster"."photos" SET etag = $2',
        "INSERT INTO marks VALUES ($1) ON CONFLICT (id) DO UPDATE\n   SET at = EXCLUDED.at",
        "SELECT settings, reset_at FROM preferences",
    ],
)
def test_reads_and_writes_that_leave_the_session_alone(query: str) -> None:
    assert not may_change_session(query)
