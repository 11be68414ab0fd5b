"""Sign-in (CreateSession), under the lockout rule (``lockout.py``); the password check that
other methods ask for is ``password_check.py``, shared with them through the deps object."""

from __future__ import annotations

import logging
from typing import Literal, NoReturn

import grpc

from services.auth import accounts, lockout, sessions
from services.auth.accounts import Credentials
from services.auth.messages import session_tokens
from services.auth.password_check import account_locked, invalid_credentials
from services.auth.password_policy import normalize_password, too_long
from services.auth.rpc_base import RpcBase
from services.auth.validation import normalize_email
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)


class SignInRpcs(RpcBase):
    """CreateSession."""

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
            locked = await self._deps.password_check.count_failure(credentials)
            self._refuse("locked" if locked else "invalid_credentials")
        return await self._succeed(credentials, password, request.user_agent)

    async def _succeed(
        self, credentials: Credentials, password: str, user_agent: str
    ) -> pb.SessionTokens:
        """Resets the failure count and opens the session, in one statement."""
        deps = self._deps
        new_hash = None
        if deps.hashing.needs_rehash(credentials.password_hash):
            new_hash = await deps.hashing.hash(password)
        refresh = sessions.new_refresh_token()
        now = deps.clock()
        async with deps.pool.acquire() as connection:
            opened = await sessions.open_after_sign_in(
                connection,
                credentials.account_id,
                credentials.password_hash,
                new_hash,
                refresh.digest,
                user_agent,
                now,
                deps.policy,
            )
            if opened is None:
                # A parallel attempt locked it while this password was being checked.
                locked = await lockout.account_locked(connection, credentials.account_id)
        if opened is None:
            self._refuse("locked" if locked else "invalid_credentials")
        account, session_id = opened
        deps.metrics.login("success")
        logger.info(
            "signed in", extra={"account_id": str(account.id), "session_id": str(session_id)}
        )
        return session_tokens(
            deps.signer, account, session_id, refresh.value, now + deps.policy.max_age
        )

    def _refuse(self, result: Literal["locked", "invalid_credentials"]) -> NoReturn:
        if result == "locked":
            self._deps.metrics.login("locked")
            raise account_locked()
        self._deps.metrics.login("invalid_credentials")
        raise invalid_credentials()
