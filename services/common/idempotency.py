"""Idempotent creates (AIP-155): the first response of a request id is replayed, 24 hours on.

The gateway passes a client's ``Idempotency-Key`` as the Create method's ``request_id``; the
owning service keeps the first response in its own ``idempotency_keys`` table:

    principal_id uuid, request_id text, request_hash bytea, response bytea,
    created_at timestamptz, PRIMARY KEY (principal_id, request_id)

A key names one request (docs/api.md): the fingerprint covers the operation's full gRPC name as
well as the serialized request, because two operations' requests can encode to the same
bytes (``CreateClassRequest{name: "0"}`` and ``CreateStudentRequest{display_name: "0"}``).
The same key sent to another operation is therefore a different request and answers
``idempotency_key_reused``; a stored response is only ever parsed by the operation that
stored it. :func:`claim` takes the operation and computes the fingerprint itself so that
no caller can leave it out.

The key row is inserted in the same transaction as the work, so work and stored response
commit together. A duplicate arriving while the first still runs would wait on that row; a
short lock timeout turns the wait into ABORTED ``request_in_progress`` (docs/api.md: 409).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

import asyncpg
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import Message

from services.common import reasons
from services.common.db import DbConnection
from services.common.errors import Aborted, InvalidArgument

KEEP = timedelta(hours=24)
# The one limit on a key: the gateway refuses longer Idempotency-Key values with 422, and
# roster's column check (0001_roster.sql) says the same.
MAX_REQUEST_ID = 200
# Requests of sign-up have no caller yet; their keys share this scope (see auth/server.py).
ANONYMOUS = uuid.UUID(int=0)


def operation_name(file: FileDescriptor, service: str, method: str) -> str:
    """The full name of an RPC (``trackcc.roster.v1.RosterService.CreateClass``)."""
    return file.services_by_name[service].methods_by_name[method].full_name


def request_hash(operation: str, serialized_request: bytes) -> bytes:
    """What identifies "the same request": the operation and its body."""
    digest = hashlib.sha256(operation.encode())
    digest.update(b"\0")
    digest.update(serialized_request)
    return digest.digest()


def key_reused() -> InvalidArgument:
    """The answer to a key sent again with another request (docs/api.md: 422)."""
    return InvalidArgument(
        "this request_id was used with a different request",
        reason=reasons.IDEMPOTENCY_KEY_REUSED,
        field_violations=[("request_id", "used with a different request")],
    )


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
    operation: str,
    request: Message,
    now: datetime,
) -> bytes | None:
    """None when the request is new (do the work, then :func:`finish`); else the first response.

    ``operation`` is the RPC's full name (:func:`operation_name`);
    ``request`` is what identifies the body (the gRPC request, or a copy without secrets).
    Call inside the transaction that does the work.
    """
    body_hash = request_hash(operation, request.SerializeToString(deterministic=True))
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
            "a request with this request_id is still running", reason=reasons.REQUEST_IN_PROGRESS
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
        raise key_reused()
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
