"""Access tokens verify with the published keys and fail closed otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.tokens import (
    InvalidAccessToken,
    Principal,
    TokenSigner,
    TokenVerifier,
    bearer_token,
    generate_signing_key,
    jwks_document,
    load_signing_keys,
)

ALICE = Principal(
    user_id="u-1", session_id="s-1", role="teacher", email="a@example.org", email_verified=True
)


def _signer(keys_dir: Path, now: float = 1_000_000.0) -> TokenSigner:
    keys = load_signing_keys(keys_dir)
    return TokenSigner(keys, keys[-1].kid, "trackcc", "trackcc-api", 900, clock=lambda: now)


def test_round_trip_and_claims(tmp_path: Path) -> None:
    generate_signing_key(tmp_path)
    keys = load_signing_keys(tmp_path)
    token = TokenSigner(keys, keys[0].kid, "trackcc", "trackcc-api", 900).issue(ALICE)
    verifier = TokenVerifier(jwks_document(keys), "trackcc", "trackcc-api")
    assert verifier.verify(token) == ALICE


def test_expired_token_is_refused(tmp_path: Path) -> None:
    generate_signing_key(tmp_path)
    token = _signer(tmp_path, now=1_000.0).issue(ALICE)
    verifier = TokenVerifier(jwks_document(load_signing_keys(tmp_path)), "trackcc", "trackcc-api")
    with pytest.raises(InvalidAccessToken):
        verifier.verify(token)


def test_unknown_key_wrong_audience_and_tampering_are_refused(tmp_path: Path) -> None:
    generate_signing_key(tmp_path / "a")
    generate_signing_key(tmp_path / "b")
    keys_a = load_signing_keys(tmp_path / "a")
    keys_b = load_signing_keys(tmp_path / "b")
    token = TokenSigner(keys_a, keys_a[0].kid, "trackcc", "trackcc-api", 900).issue(ALICE)
    with pytest.raises(InvalidAccessToken):
        TokenVerifier(jwks_document(keys_b), "trackcc", "trackcc-api").verify(token)
    with pytest.raises(InvalidAccessToken):
        TokenVerifier(jwks_document(keys_a), "trackcc", "other-api").verify(token)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}x.{signature}"
    with pytest.raises(InvalidAccessToken):
        TokenVerifier(jwks_document(keys_a), "trackcc", "trackcc-api").verify(forged)


def test_rotation_keeps_old_tokens_valid_while_the_old_key_is_published(tmp_path: Path) -> None:
    old_key = generate_signing_key(tmp_path)
    old_token = TokenSigner([old_key], old_key.kid, "trackcc", "trackcc-api", 900).issue(ALICE)
    new_key = generate_signing_key(tmp_path / "next")
    both = [old_key, new_key]
    new_token = TokenSigner(both, new_key.kid, "trackcc", "trackcc-api", 900).issue(ALICE)
    published = TokenVerifier(jwks_document(both), "trackcc", "trackcc-api")
    assert published.verify(old_token) == ALICE
    assert published.verify(new_token) == ALICE
    retired = TokenVerifier(jwks_document([new_key]), "trackcc", "trackcc-api")
    with pytest.raises(InvalidAccessToken):
        retired.verify(old_token)


def test_bearer_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None


def test_a_verified_token_is_remembered_until_it_expires_and_forgotten_on_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    import jwt as pyjwt

    key = generate_signing_key(tmp_path)
    token = TokenSigner([key], key.kid, "trackcc", "trackcc-api", 900).issue(ALICE)
    now = [time.time()]
    verifier = TokenVerifier(jwks_document([key]), "trackcc", "trackcc-api", clock=lambda: now[0])
    decodes = 0
    real_decode = pyjwt.decode

    def counting_decode(*args: object, **kwargs: object) -> object:
        nonlocal decodes
        decodes += 1
        return real_decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pyjwt, "decode", counting_decode)
    assert verifier.verify(token) == ALICE
    assert verifier.verify(token) == ALICE
    assert decodes == 1
    # Past the token's own expiry the memo no longer answers: the signature path decides.
    now[0] += 901
    verifier.verify(token)
    assert decodes == 2
    # A rotation that retires the key refuses the token at once, memo or not.
    other = generate_signing_key(tmp_path / "other")
    verifier.replace_keys(jwks_document([other]))
    with pytest.raises(InvalidAccessToken):
        verifier.verify(token)
