"""The password check under the lockout rule: sign-in's, and every other method's that asks
for the current password (change password or email, delete the account).

Wrong passwords count toward the lockout here too (``lockout.py`` holds the rule): a stolen
access token must not become a way to guess the password without limit. The servicer's
mixins get one :class:`PasswordCheck` through the deps object (``rpc_base.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable

import asyncpg

from services.auth import accounts, lockout
from services.auth.accounts import Credentials
from services.auth.metrics import AuthMetrics
from services.auth.password_policy import normalize_password, too_long
from services.auth.passwords import PasswordHashing
from services.common import reasons
from services.common.errors import FailedPrecondition, Unauthenticated
from services.common.timestamps import utc_now

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def _nothing() -> None:
    return None


def invalid_credentials() -> Unauthenticated:
    return Unauthenticated(
        "the email address or password is wrong", reason=reasons.INVALID_CREDENTIALS
    )


def account_locked() -> FailedPrecondition:
    return FailedPrecondition(lockout.LOCKED_MESSAGE, reason=reasons.ACCOUNT_LOCKED)


class PasswordCheck:
    """Checks a password against an account and counts the failures."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        hashing: PasswordHashing,
        metrics: AuthMetrics,
        public_url: str,
        clock: Clock = utc_now,
        wake_outbox: Callable[[], None] = _nothing,
    ) -> None:
        self._pool = pool
        self._hashing = hashing
        self._metrics = metrics
        self._public_url = public_url
        self._clock = clock
        self._wake_outbox = wake_outbox

    async def count_failure(self, credentials: Credentials) -> bool:
        """Counts a wrong password; on the locking failure, mails the notice.

        True: answer account_locked (the lock came before this attempt; the failure that
        locks answers invalid_credentials).
        """
        now = self._clock()
        async with self._pool.acquire() as connection, connection.transaction():
            failure = await lockout.record_account_failure(connection, credentials.account_id, now)
            if failure.just_locked:
                await lockout.on_locked(
                    connection, credentials.account_id, credentials.email, self._public_url, now
                )
        if failure.just_locked:
            self._metrics.lockout()
            self._wake_outbox()
            logger.warning("account locked", extra={"account_id": str(credentials.account_id)})
        return failure.refused_as_locked

    async def confirm(self, account_id: uuid.UUID, password: str) -> Credentials:
        """The caller's credentials once ``password`` is proven right.

        Wrong passwords count toward the lockout here too: a stolen access token must not
        become a way to guess the password without limit.
        """
        if too_long(password):
            raise invalid_credentials()
        async with self._pool.acquire() as connection:
            credentials = await accounts.credentials_of(connection, account_id)
        if credentials is None:
            raise Unauthenticated("the session has ended", reason=reasons.INVALID_TOKEN)
        if credentials.locked:
            raise account_locked()
        if not await self._hashing.verify(credentials.password_hash, normalize_password(password)):
            if await self.count_failure(credentials):
                raise account_locked()
            raise invalid_credentials()
        return credentials
