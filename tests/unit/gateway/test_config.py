"""Settings: defaults, and errors that name the variable."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from services.common.config import ConfigError, Env
from services.common.devcerts import ensure_dev_pki
from services.common.tls import GrpcTarget
from services.gateway.config import GatewaySettings
from services.gateway.server import https_context


def _env(tmp_path: Path, **extra: str) -> Env:
    pki = ensure_dev_pki(tmp_path / "tls", ("gateway",))
    leaf = pki.leaf("gateway")
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    values = {
        "TRACKCC_GATEWAY_HTTPS_CERT": str(leaf.cert),
        "TRACKCC_GATEWAY_HTTPS_KEY": str(leaf.key),
        "TRACKCC_GATEWAY_TLS_CERT": str(leaf.cert),
        "TRACKCC_GATEWAY_TLS_KEY": str(leaf.key),
        "TRACKCC_GATEWAY_TLS_CA": str(leaf.ca),
        "TRACKCC_JWT_JWKS_FILE": str(jwks),
    }
    values.update(extra)
    return Env(values)


def test_defaults(tmp_path: Path) -> None:
    settings = GatewaySettings.from_env(_env(tmp_path))
    assert settings.listen == ("127.0.0.1", 8443)
    assert settings.metrics_listen == ("127.0.0.1", 9464)
    assert settings.auth_target == GrpcTarget("localhost:50051")
    assert settings.roster_target == GrpcTarget("localhost:50052")
    assert settings.sharing_target == GrpcTarget("localhost:50053")
    assert settings.grpc_timeout_seconds == 5.0
    assert settings.max_body_bytes == 65536
    assert settings.rate_limit_per_minute == 30
    assert settings.public_url == "https://localhost:8443"
    assert (settings.jwt_issuer, settings.jwt_audience) == ("trackcc", "trackcc-api")
    assert settings.session_cache_seconds == 30
    assert settings.shutdown_grace_seconds == 10.0


def test_shutdown_grace_is_read_as_the_chart_sets_it(tmp_path: Path) -> None:
    # deploy/helm/trackcc/templates/_component.tpl sets it for every component, the gateway too.
    env = _env(tmp_path, TRACKCC_GATEWAY_SHUTDOWN_GRACE_SECONDS="25")
    assert GatewaySettings.from_env(env).shutdown_grace_seconds == 25.0


def test_session_cache_time_is_read(tmp_path: Path) -> None:
    env = _env(tmp_path, TRACKCC_GATEWAY_SESSION_CACHE_SECONDS="60")
    assert GatewaySettings.from_env(env).session_cache_seconds == 60


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRACKCC_GATEWAY_LISTEN", "nonsense"),
        ("TRACKCC_GATEWAY_ROSTER_TARGET", "roster"),
        ("TRACKCC_RATE_LIMIT_PER_MINUTE", "lots"),
        ("TRACKCC_PUBLIC_URL", "http://plain.example"),
        ("TRACKCC_JWT_JWKS_FILE", "/no/such/file"),
        # A revoked session's token must stop working within 60 s (docs/api.md).
        ("TRACKCC_GATEWAY_SESSION_CACHE_SECONDS", "61"),
        ("TRACKCC_GATEWAY_SESSION_CACHE_SECONDS", "-1"),
    ],
)
def test_bad_value_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        GatewaySettings.from_env(_env(tmp_path, **{name: value}))
    assert raised.value.name == name


def test_https_context_allows_tls_1_2_and_up_only(tmp_path: Path) -> None:
    context = https_context(GatewaySettings.from_env(_env(tmp_path)))
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.maximum_version in (ssl.TLSVersion.MAXIMUM_SUPPORTED, ssl.TLSVersion.TLSv1_3)


def test_trusted_proxies_are_none_by_default_and_validated(tmp_path: Path) -> None:
    assert GatewaySettings.from_env(_env(tmp_path)).trusted_proxies == ()
    settings = GatewaySettings.from_env(
        _env(tmp_path, TRACKCC_GATEWAY_TRUSTED_PROXIES="10.0.0.0/8, 2001:db8::/32,192.0.2.1")
    )
    assert [str(net) for net in settings.trusted_proxies] == [
        "10.0.0.0/8",
        "2001:db8::/32",
        "192.0.2.1/32",
    ]
    with pytest.raises(ConfigError) as raised:
        GatewaySettings.from_env(_env(tmp_path, TRACKCC_GATEWAY_TRUSTED_PROXIES="10.0.0.0/33"))
    assert raised.value.name == "TRACKCC_GATEWAY_TRUSTED_PROXIES"


def test_a_target_may_name_the_certificate_it_expects(tmp_path: Path) -> None:
    settings = GatewaySettings.from_env(
        _env(
            tmp_path,
            TRACKCC_GATEWAY_ROSTER_TARGET="127.0.0.1:7001",
            TRACKCC_GATEWAY_ROSTER_SERVER_NAME="roster",
        )
    )
    assert settings.roster_target == GrpcTarget("127.0.0.1:7001", "roster")
    assert settings.auth_target.server_name is None
