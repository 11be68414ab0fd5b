"""Sign-up: CreateAccount, with its Idempotency-Key and the verification mail."""

from __future__ import annotations

import asyncio
import logging
import uuid

import grpc

from services.auth import accounts, mail_tokens, mails
from services.auth.messages import account_message
from services.auth.password_policy import check_new_password
from services.auth.rpc_base import RpcBase
from services.auth.validation import validate_signup
from services.common import idempotency, reasons
from services.common.errors import AlreadyExists
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)

# The operation a sign-up's Idempotency-Key is bound to (services/common/idempotency.py).
CREATE_ACCOUNT = idempotency.operation_name(pb.DESCRIPTOR, "AuthService", "CreateAccount")


def _without_password(request: pb.CreateAccountRequest) -> pb.CreateAccountRequest:
    body = pb.CreateAccountRequest()
    body.CopyFrom(request)
    body.ClearField("password")
    return body


class SignupRpcs(RpcBase):
    """CreateAccount."""

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
                reason=reasons.EMAIL_TAKEN,
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
