"""The lease sharing gives an answer, and the wait after a change that takes access away."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.common.config import ConfigError, Env
from services.sharing.config import SharingSettings
from services.sharing.decision_leases import LeasePolicy

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ONE_SECOND = LeasePolicy(1.0)


def _lease(policy: LeasePolicy = ONE_SECOND, **given: object) -> int:
    args: dict[str, object] = {
        "allowed_read": True,
        "grant_ends": None,
        "logged_view_at": NOW - timedelta(minutes=10),
        "logs_view": True,
    }
    args.update(given)
    return policy.lease_ms(NOW, **args)  # type: ignore[arg-type]


def test_an_allowed_read_gets_the_configured_lease() -> None:
    assert _lease() == 1000
    assert _lease(LeasePolicy(0.3)) == 300


def test_denials_writes_and_a_disabled_policy_get_none() -> None:
    assert _lease(allowed_read=False) == 0
    assert _lease(LeasePolicy(0.0)) == 0


def test_the_lease_ends_with_the_grant_that_gave_the_access() -> None:
    assert _lease(grant_ends=NOW + timedelta(milliseconds=250)) == 250
    assert _lease(grant_ends=NOW + timedelta(hours=1)) == 1000
    # Rounded down, never past the end; an ended grant gives nothing.
    assert _lease(grant_ends=NOW + timedelta(microseconds=999)) == 0
    assert _lease(grant_ends=NOW - timedelta(seconds=1)) == 0


def test_a_logged_view_is_leased_only_within_the_hour_its_view_is_logged_in() -> None:
    hour_ends_in = timedelta(milliseconds=400)
    assert _lease(logged_view_at=NOW - timedelta(hours=1) + hour_ends_in) == 400
    # The smaller of the two caps wins.
    assert (
        _lease(
            logged_view_at=NOW - timedelta(hours=1) + hour_ends_in,
            grant_ends=NOW + timedelta(milliseconds=150),
        )
        == 150
    )
    # A view whose mark is not known is not leased; a read that logs nothing has no mark cap.
    assert _lease(logged_view_at=None) == 0
    assert _lease(logged_view_at=None, logs_view=False) == 1000


def test_the_wait_outlasts_the_lease_by_a_margin() -> None:
    assert ONE_SECOND.wait_seconds() == pytest.approx(1.07)
    assert LeasePolicy(0.0).wait_seconds() == 0.0


async def test_outlasting_leases_sleeps_on_the_loop_and_is_cancellable() -> None:
    started = time.monotonic()
    await LeasePolicy(0.1).outlast_leases()
    assert time.monotonic() - started >= 0.1 * 1.05 + 0.02
    waiting = asyncio.create_task(LeasePolicy(30.0).outlast_leases())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


def _settings(tmp_path: Path, lease: str | None) -> SharingSettings:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    values = {"TRACKCC_JWT_JWKS_FILE": str(jwks)}
    if lease is not None:
        values["TRACKCC_SHARING_DECISION_LEASE_SECONDS"] = lease
    return SharingSettings.from_env(Env(values))


def test_the_lease_setting_defaults_to_one_second_and_is_validated_at_start(
    tmp_path: Path,
) -> None:
    assert _settings(tmp_path, None).decision_lease_seconds == 1.0
    assert _settings(tmp_path, "0").decision_lease_seconds == 0.0
    for bad in ("-1", "soon", "2.5"):
        with pytest.raises(ConfigError) as refused:
            _settings(tmp_path, bad)
        assert refused.value.name == "TRACKCC_SHARING_DECISION_LEASE_SECONDS"
