"""The caller's own account: profile changes, export, and deletion."""

from __future__ import annotations

import logging

import grpc
from google.protobuf import empty_pb2

from services.auth import accounts, audit, deletion_jobs, mails, sessions
from services.auth.messages import account_message, session_message
from services.auth.rpc_base import RpcBase
from services.auth.validation import validate_profile_update
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)


class AccountRpcs(RpcBase):
    """UpdateAccount, ExportAccount, DeleteAccount."""

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        _, account = await self._caller(context)
        return account_message(account)

    async def UpdateAccount(
        self, request: pb.UpdateAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        deps = self._deps
        principal = self._principal(context)
        changes = validate_profile_update(
            request.account, list(request.update_mask.paths), deps.clock().date()
        )
        async with deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
            if not changes:
                return account_message(account)
            updated = await accounts.update_profile(connection, account.id, changes, deps.clock())
        return account_message(updated or account)

    async def SetAccountPhoto(
        self, request: pb.SetAccountPhotoRequest, context: grpc.aio.ServicerContext
    ) -> pb.Account:
        deps = self._deps
        principal = self._principal(context)
        async with deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
            updated = await accounts.set_has_photo(
                connection, account.id, request.has_photo, deps.clock()
            )
        return account_message(updated or account)

    async def ExportAccount(
        self, request: pb.ExportAccountRequest, context: grpc.aio.ServicerContext
    ) -> pb.AccountExport:
        principal = self._principal(context)
        async with self._deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
            rows = await sessions.list_all(connection, account.id)
        return pb.AccountExport(
            account=account_message(account),
            sessions=[session_message(row, principal.session_id) for row in rows],
        )

    async def DeleteAccount(
        self, request: pb.DeleteAccountRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        deps = self._deps
        _, account = await self._caller(context)
        await deps.password_check.confirm(account.id, request.password)
        now = deps.clock()
        async with deps.pool.acquire() as connection, connection.transaction():
            # One transaction: sign-in stops, every session dies, and the durable job and
            # the mail exist, or none of it happened.
            if not await deletion_jobs.request(connection, account.id, account.email, now):
                return empty_pb2.Empty()  # already being deleted: idempotent
            await sessions.revoke_all(connection, account.id, now)
            await audit.record(
                connection,
                event="account_deletion_requested",
                actor=audit.account_actor(account.id),
                subject=account.id,
                now=now,
                reason="requested by the signed-in owner",
            )
            await mails.send(connection, account.email, mails.deletion_started(now), now)
        deps.wake_outbox()
        deps.wake_deletion()
        logger.info("account deletion requested", extra={"account_id": str(account.id)})
        return empty_pb2.Empty()
