"""Idempotent creates (AIP-155): the first response of a request id is replayed, 24 hours on.

The key row is inserted in the same transaction as the work. A concurrent duplicate blocks on
the primary key until the first commits (then replays its response) or rolls back (then does
the work itself), so the work is never done twice.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from services.common.errors import InvalidArgument
from services.sharing.db import DbConnection

KEEP = timedelta(hours=24)


def request_hash(serialized_request: bytes) -> bytes:
    """What identifies "the same body"."""
    return hashlib.sha256(serialized_request).digest()


async def claim(
    connection: DbConnection,
    principal_id: uuid.UUID,
    request_id: str,
    body_hash: bytes,
    now: datetime,
) -> bytes | None:
    """None when this request is new (do the work, then :func:`finish`); else the first response."""
    await connection.execute(
        "DELETE FROM idempotency_keys WHERE principal_id = $1 AND request_id = $2"
        " AND created_at <= $3",
        principal_id,
        request_id,
        now - KEEP,
    )
    inserted = await connection.fetchval(
        """
        INSERT INTO idempotency_keys (principal_id, request_id, request_hash, response, created_at)
        VALUES ($1, $2, $3, '', $4)
        ON CONFLICT (principal_id, request_id) DO NOTHING
        RETURNING 1
        """,
        principal_id,
        request_id,
        body_hash,
        now,
    )
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
    """Stores the response to replay."""
    await connection.execute(
        "UPDATE idempotency_keys SET response = $3 WHERE principal_id = $1 AND request_id = $2",
        principal_id,
        request_id,
        response,
    )
