"""Access tokens: Ed25519-signed JWTs, their keys, and verification.

auth signs with private keys from a mounted directory (one PEM file per key, the file name
is the ``kid``); every other component verifies with the public JWK set, so a new key can
be published before it signs and an old one kept until its tokens expire.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common import reasons
from services.common.errors import Unauthenticated

ALGORITHM = "EdDSA"
AUTHORIZATION_METADATA = "authorization"
# Verified tokens remembered per process; past this the memo starts over.
_VERIFIED_LIMIT = 50_000


class InvalidAccessToken(Exception):
    """The token is missing, malformed, expired or signed by an unknown key."""


@dataclass(frozen=True)
class Principal:
    """The end user a request acts for, as proven by a verified access token."""

    user_id: str
    session_id: str
    role: str
    # The verified state of the email travels in the token so that sharing can bind an
    # invitation to its address without calling auth (the call graph has no such edge).
    email: str = ""
    email_verified: bool = False
    display_name: str = ""


@dataclass(frozen=True)
class SigningKey:
    """One private key and its id."""

    kid: str
    private_key: Ed25519PrivateKey

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.OKPAlgorithm.to_jwk(self.private_key.public_key())
        )
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return jwk


def load_signing_keys(directory: Path) -> list[SigningKey]:
    """Every ``*.pem`` Ed25519 key in the directory, sorted by kid."""
    keys: list[SigningKey] = []
    for path in sorted(directory.glob("*.pem")):
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path.name} is not an Ed25519 private key")
        keys.append(SigningKey(kid=path.stem, private_key=key))
    return keys


def generate_signing_key(directory: Path) -> SigningKey:
    """Writes a new key named by the date and a random suffix (local stack, rotation drills)."""
    directory.mkdir(parents=True, exist_ok=True)
    kid = time.strftime("%Y%m%d") + "-" + uuid.uuid4().hex[:8]
    key = Ed25519PrivateKey.generate()
    path = directory / f"{kid}.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return SigningKey(kid=kid, private_key=key)


def jwks_document(keys: list[SigningKey]) -> dict[str, Any]:
    """The public JWK set of the keys."""
    return {"keys": [key.public_jwk() for key in keys]}


class TokenSigner:
    """Issues access tokens with the active key."""

    def __init__(
        self,
        keys: list[SigningKey],
        active_kid: str,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        by_kid = {key.kid: key for key in keys}
        if active_kid not in by_kid:
            raise ValueError(f"active signing key {active_kid!r} is not among the keys")
        self._key = by_kid[active_kid]
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def issue(self, principal: Principal) -> str:
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": principal.user_id,
            "sid": principal.session_id,
            "role": principal.role,
            "email": principal.email,
            "email_verified": principal.email_verified,
            "name": principal.display_name,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self._key.private_key, algorithm=ALGORITHM, headers={"kid": self._key.kid}
        )


class Verifier(Protocol):
    """What checks an access token: a :class:`TokenVerifier`, or one that reloads its keys
    (:mod:`services.common.jwks_reload`)."""

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`InvalidAccessToken` otherwise."""
        ...


class TokenVerifier:
    """Verifies access tokens against a JWK set; the set can be replaced on rotation."""

    def __init__(
        self,
        jwks: Mapping[str, Any],
        issuer: str,
        audience: str,
        leeway_seconds: int = 5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        # A client sends the same token with every request for up to 15 minutes; checking its
        # Ed25519 signature each time was a fifth of the gateway's CPU. A token verified once
        # is remembered until its own expiry (revocation is the session check's job).
        self._verified: dict[str, tuple[Principal, float]] = {}
        self.replace_keys(jwks)

    def replace_keys(self, jwks: Mapping[str, Any]) -> None:
        self._verified = {}  # a retired key must stop vouching for its tokens at once
        keys = {}
        for entry in jwks.get("keys", []):
            if entry.get("kid"):
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=ALGORITHM)
        self._keys = keys

    def verify(self, token: str) -> Principal:
        remembered = self._verified.get(token)
        if remembered is not None and self._clock() < remembered[1]:
            return remembered[0]
        principal, expires_at = self._verify_signed(token)
        if len(self._verified) >= _VERIFIED_LIMIT:
            self._verified = {}
        self._verified[token] = (principal, expires_at)
        return principal

    def _verify_signed(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(str(header.get("kid")))
            if key is None:
                raise InvalidAccessToken("unknown signing key")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidAccessToken(str(error)) from None
        principal = Principal(
            user_id=str(claims["sub"]),
            session_id=str(claims["sid"]),
            role=str(claims.get("role", "")),
            email=str(claims.get("email", "")),
            email_verified=claims.get("email_verified") is True,
            display_name=str(claims.get("name", "")),
        )
        return principal, float(claims["exp"])


def load_jwks_file(path: Path) -> dict[str, Any]:
    """Reads a JWK set written by the deployment (a mounted Secret or ConfigMap)."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    # A JWT is ASCII; anything else (header bytes that were not UTF-8 arrive as lone
    # surrogates) is no token, and must not reach a decoder or gRPC metadata.
    if scheme.lower() != "bearer" or not token.strip() or not token.isascii():
        return None
    return token.strip()


def principal_from_context(context: grpc.aio.ServicerContext, verifier: Verifier) -> Principal:
    """The end user of a gRPC call, from the forwarded access token; else UNAUTHENTICATED."""
    metadata = dict(context.invocation_metadata() or ())
    value = metadata.get(AUTHORIZATION_METADATA)
    token = bearer_token(value if isinstance(value, str) else None)
    if token is None:
        raise Unauthenticated("missing access token", reason=reasons.UNAUTHENTICATED)
    try:
        return verifier.verify(token)
    except InvalidAccessToken:
        raise Unauthenticated("invalid access token", reason=reasons.INVALID_TOKEN) from None
