"""The AuthService servicer: signup, sign-in, the caller's account and the JWK set.

Methods not overridden here fall through to the generated base class, which raises
NotImplementedError; the kit's ErrorInterceptor answers UNIMPLEMENTED for them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import NoReturn

import asyncpg
import grpc

from services.auth import accounts, sessions
from services.auth.accounts import Account, DbConnection
from services.auth.messages import account_message
from services.auth.metrics import AuthMetrics
from services.auth.password_policy import check_new_password, normalize_password, too_long
from services.auth.passwords import PasswordHashing
from services.auth.validation import normalize_email, validate_signup
from services.common.errors import AlreadyExists, Unauthenticated
from services.common.tokens import Principal, TokenSigner, TokenVerifier, principal_from_context
from trackcc.auth.v1 import auth_service_pb2 as pb
from trackcc.auth.v1 import auth_service_pb2_grpc

logger = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    """Accounts and sessions backed by the auth schema."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        hashing: PasswordHashing,
        signer: TokenSigner,
        verifier: TokenVerifier,
        jwks_json: str,
        clock: Clock,
        metrics: AuthMetrics,
    ) -> None:
        self._pool = pool
        self._hashing = hashing
        self._signer = signer
        self._verifier = verifier
        self._jwks_json = jwks_json
        self._clock = clock
        self._metrics = metrics

    async def CreateAccount(
        self, request: pb.CreateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        fields = validate_signup(request, self._clock().date())
        # zxcvbn is pure Python and can take tens of milliseconds: not on the event loop.
        password = await asyncio.to_thread(check_new_password, request.password, fields.email)
        password_hash = await self._hashing.hash(password)
        async with self._pool.acquire() as connection:
            account = await accounts.insert_account(
                connection, fields, password_hash, self._clock()
            )
        if account is None:
            raise AlreadyExists(
                "an account with this email address exists",
                reason="email_taken",
                field_violations=[("email", "is already registered")],
            )
        logger.info("account created", extra={"account_id": str(account.id)})
        return account_message(account)

    async def CreateSession(
        self, request: pb.CreateSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionTokens:
        # No stored password can be this long, so it cannot match: refuse without the
        # work. This does not depend on the account, so it reveals nothing about it.
        if too_long(request.password):
            self._invalid_credentials()
        email = normalize_email(request.email)
        password = normalize_password(request.password)
        # Connections are released while hashing (two acquires, not one): holding one
        # through the queue for the hash threads would let a sign-in flood drain the pool
        # and starve every read.
        async with self._pool.acquire() as connection:
            credentials = await accounts.find_credentials(connection, email)
        if credentials is None:
            await self._hashing.verify_dummy(password)
            self._invalid_credentials()
        if not await self._hashing.verify(credentials.password_hash, password):
            async with self._pool.acquire() as connection:
                await accounts.record_failed_sign_in(connection, credentials.account_id)
            self._invalid_credentials()
        new_hash = None
        if self._hashing.needs_rehash(credentials.password_hash):
            new_hash = await self._hashing.hash(password)
        refresh = sessions.new_refresh_token()
        async with self._pool.acquire() as connection, connection.transaction():
            account = await accounts.record_successful_sign_in(
                connection, credentials.account_id, credentials.password_hash, new_hash
            )
            if account is None:  # deleted between the check and now
                self._invalid_credentials()
            session_id = await sessions.create_session(
                connection, account.id, refresh.digest, request.user_agent, self._clock()
            )
        access_token = self._signer.issue(
            Principal(
                user_id=str(account.id),
                session_id=str(session_id),
                role=account.role,
                email=account.email,
                email_verified=account.email_verified,
                display_name=account.display_name or "",
            )
        )
        self._metrics.login("success")
        logger.info(
            "signed in", extra={"account_id": str(account.id), "session_id": str(session_id)}
        )
        return pb.SessionTokens(
            access_token=access_token,
            expires_in=self._signer.ttl_seconds,
            refresh_token=refresh.value,
            session_id=str(session_id),
            account=account_message(account),
        )

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        principal = principal_from_context(context, self._verifier)
        async with self._pool.acquire() as connection:
            account = await self._session_account(connection, principal)
        return account_message(account)

    async def GetJwks(
        self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> pb.Jwks:
        return pb.Jwks(json=self._jwks_json)

    async def _session_account(self, connection: DbConnection, principal: Principal) -> Account:
        """The caller's account, if the token's session is still active.

        A valid signature is not enough: a signed-out or revoked session must stop working
        even while its access token has not expired.
        """
        try:
            session_id = uuid.UUID(principal.session_id)
            account_id = uuid.UUID(principal.user_id)
        except ValueError:
            raise Unauthenticated("invalid access token", reason="invalid_token") from None
        account = await sessions.account_of_active_session(
            connection, session_id, account_id, self._clock()
        )
        if account is None:
            raise Unauthenticated("the session has ended", reason="invalid_token")
        return account

    def _invalid_credentials(self) -> NoReturn:
        self._metrics.login("invalid_credentials")
        raise Unauthenticated(
            "the email address or password is wrong", reason="invalid_credentials"
        )
