"""What ``trackcc-admin`` does for auth: create support staff, list locked accounts, unlock.

The CLI calls these with a pool logged in as the auth runtime role, so they go through the
same rules as the service: the password policy, argon2id hashing and the audit log.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from services.auth import accounts, lockout, support
from services.auth.password_policy import check_new_password
from services.auth.passwords import PasswordHashing
from services.auth.support import AdminAccount
from services.auth.validation import SignupFields, email_problem, normalize_email
from services.common import reasons
from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.common.timestamps import utc_now


async def create_support(pool: asyncpg.Pool, email: str, password: str) -> uuid.UUID:
    """A new support account; InvalidArgument (weak_password, bad email) or AlreadyExists."""
    normalized = normalize_email(email)
    problem = email_problem(normalized)
    if problem:
        raise InvalidArgument(f"email {problem}", field_violations=[("email", problem)])
    checked = await asyncio.to_thread(check_new_password, password, normalized)
    hashing = PasswordHashing(1)
    try:
        password_hash = await hashing.hash(checked)
    finally:
        hashing.close()
    fields = SignupFields(normalized, "support", None, None, None)
    async with pool.acquire() as connection:
        account = await accounts.insert_account(connection, fields, password_hash, utc_now())
        if account is None:
            raise AlreadyExists(
                "an account with this email address exists", reason=reasons.EMAIL_TAKEN
            )
        # The operator typed the address in; it needs no verification mail.
        await connection.execute(
            "UPDATE accounts SET email_verified = true WHERE id = $1", account.id
        )
    return account.id


async def list_locked(pool: asyncpg.Pool) -> list[AdminAccount]:
    """Every locked account, in id order."""
    found: list[AdminAccount] = []
    after: uuid.UUID | None = None
    async with pool.acquire() as connection:
        while True:
            page = await support.list_accounts(connection, locked_only=True, limit=200, after=after)
            found.extend(page)
            if len(page) < 200:
                return found
            after = page[-1].id


async def unlock(pool: asyncpg.Pool, email: str, reason: str, actor: str = "cli") -> uuid.UUID:
    """Unlocks the account of ``email`` and audits it; NotFound when there is none."""
    if not reason.strip():
        raise InvalidArgument("a reason is required", field_violations=[("reason", "is empty")])
    async with pool.acquire() as connection, connection.transaction():
        account_id = await support.account_id_by_email(connection, normalize_email(email))
        if account_id is None or not await lockout.unlock(
            connection, account_id, actor=actor, reason=reason.strip(), now=utc_now()
        ):
            raise NotFound("no account has this email address")
    return account_id
