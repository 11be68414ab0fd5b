"""Small steps the auth integration tests share."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.auth import admin_commands
from tests.support.auth_service import RunningAuth
from trackcc.auth.v1 import auth_service_pb2 as pb

PASSWORD = "violet tundra marmalade 47"
NEW_PASSWORD = "copper lantern oatmeal 93"
EMAIL = "alice.teacher@example.org"
SUPPORT_EMAIL = "sam.support@example.org"


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def sign_up(auth: RunningAuth, email: str = EMAIL, password: str = PASSWORD) -> pb.Account:
    account: pb.Account = await auth.stub.CreateAccount(
        pb.CreateAccountRequest(email=email, password=password, role=pb.ROLE_TEACHER)
    )
    return account


async def sign_in(
    auth: RunningAuth, email: str = EMAIL, password: str = PASSWORD, user_agent: str = ""
) -> pb.SessionTokens:
    tokens: pb.SessionTokens = await auth.stub.CreateSession(
        pb.CreateSessionRequest(email=email, password=password, user_agent=user_agent)
    )
    return tokens


async def support_token(auth: RunningAuth) -> str:
    await admin_commands.create_support(auth.pool, SUPPORT_EMAIL, PASSWORD)
    return (await sign_in(auth, SUPPORT_EMAIL)).access_token


async def fetchval(auth: RunningAuth, sql: str, *args: Any) -> Any:
    async with auth.pool.acquire() as connection:
        return await connection.fetchval(sql, *args)


async def fetch(auth: RunningAuth, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with auth.pool.acquire() as connection:
        return list(await connection.fetch(sql, *args))
