"""The append-only audit log of security events: time, actor, subject, event and reason.

The runtime role may only INSERT here (migration 0002 revokes UPDATE and DELETE), so the
service cannot rewrite its own history. Rows hold ids and reasons, never an email.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from services.common.db import DbConnection

Event = Literal[
    "lockout",
    "unlock",
    "password_change",
    "password_reset",
    "email_change",
    "session_reuse_detected",
    "account_deletion_requested",
    "account_deleted",
]

SYSTEM = "system"


def account_actor(account_id: uuid.UUID) -> str:
    """The actor text of an account acting for itself or as support."""
    return f"account:{account_id}"


async def record(
    connection: DbConnection,
    *,
    event: Event,
    actor: str,
    subject: uuid.UUID | None,
    now: dt.datetime,
    reason: str = "",
) -> None:
    """Appends one event; call it inside the transaction of the change it records."""
    await connection.execute(
        "INSERT INTO audit_log (at, actor, subject, event, reason) VALUES ($1, $2, $3, $4, $5)",
        now,
        actor,
        subject,
        event,
        reason[:500],
    )
