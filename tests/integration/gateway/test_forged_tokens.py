"""Access tokens an attacker could send: every one is refused with 401, through the gateway.

The forgeries start from a real token of a real session, so that the only thing wrong with
each is the one thing the test changes: the algorithm, the signature, a claim, or the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.devcerts import DevPki
from services.common.tokens import load_signing_keys
from services.localstack.postgres import PostgresEndpoint
from tests.support.auth_stack import AuthStack, Session, auth_stack, new_user
from tests.support.http_checks import problem_of


@pytest.fixture(scope="module")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("forged-tokens")


@pytest.fixture(scope="module")
async def stack(
    pg_endpoint: PostgresEndpoint, pki: DevPki, keys_dir: Path
) -> AsyncIterator[AuthStack]:
    async with auth_stack(pg_endpoint, pki, keys_dir) as running:
        yield running


@pytest.fixture(scope="module")
async def victim(stack: AuthStack) -> Session:
    _, session = await new_user(stack, "victim")
    return session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload)), signature


def _real_key(keys_dir: Path) -> Ed25519PrivateKey:
    (key,) = load_signing_keys(keys_dir / "jwt")
    assert isinstance(key.private_key, Ed25519PrivateKey)
    return key.private_key


def _signed(claims: dict[str, Any], key: Ed25519PrivateKey, kid: str) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def _alg_none(token: str, keys_dir: Path) -> str:
    header, claims, _ = _parts(token)
    forged_header = {**header, "alg": "none"}
    return f"{_b64(json.dumps(forged_header).encode())}.{_b64(json.dumps(claims).encode())}."


def _hs256_with_the_public_key(token: str, keys_dir: Path) -> str:
    # The classic confusion: the verifier's public key used as an HMAC secret.
    header, claims, _ = _parts(token)
    public = (
        _real_key(keys_dir)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    head = _b64(json.dumps({**header, "alg": "HS256"}).encode())
    body = _b64(json.dumps(claims).encode())
    mac = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def _changed_payload(token: str, keys_dir: Path) -> str:
    header, claims, signature = _parts(token)
    claims["role"] = "support"  # a privilege the account does not have
    return f"{token.split('.')[0]}.{_b64(json.dumps(claims).encode())}.{signature}"


def _resigned(change: Callable[[dict[str, Any]], None]) -> Callable[[str, Path], str]:
    def forge(token: str, keys_dir: Path) -> str:
        header, claims, _ = _parts(token)
        change(claims)
        return _signed(claims, _real_key(keys_dir), header["kid"])

    return forge


def _expired(claims: dict[str, Any]) -> None:
    claims["iat"] = int(time.time()) - 3600
    claims["exp"] = int(time.time()) - 600


def _unknown_kid(token: str, keys_dir: Path) -> str:
    _, claims, _ = _parts(token)
    return _signed(claims, Ed25519PrivateKey.generate(), "not-a-published-kid")


def _right_kid_wrong_key(token: str, keys_dir: Path) -> str:
    header, claims, _ = _parts(token)
    return _signed(claims, Ed25519PrivateKey.generate(), header["kid"])


FORGERIES: dict[str, Callable[[str, Path], str]] = {
    "alg none": _alg_none,
    "HS256 signed with the public key": _hs256_with_the_public_key,
    "payload changed after signing": _changed_payload,
    "expired": _resigned(_expired),
    "another issuer": _resigned(lambda claims: claims.update(iss="https://evil.example")),
    "another audience": _resigned(lambda claims: claims.update(aud="another-service")),
    "unknown kid": _unknown_kid,
    "a published kid, another key": _right_kid_wrong_key,
}


async def test_the_real_token_works(stack: AuthStack, victim: Session) -> None:
    async with stack.http.get("/v1/me", headers=victim.headers) as response:
        assert response.status == 200


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
@pytest.mark.parametrize("path", ["/v1/me", "/v1/classes"])
async def test_a_forged_token_is_refused(
    stack: AuthStack, victim: Session, keys_dir: Path, forgery: str, path: str
) -> None:
    token = str(victim.tokens["access_token"])
    forged = FORGERIES[forgery](token, keys_dir)
    assert forged != token
    async with stack.http.get(path, headers={"Authorization": f"Bearer {forged}"}) as response:
        await problem_of(response, 401, "invalid_token")
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
