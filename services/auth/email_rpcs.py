"""Email verification and email change, both confirmed by a link to the address itself, and
ownership proved elsewhere (an invitation accepted from its mailed link), as the gateway says."""

from __future__ import annotations

import logging
import uuid

import asyncpg
import grpc
from google.protobuf import empty_pb2

from services.auth import accounts, audit, mail_tokens, mails
from services.auth.rpc_base import RpcBase
from services.auth.validation import email_problem, normalize_email
from services.common import reasons
from services.common.callers import GATEWAY, require_caller
from services.common.db import DbConnection
from services.common.errors import AlreadyExists, InvalidArgument
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)


def email_taken() -> AlreadyExists:
    return AlreadyExists(
        "an account with this email address exists",
        reason=reasons.EMAIL_TAKEN,
        field_violations=[("new_email", "is already registered")],
    )


class EmailRpcs(RpcBase):
    """VerifyEmail, RequestEmailChange and ConfirmEmailOwnership."""

    async def VerifyEmail(
        self, request: pb.VerifyEmailRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        now = self._deps.clock()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            spent = await mail_tokens.spend(
                connection, request.token, ("verify_email", "change_email"), now
            )
            if spent is None:
                raise mail_tokens.invalid_link()
            if spent.purpose == "verify_email":
                done = await _confirm_current(connection, spent.account_id, spent.email)
            else:
                done = await _change_email(connection, spent.account_id, spent.email)
                if done:
                    await audit.record(
                        connection,
                        event="email_change",
                        actor=audit.account_actor(spent.account_id),
                        subject=spent.account_id,
                        now=now,
                        reason="new address confirmed by its link",
                    )
            if not done:
                raise mail_tokens.invalid_link()
        logger.info("email confirmed", extra={"account_id": str(spent.account_id)})
        return empty_pb2.Empty()

    async def RequestEmailChange(
        self, request: pb.RequestEmailChangeRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        deps = self._deps
        principal = self._principal(context)
        new_email = normalize_email(request.new_email)
        problem = email_problem(new_email)
        if problem:
            raise InvalidArgument(f"new_email {problem}", field_violations=[("new_email", problem)])
        async with deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
        if new_email == account.email:
            raise InvalidArgument(
                "new_email is the current address",
                field_violations=[("new_email", "is the current address")],
            )
        await self._deps.password_check.confirm(account.id, request.password)
        now = deps.clock()
        async with deps.pool.acquire() as connection, connection.transaction():
            if await accounts.email_taken(connection, new_email):
                raise email_taken()
            token = await mail_tokens.issue(connection, "change_email", account.id, new_email, now)
            confirmation = mails.email_change_confirmation(deps.public_url, token)
            await mails.send(connection, new_email, confirmation, now)
            await mails.send(connection, account.email, mails.email_change_notice(), now)
        deps.wake_outbox()
        return empty_pb2.Empty()

    async def ConfirmEmailOwnership(
        self, request: pb.ConfirmEmailOwnershipRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        # Only the gateway learns of such proofs (sharing's AcceptInvitation answer); any
        # other caller, even with the user's token, could otherwise verify any address.
        require_caller(context, GATEWAY)
        principal = self._principal(context)
        email = normalize_email(request.email)
        async with self._deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
            # The proof is about one address: if the account has another one now (an email
            # change confirmed meanwhile), it proves nothing and changes nothing.
            if account.email != email or account.email_verified:
                return empty_pb2.Empty()
            if await _confirm_current(connection, account.id, email):
                logger.info("email ownership confirmed", extra={"account_id": str(account.id)})
        return empty_pb2.Empty()


async def _confirm_current(connection: DbConnection, account_id: uuid.UUID, email: str) -> bool:
    # The link proves the address it was sent to; if the account moved to another address
    # since, it proves nothing about the new one.
    found = await connection.fetchval(
        """
        UPDATE accounts SET email_verified = true, updated_at = now()
        WHERE id = $1 AND email = $2 RETURNING true
        """,
        account_id,
        email,
    )
    return bool(found)


async def _change_email(connection: DbConnection, account_id: uuid.UUID, new_email: str) -> bool:
    try:
        found = await connection.fetchval(
            """
            UPDATE accounts SET email = $2, email_verified = true, updated_at = now()
            WHERE id = $1 AND deletion_requested_at IS NULL RETURNING true
            """,
            account_id,
            new_email,
        )
    except asyncpg.UniqueViolationError:
        # Someone signed up with the address between the request and the confirmation.
        raise email_taken() from None
    return bool(found)
