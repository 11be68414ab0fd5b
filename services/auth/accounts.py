"""The accounts table: plain parameterised SQL, one function per statement.

Functions take a connection so that the servicer decides how many queries share one
acquire. Every change that must not race is a single guarded statement.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import asyncpg

from services.auth.validation import SignupFields
from services.common.db import DbConnection

# A connection of its own or one acquired from the pool (what the servicer passes).

# The columns an Account is built from; shared by every query that returns one.
ACCOUNT_COLUMNS = (
    "id, email, role, display_name, birth_date, gender, email_verified, has_photo, created_at"
)


_PROFILE_COLUMNS = frozenset({"display_name", "birth_date", "gender"})


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
    has_photo: bool = False


@dataclass(frozen=True)
class Credentials:
    """What a password check needs, and whether the account may sign in at all."""

    account_id: uuid.UUID
    email: str
    password_hash: str
    locked: bool


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
        has_photo=row["has_photo"],
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
    """The credentials of the account with this normalized email, if it can sign in.

    An account whose deletion was requested is treated as absent: it stops signing in at
    once, with the answers and the timing of an unknown address.
    """
    row = await connection.fetchrow(
        """
        SELECT id, email, password_hash, locked_at IS NOT NULL AS locked FROM accounts
        WHERE lower(email) = lower($1) AND deletion_requested_at IS NULL
        """,
        email,
    )
    return None if row is None else _credentials(row)


async def credentials_of(connection: DbConnection, account_id: uuid.UUID) -> Credentials | None:
    """The credentials of a signed-in account (password change, email change, deletion)."""
    row = await connection.fetchrow(
        """
        SELECT id, email, password_hash, locked_at IS NOT NULL AS locked FROM accounts
        WHERE id = $1 AND deletion_requested_at IS NULL
        """,
        account_id,
    )
    return None if row is None else _credentials(row)


def _credentials(row: asyncpg.Record) -> Credentials:
    return Credentials(
        account_id=row["id"],
        email=row["email"],
        password_hash=row["password_hash"],
        locked=row["locked"],
    )


async def set_password(
    connection: DbConnection, account_id: uuid.UUID, password_hash: str, now: dt.datetime
) -> Account | None:
    """Stores a new hash; leaves the failure count and the lock alone (a reset never unlocks)."""
    row = await connection.fetchrow(
        f"""
        UPDATE accounts SET password_hash = $2, updated_at = $3
        WHERE id = $1 AND deletion_requested_at IS NULL
        RETURNING {ACCOUNT_COLUMNS}
        """,
        account_id,
        password_hash,
        now,
    )
    return None if row is None else account_from_row(row)


async def get_account(connection: DbConnection, account_id: uuid.UUID) -> Account | None:
    """An account by id."""
    row = await connection.fetchrow(
        f"SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1", account_id
    )
    return None if row is None else account_from_row(row)


async def email_taken(connection: DbConnection, email: str) -> bool:
    """Whether an account (any letter case) has this address."""
    taken = await connection.fetchval(
        "SELECT true FROM accounts WHERE lower(email) = lower($1)", email
    )
    return bool(taken)


async def update_profile(
    connection: DbConnection,
    account_id: uuid.UUID,
    changes: dict[str, str | dt.date | None],
    now: dt.datetime,
) -> Account | None:
    """Sets the given profile columns (names come from validation's fixed list, never input)."""
    if not set(changes) <= _PROFILE_COLUMNS:
        raise ValueError("not a profile column")
    assignments = [f"{column} = ${index}" for index, column in enumerate(changes, start=3)]
    row = await connection.fetchrow(
        f"""
        UPDATE accounts SET updated_at = $2, {", ".join(assignments)}
        WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}
        """,
        account_id,
        now,
        *changes.values(),
    )
    return None if row is None else account_from_row(row)


async def set_has_photo(
    connection: DbConnection, account_id: uuid.UUID, has_photo: bool, now: dt.datetime
) -> Account | None:
    """Records whether the account has a photo; None when there is no such account."""
    row = await connection.fetchrow(
        f"""
        UPDATE accounts SET has_photo = $2, updated_at = $3
        WHERE id = $1 AND deletion_requested_at IS NULL
        RETURNING {ACCOUNT_COLUMNS}
        """,
        account_id,
        has_photo,
        now,
    )
    return None if row is None else account_from_row(row)
