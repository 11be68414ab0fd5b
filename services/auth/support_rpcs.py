"""Support's methods (role ``support`` only) and the public unlock-request link."""

from __future__ import annotations

import logging
import uuid

import grpc
from google.protobuf import empty_pb2

from services.auth import audit, lockout, mail_tokens, support
from services.auth.rpc_base import RpcBase
from services.common import pagination
from services.common.errors import InvalidArgument, NotFound
from services.common.timestamps import to_timestamp
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)

MAX_REASON_LENGTH = 500
# The lists a page token belongs to (services/common/pagination.py).
_ACCOUNTS = "admin-accounts"
_UNLOCK_REQUESTS = "unlock-requests"


class SupportRpcs(RpcBase):
    """ListAdminAccounts, UnlockAccount, ListUnlockRequests, CreateUnlockRequest."""

    async def ListAdminAccounts(
        self, request: pb.ListAdminAccountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAdminAccountsResponse:
        await self._support_account(context)
        size = pagination.page_size(request.page_size)
        keys = pagination.scoped_keys(request.page_token, _ACCOUNTS, 1)
        after = pagination.token_uuid(keys[0]) if keys else None
        async with self._deps.pool.acquire() as connection:
            rows = await support.list_accounts(
                connection, locked_only=request.locked_only, limit=size + 1, after=after
            )
        response = pb.ListAdminAccountsResponse()
        for row in rows[:size]:
            item = response.accounts.add(
                id=str(row.id), email=row.email, failed_attempts=row.failed_attempts
            )
            if row.locked_at is not None:
                item.lock_time.CopyFrom(to_timestamp(row.locked_at))
        if len(rows) > size:
            response.next_page_token = pagination.encode_token(_ACCOUNTS, str(rows[size - 1].id))
        return response

    async def UnlockAccount(
        self, request: pb.UnlockAccountRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        staff = await self._support_account(context)
        reason = request.reason.strip()
        if not reason or len(reason) > MAX_REASON_LENGTH:
            raise InvalidArgument(
                "a reason is required",
                field_violations=[("reason", f"must be 1 to {MAX_REASON_LENGTH} characters")],
            )
        try:
            account_id = uuid.UUID(request.account_id)
        except ValueError:
            raise NotFound("no such account") from None
        async with self._deps.pool.acquire() as connection, connection.transaction():
            found = await lockout.unlock(
                connection,
                account_id,
                actor=audit.account_actor(staff.id),
                reason=reason,
                now=self._deps.clock(),
            )
        if not found:
            raise NotFound("no such account")
        logger.info("account unlocked", extra={"account_id": str(account_id)})
        return empty_pb2.Empty()

    async def ListUnlockRequests(
        self, request: pb.ListUnlockRequestsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUnlockRequestsResponse:
        await self._support_account(context)
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, _UNLOCK_REQUESTS)
        async with self._deps.pool.acquire() as connection:
            rows = await support.list_unlock_requests(connection, limit=size + 1, after=after)
        page, next_token = pagination.time_page(
            rows, size, _UNLOCK_REQUESTS, lambda row: (row.requested_at, row.id)
        )
        response = pb.ListUnlockRequestsResponse(next_page_token=next_token)
        for row in page:
            response.unlock_requests.add(
                id=str(row.id),
                account_id=str(row.account_id),
                email=row.email,
                request_time=to_timestamp(row.requested_at),
            )
        return response

    async def CreateUnlockRequest(
        self, request: pb.CreateUnlockRequestRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        now = self._deps.clock()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            spent = await mail_tokens.spend(connection, request.token, ("unlock_request",), now)
            if spent is None:
                raise mail_tokens.invalid_link()
            await support.create_unlock_request(connection, spent.account_id, now)
        logger.info("unlock requested", extra={"account_id": str(spent.account_id)})
        return empty_pb2.Empty()
