"""Forgot, reset and change password. None of them unlocks a locked account."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import Final

import grpc
from google.protobuf import empty_pb2

from services.auth import accounts, audit, mail_tokens, mails, sessions
from services.auth.password_policy import check_new_password
from services.auth.rpc_base import RpcBase
from services.auth.validation import normalize_email
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)

# docs/api.md: at most 3 reset mails per account per hour; further requests send nothing.
RESETS_PER_HOUR: Final = 3
_NO_ACCOUNT: Final = uuid.UUID(int=0)


class PasswordRpcs(RpcBase):
    """ForgotPassword, ResetPassword, ChangePassword."""

    async def ForgotPassword(
        self, request: pb.ForgotPasswordRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        deps = self._deps
        email = normalize_email(request.email)
        now = deps.clock()
        sent = False
        # The same statements run whether or not the account exists (an unknown address
        # locks and counts against a nil id), so the answer and its timing say nothing.
        async with deps.pool.acquire() as connection, connection.transaction():
            credentials = await accounts.find_credentials(connection, email[:254])
            account_id = credentials.account_id if credentials else _NO_ACCOUNT
            # The row lock serialises parallel requests, so the throttle cannot be raced.
            await connection.execute("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", account_id)
            recent = await mail_tokens.issued_since(
                connection, account_id, "reset_password", now - dt.timedelta(hours=1)
            )
            if credentials is not None and recent < RESETS_PER_HOUR:
                token = await mail_tokens.issue(
                    connection, "reset_password", account_id, credentials.email, now
                )
                mail = mails.password_reset_link(deps.public_url, token)
                await mails.send(connection, credentials.email, mail, now)
                sent = True
        if sent:
            deps.wake_outbox()
        return empty_pb2.Empty()

    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        deps = self._deps
        async with deps.pool.acquire() as connection:
            owner = await mail_tokens.peek(
                connection, request.token, ("reset_password",), deps.clock()
            )
        if owner is None:
            raise mail_tokens.invalid_link()
        # The policy is checked before the token is spent, so a weak choice can be retried.
        password = await asyncio.to_thread(check_new_password, request.new_password, owner.email)
        password_hash = await deps.hashing.hash(password)
        now = deps.clock()
        async with deps.pool.acquire() as connection, connection.transaction():
            spent = await mail_tokens.spend(connection, request.token, ("reset_password",), now)
            if spent is None:
                raise mail_tokens.invalid_link()
            account = await accounts.set_password(connection, spent.account_id, password_hash, now)
            if account is None:
                raise mail_tokens.invalid_link()
            await mail_tokens.spend_all(connection, account.id, "reset_password", now)
            await sessions.revoke_all(connection, account.id, now)
            await audit.record(
                connection,
                event="password_reset",
                actor=audit.account_actor(account.id),
                subject=account.id,
                now=now,
                reason="reset link from mail",
            )
            await mails.send(connection, account.email, mails.password_was_reset(), now)
        deps.wake_outbox()
        logger.info("password reset", extra={"account_id": str(account.id)})
        return empty_pb2.Empty()

    async def ChangePassword(
        self, request: pb.ChangePasswordRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        deps = self._deps
        principal, account = await self._caller(context)
        await deps.password_check.confirm(account.id, request.current_password)
        password = await asyncio.to_thread(check_new_password, request.new_password, account.email)
        password_hash = await deps.hashing.hash(password)
        now = deps.clock()
        async with deps.pool.acquire() as connection, connection.transaction():
            await accounts.set_password(connection, account.id, password_hash, now)
            await sessions.revoke_all(
                connection, account.id, now, keep=uuid.UUID(principal.session_id)
            )
            await audit.record(
                connection,
                event="password_change",
                actor=audit.account_actor(account.id),
                subject=account.id,
                now=now,
                reason="changed by the signed-in owner",
            )
            await mails.send(connection, account.email, mails.password_changed(), now)
        deps.wake_outbox()
        return empty_pb2.Empty()
