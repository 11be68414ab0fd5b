"""The AuthService servicer: one class assembled from the parts that own each concern.

Signup, the caller's account and the JWK set live here; sign-in and lockout in signin.py,
sessions in session_rpcs.py, email and password flows in email_rpcs.py and
password_rpcs.py, profile, export and deletion in account_rpcs.py, support in
support_rpcs.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import grpc

from services.auth import accounts, mail_tokens, mails
from services.auth.account_rpcs import AccountRpcs
from services.auth.deps import AuthDeps
from services.auth.email_rpcs import EmailRpcs
from services.auth.messages import account_message
from services.auth.password_policy import check_new_password
from services.auth.password_rpcs import PasswordRpcs
from services.auth.session_rpcs import SessionRpcs
from services.auth.support_rpcs import SupportRpcs
from services.auth.validation import validate_signup
from services.common import idempotency
from services.common.errors import AlreadyExists
from trackcc.auth.v1 import auth_service_pb2 as pb
from trackcc.auth.v1 import auth_service_pb2_grpc

logger = logging.getLogger(__name__)

# The operation a sign-up's Idempotency-Key is bound to (services/common/idempotency.py).
CREATE_ACCOUNT = idempotency.operation_name(pb.DESCRIPTOR, "AuthService", "CreateAccount")


def _without_password(request: pb.CreateAccountRequest) -> pb.CreateAccountRequest:
    body = pb.CreateAccountRequest()
    body.CopyFrom(request)
    body.ClearField("password")
    return body


class AuthServicer(
    AccountRpcs,
    EmailRpcs,
    PasswordRpcs,
    SessionRpcs,
    SupportRpcs,
    auth_service_pb2_grpc.AuthServiceServicer,
):
    """Accounts and sessions backed by the auth schema."""

    def __init__(self, deps: AuthDeps, jwks_json: str) -> None:
        super().__init__(deps)
        self._jwks_json = jwks_json

    async def CreateAccount(
        self, request: pb.CreateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        deps = self._deps
        request_id = idempotency.checked_request_id(request.request_id)
        fields = validate_signup(request, deps.clock().date())
        # zxcvbn is pure Python and can take tens of milliseconds: not on the event loop.
        password = await asyncio.to_thread(check_new_password, request.password, fields.email)
        password_hash = await deps.hashing.hash(password)
        now = deps.clock()
        replay: bytes | None = None
        async with deps.pool.acquire() as connection, connection.transaction():
            if request_id:
                replay = await idempotency.claim(
                    connection,
                    idempotency.ANONYMOUS,
                    request_id,
                    CREATE_ACCOUNT,
                    _without_password(request),
                    now,
                )
            account = None
            if replay is None:
                account = await accounts.insert_account(connection, fields, password_hash, now)
            if account is not None:
                # The verification mail commits with the account, or neither exists.
                token = await mail_tokens.issue(
                    connection, "verify_email", account.id, account.email, now
                )
                await mails.send(
                    connection, account.email, mails.verification(deps.public_url, token), now
                )
                reply = account_message(account)
                if request_id:
                    await idempotency.finish(
                        connection, idempotency.ANONYMOUS, request_id, reply.SerializeToString()
                    )
        if replay is not None:
            return await self._replayed_signup(replay, password)
        if account is None:
            raise AlreadyExists(
                "an account with this email address exists",
                reason="email_taken",
                field_violations=[("email", "is already registered")],
            )
        deps.wake_outbox()
        logger.info("account created", extra={"account_id": str(account.id)})
        return reply

    async def _replayed_signup(self, replay: bytes, password: str) -> pb.Account:
        """The first answer to a retried sign-up, to whoever knows its password.

        The key's fingerprint leaves the password out (a fast hash of it would be a
        password-equivalent at rest), so the password is checked here against the account's
        own argon2id hash instead; a different password is a different request.
        """
        first = pb.Account.FromString(replay)
        async with self._deps.pool.acquire() as connection:
            credentials = await accounts.credentials_of(connection, uuid.UUID(first.id))
        if credentials is None or not await self._deps.hashing.verify(
            credentials.password_hash, password
        ):
            raise idempotency.key_reused()
        return first

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        principal = self._principal(context)
        async with self._deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
        return account_message(account)

    async def GetJwks(
        self, request: pb.GetJwksRequest, context: grpc.aio.ServicerContext
    ) -> pb.Jwks:
        return pb.Jwks(json=self._jwks_json)
