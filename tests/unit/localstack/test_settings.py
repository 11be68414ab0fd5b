"""Local stack settings and the small helpers around them: clear errors, safe defaults."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from services.common.config import ConfigError, Env
from services.localstack.dsn import with_credentials
from services.localstack.ports import free_ports, port_is_free
from services.localstack.settings import StackSettings


def test_defaults_match_the_documented_local_stack() -> None:
    settings = StackSettings.from_env(Env({}))
    assert settings.https_port == 8443
    assert settings.metrics_port == 9464
    assert settings.data_dir == Path("var").resolve()
    assert settings.database_url is None
    assert settings.public_url == "https://localhost:8443"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TRACKCC_HTTPS_PORT", "abc"),
        ("TRACKCC_HTTPS_PORT", "0"),
        ("TRACKCC_METRICS_PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("TRACKCC_RATE_LIMIT_PER_MINUTE", "many"),
    ],
)
def test_a_bad_value_names_its_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        StackSettings.from_env(Env({name: value}))
    assert caught.value.name == name
    assert name in str(caught.value)


def test_a_port_with_a_listener_is_not_free() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free(port)
    assert port_is_free(port)


def test_free_ports_are_distinct() -> None:
    ports = free_ports(6)
    assert len(set(ports)) == 6


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://admin:s3cret@db.example:5433/postgres?sslmode=require",
            "postgresql://trackcc_auth:p%40ss%2Fword@db.example:5433/trackcc?sslmode=require",
        ),
        (
            "postgresql://postgres@/postgres?host=/tmp/pg&port=5432",
            "postgresql://trackcc_auth:p%40ss%2Fword@/trackcc?host=/tmp/pg&port=5432",
        ),
        (
            "postgres://db.example/other",
            "postgres://trackcc_auth:p%40ss%2Fword@db.example/trackcc",
        ),
    ],
)
def test_role_dsns_keep_the_server_and_its_options(url: str, expected: str) -> None:
    assert with_credentials(url, database="trackcc", user="trackcc_auth", password="p@ss/word") == (
        expected
    )


def test_only_the_database_changes_without_a_user() -> None:
    url = "postgresql://admin:s3cret@db.example:5432/postgres"
    assert with_credentials(url, database="trackcc") == (
        "postgresql://admin:s3cret@db.example:5432/trackcc"
    )
