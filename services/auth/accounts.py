"""The accounts table: plain parameterised SQL, one function per statement.

Functions take a connection so that the servicer decides how many queries share one
acquire. Every change that must not race is a single guarded statement.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from services.auth.validation import SignupFields

# A connection of its own or one acquired from the pool (what the servicer passes).
DbConnection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"

# The columns an Account is built from; shared by every query that returns one.
ACCOUNT_COLUMNS = "id, email, role, display_name, birth_date, gender, email_verified, created_at"


@dataclass(frozen=True)
class Account:
    """An account as stored, without its password hash."""

    id: uuid.UUID
    email: str
    role: str
    display_name: str | None
    birth_date: dt.date | None
    gender: str | None
    email_verified: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class Credentials:
    """What sign-in needs to check a password."""

    account_id: uuid.UUID
    password_hash: str


def account_from_row(row: asyncpg.Record) -> Account:
    """An Account from a row holding ACCOUNT_COLUMNS."""
    return Account(
        id=row["id"],
        email=row["email"],
        role=row["role"],
        display_name=row["display_name"],
        birth_date=row["birth_date"],
        gender=row["gender"],
        email_verified=row["email_verified"],
        created_at=row["created_at"],
    )


async def insert_account(
    connection: DbConnection, fields: SignupFields, password_hash: str, now: dt.datetime
) -> Account | None:
    """The new account, or None when the email is taken (in any letter case).

    The unique index on lower(email) decides, so two concurrent signups with the same
    address cannot both succeed and neither needs a read first.
    """
    row = await connection.fetchrow(
        f"""
        INSERT INTO accounts
            (email, role, display_name, birth_date, gender, password_hash,
             created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
        ON CONFLICT ((lower(email))) DO NOTHING
        RETURNING {ACCOUNT_COLUMNS}
        """,
        fields.email,
        fields.role,
        fields.display_name,
        fields.birth_date,
        fields.gender,
        password_hash,
        now,
    )
    return None if row is None else account_from_row(row)


async def find_credentials(connection: DbConnection, email: str) -> Credentials | None:
    """The password hash of the account with this normalized email, if there is one."""
    row = await connection.fetchrow(
        "SELECT id, password_hash FROM accounts WHERE lower(email) = lower($1)", email
    )
    if row is None:
        return None
    return Credentials(account_id=row["id"], password_hash=row["password_hash"])


async def record_failed_sign_in(connection: DbConnection, account_id: uuid.UUID) -> int:
    """Counts one failed sign-in atomically; returns the new consecutive count.

    One UPDATE with the increment in SQL: parallel attempts each add one, none is lost.
    """
    count = await connection.fetchval(
        """
        UPDATE accounts
        SET failed_attempts = failed_attempts + 1, updated_at = now()
        WHERE id = $1
        RETURNING failed_attempts
        """,
        account_id,
    )
    return int(count or 0)


async def record_successful_sign_in(
    connection: DbConnection,
    account_id: uuid.UUID,
    verified_hash: str,
    new_hash: str | None,
) -> Account | None:
    """Resets the failure count and stores ``new_hash`` (a rehash) when given.

    The rehash is applied only if the stored hash is still the one just verified, so a
    password change that landed in between is never overwritten. None: the account is gone.
    """
    row = await connection.fetchrow(
        f"""
        UPDATE accounts
        SET failed_attempts = 0,
            password_hash = CASE
                WHEN $3::text IS NOT NULL AND password_hash = $2 THEN $3
                ELSE password_hash
            END,
            updated_at = now()
        WHERE id = $1
        RETURNING {ACCOUNT_COLUMNS}
        """,
        account_id,
        verified_hash,
        new_hash,
    )
    return None if row is None else account_from_row(row)
