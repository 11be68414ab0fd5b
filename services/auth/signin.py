"""Sign-in (CreateSession) and every other password check, under the lockout rule."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Literal, NoReturn

import grpc

from services.auth import accounts, lockout, sessions
from services.auth.accounts import Account, Credentials
from services.auth.deps import RpcBase
from services.auth.messages import account_message, timestamp
from services.auth.password_policy import normalize_password, too_long
from services.auth.validation import normalize_email
from services.common.errors import FailedPrecondition, Unauthenticated
from services.common.tokens import Principal
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)


def invalid_credentials() -> Unauthenticated:
    return Unauthenticated("the email address or password is wrong", reason="invalid_credentials")


def account_locked() -> FailedPrecondition:
    return FailedPrecondition(lockout.LOCKED_MESSAGE, reason="account_locked")


class SignInRpcs(RpcBase):
    """CreateSession, and the password confirmation that other methods ask for."""

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionTokens:
        deps = self._deps
        # No stored password can be this long, so it cannot match: refuse without the
        # work. This does not depend on the account, so it reveals nothing about it.
        if too_long(request.password):
            self._refuse("invalid_credentials")
        email = normalize_email(request.email)
        password = normalize_password(request.password)
        # Connections are released while hashing (two acquires, not one): holding one
        # through the queue for the hash threads would let a sign-in flood drain the pool
        # and starve every read.
        async with deps.pool.acquire() as connection:
            credentials = await accounts.find_credentials(connection, email)
            unknown_locked = credentials is None and await lockout.unknown_email_locked(
                connection, deps.email_hmac_key, email
            )
        # Locked answers skip the hash for known and unknown addresses alike: same timing,
        # and a flood against a locked account costs no CPU.
        if unknown_locked or (credentials is not None and credentials.locked):
            self._refuse("locked")
        if credentials is None:
            await deps.hashing.verify_dummy(password)
            async with deps.pool.acquire() as connection:
                failure = await lockout.record_unknown_email_failure(
                    connection, deps.email_hmac_key, email, deps.clock()
                )
            if failure.just_locked:
                deps.metrics.lockout()
            self._refuse("locked" if failure.refused_as_locked else "invalid_credentials")
        if not await deps.hashing.verify(credentials.password_hash, password):
            locked = await self._count_failure(credentials)
            self._refuse("locked" if locked else "invalid_credentials")
        return await self._succeed(credentials, password, request.user_agent)

    async def _succeed(
        self, credentials: Credentials, password: str, user_agent: str
    ) -> pb.SessionTokens:
        """Resets the failure count and opens the session, on one connection."""
        deps = self._deps
        new_hash = None
        if deps.hashing.needs_rehash(credentials.password_hash):
            new_hash = await deps.hashing.hash(password)
        refresh = sessions.new_refresh_token()
        now = deps.clock()
        async with deps.pool.acquire() as connection:
            account = await accounts.record_successful_sign_in(
                connection, credentials.account_id, credentials.password_hash, new_hash
            )
            if account is None:
                # A parallel attempt locked it while this password was being checked.
                locked = await lockout.account_locked(connection, credentials.account_id)
            else:
                session_id = await sessions.create_session(
                    connection, account.id, refresh.digest, user_agent, now, deps.policy
                )
        if account is None:
            self._refuse("locked" if locked else "invalid_credentials")
        deps.metrics.login("success")
        logger.info(
            "signed in", extra={"account_id": str(account.id), "session_id": str(session_id)}
        )
        return self._tokens(account, session_id, refresh.value, now + deps.policy.max_age)

    def _tokens(
        self, account: Account, session_id: uuid.UUID, refresh: str, expires_at: dt.datetime
    ) -> pb.SessionTokens:
        signer = self._deps.signer
        access_token = signer.issue(
            Principal(
                user_id=str(account.id),
                session_id=str(session_id),
                role=account.role,
                email=account.email,
                email_verified=account.email_verified,
                display_name=account.display_name or "",
            )
        )
        return pb.SessionTokens(
            access_token=access_token,
            expires_in=signer.ttl_seconds,
            refresh_token=refresh,
            session_id=str(session_id),
            account=account_message(account),
            session_expire_time=timestamp(expires_at),
        )

    async def _count_failure(self, credentials: Credentials) -> bool:
        """Counts a wrong password; on the locking failure, mails the notice.

        True: answer account_locked (the lock came before this attempt; the failure that
        locks answers invalid_credentials).
        """
        deps = self._deps
        now = deps.clock()
        async with deps.pool.acquire() as connection, connection.transaction():
            failure = await lockout.record_account_failure(connection, credentials.account_id, now)
            if failure.just_locked:
                await lockout.on_locked(
                    connection, credentials.account_id, credentials.email, deps.public_url, now
                )
        if failure.just_locked:
            deps.metrics.lockout()
            deps.wake_outbox()
            logger.warning("account locked", extra={"account_id": str(credentials.account_id)})
        return failure.refused_as_locked

    async def _confirm_password(self, account_id: uuid.UUID, password: str) -> Credentials:
        """The caller's credentials once ``password`` is proven right.

        Wrong passwords count toward the lockout here too: a stolen access token must not
        become a way to guess the password without limit.
        """
        if too_long(password):
            raise invalid_credentials()
        async with self._deps.pool.acquire() as connection:
            credentials = await accounts.credentials_of(connection, account_id)
        if credentials is None:
            raise Unauthenticated("the session has ended", reason="invalid_token")
        if credentials.locked:
            raise account_locked()
        if not await self._deps.hashing.verify(
            credentials.password_hash, normalize_password(password)
        ):
            if await self._count_failure(credentials):
                raise account_locked()
            raise invalid_credentials()
        return credentials

    def _refuse(self, result: Literal["locked", "invalid_credentials"]) -> NoReturn:
        if result == "locked":
            self._deps.metrics.login("locked")
            raise account_locked()
        self._deps.metrics.login("invalid_credentials")
        raise invalid_credentials()
