"""A signing key taken out of the JWK set stops vouching for tokens, without a restart.

Roster and sharing follow the JWK set file, as the gateway does (services/common/jwks_reload.py);
the deployment rewrites that file on rotation. A token signed by the retired key is refused
within the verifier's check interval, and a token of the new key is taken.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from services.common.devcerts import DevPki
from services.common.service_main import ServiceDefinition
from services.common.tokens import (
    Principal,
    TokenSigner,
    generate_signing_key,
    jwks_document,
    load_signing_keys,
)
from services.roster.service import DEFINITION as ROSTER
from services.sharing.service import DEFINITION as SHARING
from tests.support.postgres import TestDatabase
from tests.support.services import client_channel, make_jwt_keys, service_env, started_service
from trackcc.roster.v1 import roster_service_pb2, roster_service_pb2_grpc
from trackcc.sharing.v1 import sharing_service_pb2, sharing_service_pb2_grpc

RELOAD_SECONDS = 10.0  # the check interval is 1 s; a loaded machine gets slack, not a sleep


def _token(keys_dir: Path, kid: str) -> str:
    keys = load_signing_keys(keys_dir)
    signer = TokenSigner(keys, kid, "trackcc", "trackcc-api", 900)
    user = str(uuid.uuid4())
    return signer.issue(Principal(user_id=user, session_id=str(uuid.uuid4()), role="teacher"))


Call = Callable[[grpc.aio.Channel, str], Awaitable[object]]


async def _list_classes(channel: grpc.aio.Channel, token: str) -> object:
    stub = roster_service_pb2_grpc.RosterServiceStub(channel)
    return await stub.ListClasses(
        roster_service_pb2.ListClassesRequest(), metadata=(("authorization", f"Bearer {token}"),)
    )


async def _list_invitations(channel: grpc.aio.Channel, token: str) -> object:
    stub = sharing_service_pb2_grpc.SharingServiceStub(channel)
    return await stub.ListInvitations(
        sharing_service_pb2.ListInvitationsRequest(
            direction=sharing_service_pb2.INVITATION_DIRECTION_SENT
        ),
        metadata=(("authorization", f"Bearer {token}"),),
    )


async def _code(call: Call, channel: grpc.aio.Channel, token: str) -> grpc.StatusCode:
    try:
        await call(channel, token)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize(
    ("definition", "call"), [(ROSTER, _list_classes), (SHARING, _list_invitations)],
    ids=["roster", "sharing"],
)  # fmt: skip
async def test_a_retired_key_is_refused_without_a_restart(
    database: TestDatabase, pki: DevPki, tmp_path: Path, definition: ServiceDefinition, call: Call
) -> None:
    keys = make_jwt_keys(tmp_path)
    (old,) = load_signing_keys(keys.keys_dir)
    # Roster asks sharing for lists; nothing answers there, which is a different error.
    extra = {"TRACKCC_ROSTER_SHARING_TARGET": "localhost:1", "TRACKCC_PUBLIC_URL": "https://x.test"}
    env = service_env(definition, database, pki, keys, extra)
    async with started_service(definition, env) as service, client_channel(service, pki) as ch:
        old_token = _token(keys.keys_dir, old.kid)
        assert await _code(call, ch, old_token) != grpc.StatusCode.UNAUTHENTICATED

        new = generate_signing_key(keys.keys_dir)
        (keys.keys_dir / f"{old.kid}.pem").unlink()
        keys.jwks_file.write_text(json.dumps(jwks_document(load_signing_keys(keys.keys_dir))))

        deadline = time.monotonic() + RELOAD_SECONDS
        while await _code(call, ch, old_token) != grpc.StatusCode.UNAUTHENTICATED:
            assert time.monotonic() < deadline, "the retired key is still trusted"
            await asyncio.sleep(0.1)  # a bounded poll for the reload, not a fixed wait
        assert await _code(call, ch, _token(keys.keys_dir, new.kid)) != (
            grpc.StatusCode.UNAUTHENTICATED
        )
