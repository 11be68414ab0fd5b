"""What every part of the auth servicer shares: the deps object, built once by service.py,
and the caller's account from the token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import grpc

from services.auth import sessions
from services.auth.accounts import Account
from services.auth.metrics import AuthMetrics
from services.auth.password_check import PasswordCheck
from services.auth.passwords import PasswordHashing
from services.auth.sessions import SessionPolicy
from services.common import reasons
from services.common.callers import token_uuid
from services.common.db import DbConnection
from services.common.errors import PermissionDenied, Unauthenticated
from services.common.tokens import Principal, TokenSigner, Verifier, principal_from_context

Clock = Callable[[], dt.datetime]


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Deps:
    """The pool, hashing, token and mail settings, and the workers' wake-up calls."""

    pool: asyncpg.Pool
    hashing: PasswordHashing
    signer: TokenSigner
    verifier: Verifier
    clock: Clock
    metrics: AuthMetrics
    policy: SessionPolicy
    public_url: str
    email_hmac_key: bytes
    # The password check under the lockout rule, for every method that asks for a password.
    password_check: PasswordCheck
    # The public keys of the access tokens, as GetJwks serves them.
    jwks_json: str
    # Called after a commit that enqueued mail or a deletion job, so delivery starts now
    # rather than at the next poll.
    wake_outbox: Callable[[], None] = _nothing
    wake_deletion: Callable[[], None] = _nothing


class RpcBase:
    """Base of the servicer's parts: holds the shared dependencies."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    def _principal(self, context: grpc.aio.ServicerContext) -> Principal:
        return principal_from_context(context, self._deps.verifier)

    async def _session_account(self, connection: DbConnection, principal: Principal) -> Account:
        """The caller's account, if the token's session is still active.

        A valid signature is not enough: a signed-out or revoked session must stop working
        even while its access token has not expired.
        """
        session_id = token_uuid(principal.session_id)
        account_id = token_uuid(principal.user_id)
        account = await sessions.account_of_active_session(
            connection, session_id, account_id, self._deps.clock(), self._deps.policy
        )
        if account is None:
            raise Unauthenticated("the session has ended", reason=reasons.INVALID_TOKEN)
        return account

    async def _caller(self, context: grpc.aio.ServicerContext) -> tuple[Principal, Account]:
        """The caller's token and account, if the token's session is still active."""
        principal = self._principal(context)
        async with self._deps.pool.acquire() as connection:
            return principal, await self._session_account(connection, principal)

    async def _support_account(self, context: grpc.aio.ServicerContext) -> Account:
        """The caller's account if it is support staff, else PERMISSION_DENIED.

        Both the token's role claim and the stored role must say support, so neither a
        forged claim (impossible without the key) nor a stale one grants the rights.
        """
        principal, account = await self._caller(context)
        if principal.role != "support" or account.role != "support":
            raise PermissionDenied("only support staff may do this", reason=reasons.FORBIDDEN)
        return account
