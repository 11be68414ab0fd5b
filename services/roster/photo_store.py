"""Repository of stored photos: one per student or per account, two renditions each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from services.common.db import DbConnection
from services.roster.photos import ProcessedPhoto


@dataclass(frozen=True)
class Subject:
    """Whose photo: a student's, or an account's own."""

    student_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None

    @property
    def column(self) -> str:
        return "student_id" if self.student_id is not None else "account_id"

    @property
    def id(self) -> uuid.UUID:
        value = self.student_id if self.student_id is not None else self.account_id
        assert value is not None
        return value


@dataclass(frozen=True)
class Stored:
    """One rendition as read for a download; ``data`` is None when the ETag matched."""

    content_type: str
    etag: str
    length: int
    data: bytes | None


async def save(connection: DbConnection, subject: Subject, photo: ProcessedPhoto) -> bool:
    """Stores or replaces the photo; False when the student no longer exists."""
    try:
        await connection.execute(
            f"""
            INSERT INTO photos ({subject.column}, content_type, full_image, full_etag,
                                thumb_image, thumb_etag, width, height)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            ON CONFLICT ({subject.column}) DO UPDATE SET
                content_type = EXCLUDED.content_type,
                full_image = EXCLUDED.full_image, full_etag = EXCLUDED.full_etag,
                thumb_image = EXCLUDED.thumb_image, thumb_etag = EXCLUDED.thumb_etag,
                width = EXCLUDED.width, height = EXCLUDED.height,
                created_at = clock_timestamp()
            """,
            subject.id,
            photo.content_type,
            photo.full.data,
            photo.full.etag,
            photo.thumb.data,
            photo.thumb.etag,
            photo.full.width,
            photo.full.height,
        )
    except asyncpg.ForeignKeyViolationError:
        return False
    return True


async def load(
    connection: DbConnection, subject: Subject, thumb: bool, known_etags: Sequence[str]
) -> Stored | None:
    """A rendition; its bytes are not even read when the client already has them."""
    prefix = "thumb" if thumb else "full"
    record = await connection.fetchrow(
        f"""
        SELECT content_type, {prefix}_etag AS etag, length({prefix}_image) AS length,
               CASE WHEN {prefix}_etag = ANY($2::text[]) OR '*' = ANY($2::text[])
                    THEN NULL ELSE {prefix}_image END AS data
          FROM photos WHERE {subject.column} = $1
        """,
        subject.id,
        list(known_etags),
    )
    if record is None:
        return None
    return Stored(record["content_type"], record["etag"], record["length"], record["data"])


async def delete(connection: DbConnection, subject: Subject) -> bool:
    gone = await connection.fetchval(
        f"DELETE FROM photos WHERE {subject.column} = $1 RETURNING true", subject.id
    )
    return gone is True


async def for_export(
    connection: DbConnection, owner_id: uuid.UUID, budget_bytes: int
) -> dict[str, bytes]:
    """Full-size photos of the owner's students and of the account ("me"), while they fit in
    ``budget_bytes``; the rest are exported as links (``has_photo``)."""
    # The running total is computed from the stored lengths, so photos past the budget are
    # never read from disk.
    records = await connection.fetch(
        """
        WITH mine AS (
            SELECT 'me' AS key, full_image FROM photos WHERE account_id = $1
            UNION ALL
            SELECT p.student_id::text, p.full_image
              FROM photos AS p JOIN students AS s ON s.id = p.student_id
             WHERE s.owner_id = $1
        ), sized AS (
            SELECT key, full_image,
                   sum(octet_length(full_image)) OVER (ORDER BY key = 'me' DESC, key) AS total
              FROM mine
        )
        SELECT key, full_image FROM sized WHERE total <= $2
        """,
        owner_id,
        budget_bytes,
    )
    return {record["key"]: record["full_image"] for record in records}


async def delete_account_photo(connection: DbConnection, account_id: uuid.UUID) -> None:
    await connection.execute("DELETE FROM photos WHERE account_id = $1", account_id)
