"""Session methods: refresh with rotation, list, sign out, and states for the gateway."""

from __future__ import annotations

import logging
import uuid

import grpc
from google.protobuf import empty_pb2

from services.auth import refresh, sessions
from services.auth.messages import session_message, session_tokens
from services.auth.rpc_base import RpcBase
from services.common import pagination, reasons
from services.common.callers import GATEWAY, require_caller
from services.common.errors import InvalidArgument, NotFound, Unauthenticated
from trackcc.auth.v1 import auth_service_pb2 as pb

logger = logging.getLogger(__name__)

# The only caller allowed to ask about arbitrary sessions (its revocation cache).
# The list a page token belongs to (services/common/pagination.py).
_SESSIONS = "sessions"
MAX_STATE_BATCH = 1000


class SessionRpcs(RpcBase):
    """RefreshSession, ListSessions, DeleteSession, DeleteAllSessions, BatchGetSessionStates."""

    async def RefreshSession(
        self, request: pb.RefreshSessionRequest, context: grpc.aio.ServicerContext
    ) -> pb.SessionTokens:
        deps = self._deps
        new = sessions.new_refresh_token()
        async with deps.pool.acquire() as connection, connection.transaction():
            rotated = await refresh.rotate(
                connection,
                request.refresh_token[:200],
                new.digest,
                request.user_agent,
                deps.clock(),
                deps.policy,
            )
        if rotated is None:
            raise Unauthenticated("the refresh token is invalid", reason=reasons.INVALID_TOKEN)
        return session_tokens(
            deps.signer, rotated.account, rotated.session_id, new.value, rotated.expires_at
        )

    async def ListSessions(
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSessionsResponse:
        deps = self._deps
        principal = self._principal(context)
        size = pagination.page_size(request.page_size)
        after = pagination.time_uuid_key(request.page_token, _SESSIONS)
        async with deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
            rows = await sessions.list_active(
                connection, account.id, deps.clock(), deps.policy, size + 1, after
            )
        page, next_token = pagination.time_page(
            rows, size, _SESSIONS, lambda row: (row.created_at, row.id)
        )
        return pb.ListSessionsResponse(
            sessions=[session_message(row, principal.session_id) for row in page],
            next_page_token=next_token,
        )

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        principal = self._principal(context)
        target = principal.session_id if request.session_id == "current" else request.session_id
        async with self._deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
            try:
                session_id = uuid.UUID(target)
            except ValueError:
                raise NotFound("no such session") from None
            # Scoped to the caller's account: another user's session id is simply not found.
            if not await sessions.revoke(connection, account.id, session_id, self._deps.clock()):
                raise NotFound("no such session")
        return empty_pb2.Empty()

    async def DeleteAllSessions(
        self, request: pb.DeleteAllSessionsRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        principal = self._principal(context)
        async with self._deps.pool.acquire() as connection:
            account = await self._session_account(connection, principal)
            await sessions.revoke_all(connection, account.id, self._deps.clock())
        return empty_pb2.Empty()

    async def BatchGetSessionStates(
        self, request: pb.BatchGetSessionStatesRequest, context: grpc.aio.ServicerContext
    ) -> pb.BatchGetSessionStatesResponse:
        require_caller(context, GATEWAY)
        if len(request.session_ids) > MAX_STATE_BATCH:
            raise InvalidArgument(
                f"at most {MAX_STATE_BATCH} session ids per call",
                field_violations=[("session_ids", f"more than {MAX_STATE_BATCH}")],
            )
        ids = []
        for text in request.session_ids:
            try:
                ids.append(uuid.UUID(text))
            except ValueError:
                continue  # not a session id: not active, which is the answer
        async with self._deps.pool.acquire() as connection:
            active = await sessions.active_ids(
                connection, ids, self._deps.clock(), self._deps.policy
            )
        return pb.BatchGetSessionStatesResponse(active_session_ids=[str(i) for i in active])
