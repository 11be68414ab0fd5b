"""Support's methods (role ``support`` only) and the public unlock-request link."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import grpc
from google.protobuf import empty_pb2

from services.auth import audit, lockout, mail_tokens, pagination, support
from services.auth.deps import RpcBase
from services.auth.messages import timestamp
from services.common.errors import InvalidArgument, NotFound
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)

MAX_REASON_LENGTH = 500


def invalid_token() -> InvalidArgument:
    return InvalidArgument("the link is invalid, used or expired", reason="invalid_token")


class SupportRpcs(RpcBase):
    """ListAdminAccounts, UnlockAccount, ListUnlockRequests, CreateUnlockRequest."""

    async def ListAdminAccounts(
        self, request: pb.ListAdminAccountsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAdminAccountsResponse:
        await self._support_account(context)
        size = pagination.page_size(request.page_size)
        position = pagination.decode(request.page_token, 1)
        after = _uuid_or_invalid(position[0]) if position else None
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
                item.lock_time.CopyFrom(timestamp(row.locked_at))
        if len(rows) > size:
            response.next_page_token = pagination.encode(str(rows[size - 1].id))
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
        position = pagination.decode(request.page_token, 2)
        after = None
        if position:
            try:
                after = (dt.datetime.fromisoformat(position[0]), uuid.UUID(position[1]))
            except ValueError:
                raise InvalidArgument("page_token is not valid") from None
        async with self._deps.pool.acquire() as connection:
            rows = await support.list_unlock_requests(connection, limit=size + 1, after=after)
        response = pb.ListUnlockRequestsResponse()
        for row in rows[:size]:
            response.unlock_requests.add(
                id=str(row.id),
                account_id=str(row.account_id),
                email=row.email,
                request_time=timestamp(row.requested_at),
            )
        if len(rows) > size:
            last = rows[size - 1]
            response.next_page_token = pagination.encode(
                last.requested_at.isoformat(), str(last.id)
            )
        return response

    async def CreateUnlockRequest(
        self, request: pb.CreateUnlockRequestRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        now = self._deps.clock()
        async with self._deps.pool.acquire() as connection, connection.transaction():
            spent = await mail_tokens.spend(connection, request.token, ("unlock_request",), now)
            if spent is None:
                raise invalid_token()
            await support.create_unlock_request(connection, spent.account_id, now)
        logger.info("unlock requested", extra={"account_id": str(spent.account_id)})
        return empty_pb2.Empty()


def _uuid_or_invalid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidArgument("page_token is not valid") from None
