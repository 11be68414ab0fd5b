"""ConfirmEmailOwnership: the gateway reports that the caller proved control of an address."""

from __future__ import annotations

import grpc

from services.common.devcerts import DevPki
from tests.support.auth_calls import EMAIL, bearer, sign_in, sign_up
from tests.support.auth_service import RunningAuth
from tests.support.rpc_errors import failure_of
from tests.support.services import client_channel
from trackcc.auth.v1 import auth_service_pb2 as pb
from trackcc.auth.v1 import auth_service_pb2_grpc


async def _verified(auth: RunningAuth, token: str) -> bool:
    account = await auth.stub.GetAccount(pb.GetAccountRequest(), metadata=bearer(token))
    return bool(account.email_verified)


async def test_the_current_address_becomes_verified_and_again_is_a_no_op(
    auth: RunningAuth,
) -> None:
    await sign_up(auth)
    token = (await sign_in(auth)).access_token
    assert not await _verified(auth, token)
    request = pb.ConfirmEmailOwnershipRequest(email=EMAIL.upper())
    await auth.stub.ConfirmEmailOwnership(request, metadata=bearer(token))
    assert await _verified(auth, token)
    await auth.stub.ConfirmEmailOwnership(request, metadata=bearer(token))  # idempotent
    assert await _verified(auth, token)


async def test_another_address_changes_nothing(auth: RunningAuth) -> None:
    await sign_up(auth)
    token = (await sign_in(auth)).access_token
    await auth.stub.ConfirmEmailOwnership(
        pb.ConfirmEmailOwnershipRequest(email="someone.else@example.org"), metadata=bearer(token)
    )
    assert not await _verified(auth, token)


async def test_without_a_session_it_is_unauthenticated(auth: RunningAuth) -> None:
    failure = await failure_of(
        auth.stub.ConfirmEmailOwnership(pb.ConfirmEmailOwnershipRequest(email=EMAIL))
    )
    assert failure.code == grpc.StatusCode.UNAUTHENTICATED


async def test_only_the_gateway_certificate_may_call_it(auth: RunningAuth, pki: DevPki) -> None:
    await sign_up(auth)
    token = (await sign_in(auth)).access_token
    # A service that holds a user's forwarded token (roster here) must not verify addresses.
    async with client_channel(auth.service, pki, as_name="roster") as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        call = stub.ConfirmEmailOwnership(
            pb.ConfirmEmailOwnershipRequest(email=EMAIL), metadata=bearer(token)
        )
        failure = await failure_of(call)
    assert failure.code == grpc.StatusCode.PERMISSION_DENIED
    assert not await _verified(auth, token)
