"""Idempotent creates (AIP-155): the first response of a request id is replayed, 24 hours on.

The gateway passes a client's ``Idempotency-Key`` as the Create method's ``request_id``; the
owning service keeps the first response in its own ``idempotency_keys`` table:

    principal_id uuid, request_id text, request_hash bytea, response bytea,
    created_at timestamptz, PRIMARY KEY (principal_id, request_id)

The key row is inserted in the same transaction as the work, so work and stored response
commit together. A duplicate arriving while the first still runs would wait on that row; a
short lock timeout turns the wait into ABORTED ``request_in_progress`` (API.md: 409).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import asyncpg

from services.common.db import DbConnection
from services.common.errors import Aborted, InvalidArgument

KEEP = timedelta(hours=24)
# The gateway accepts Idempotency-Key values of up to 255 visible characters.
MAX_REQUEST_ID = 255


def request_hash(serialized_request: bytes) -> bytes:
    """What identifies "the same body"."""
    return hashlib.sha256(serialized_request).digest()


def checked_request_id(request_id: str) -> str:
    """The request id, or INVALID_ARGUMENT when it is too long to keep."""
    if len(request_id) > MAX_REQUEST_ID:
        raise InvalidArgument(
            "request_id is too long",
            field_violations=[("request_id", f"at most {MAX_REQUEST_ID} characters")],
        )
    return request_id


async def claim(
    connection: DbConnection,
    principal_id: uuid.UUID,
    request_id: str,
    body_hash: bytes,
    now: datetime,
) -> bytes | None:
    """None when the request is new (do the work, then :func:`finish`); else the first response.

    Call inside the transaction that does the work.
    """
    await connection.execute(
        "DELETE FROM idempotency_keys WHERE principal_id = $1 AND request_id = $2"
        " AND created_at <= $3",
        principal_id,
        request_id,
        now - KEEP,
    )
    await connection.execute("SET LOCAL lock_timeout = '2s'")
    try:
        inserted = await connection.fetchval(
            """
            INSERT INTO idempotency_keys
                (principal_id, request_id, request_hash, response, created_at)
            VALUES ($1, $2, $3, '', $4)
            ON CONFLICT (principal_id, request_id) DO NOTHING
            RETURNING 1
            """,
            principal_id,
            request_id,
            body_hash,
            now,
        )
    except asyncpg.LockNotAvailableError:
        raise Aborted(
            "a request with this request_id is still running", reason="request_in_progress"
        ) from None
    await connection.execute("SET LOCAL lock_timeout = 0")
    if inserted is not None:
        return None
    row = await connection.fetchrow(
        "SELECT request_hash, response FROM idempotency_keys"
        " WHERE principal_id = $1 AND request_id = $2",
        principal_id,
        request_id,
    )
    if row is None or row["request_hash"] != body_hash:
        raise InvalidArgument(
            "this request_id was used with a different request",
            reason="idempotency_key_reused",
            field_violations=[("request_id", "used with a different request")],
        )
    response: bytes = row["response"]
    return response


async def finish(
    connection: DbConnection, principal_id: uuid.UUID, request_id: str, response: bytes
) -> None:
    """Stores the response to replay (same transaction as the work)."""
    await connection.execute(
        "UPDATE idempotency_keys SET response = $3 WHERE principal_id = $1 AND request_id = $2",
        principal_id,
        request_id,
        response,
    )
