"""Operations end to end on one running stack: live metrics, then the backup-and-restore drill.

One stack is started for the module (a start costs seconds) and filled through the API: a
teacher, a class, a student, an enrollment, a photo. The metrics test scrapes every process
of it; the drill then backs it up with ``trackcc-admin backup``, stops it, restores into a
fresh data directory with its own embedded PostgreSQL, starts the services there and reads
everything back. The tests run in file order: the drill stops the shared stack.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.roster_access import RosterApi, RosterSnapshot, jpeg_photo
from tests.e2e.stack import (
    REPO,
    RunningStack,
    assert_nothing_left,
    running_stack,
    sign_in,
    sign_up,
    temporary_data_dir,
)
from tests.support.helm_chart import FULLNAME, by_name, manifests
from tests.support.metrics import (
    KUBE_STATE_METRICS,
    TARGET_LABELS,
    exported_series,
    scraped_series,
)
from tests.support.promql import series_in

pytestmark = pytest.mark.e2e

ADMIN = Path(sys.executable).parent / "trackcc-admin"


@dataclass(frozen=True)
class Source:
    """The first stack and what was written to it through the API."""

    stack: RunningStack
    email: str
    token: str
    account: dict[str, Any]
    class_id: str
    student_id: str
    upload_etag: str
    before: RosterSnapshot


@pytest.fixture(scope="module")
def source() -> Iterator[Source]:
    with temporary_data_dir() as data_dir, running_stack(data_dir, "source") as stack:
        email = f"drill-{uuid.uuid4().hex[:10]}@example.com"
        sign_up(stack, email)
        token = sign_in(stack, email)
        status, _, body = stack.request("GET", "/v1/me", token=token)
        assert status == 200, body
        roster = RosterApi(stack)
        class_id = roster.create_class(token, "Biology 7B", "2026 autumn")
        student_id = roster.create_student(token, "Ada L.", "2014-03-01", "allergic to pollen")
        roster.enroll(token, class_id, student_id)
        etag = roster.upload_photo(token, student_id, jpeg_photo())
        before = roster.snapshot(token, class_id, student_id)
        yield Source(stack, email, token, json.loads(body), class_id, student_id, etag, before)
        if stack.process.poll() is None:
            stack.stop()
        assert_nothing_left(data_dir)


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text: str = response.read().decode()
    return text


def _alert_series() -> dict[str, dict[str, set[str]]]:
    """Alert name -> series it names -> labels its selectors match on (kube-state excluded)."""
    rule = by_name(manifests("default"), "PrometheusRule", FULLNAME)
    found: dict[str, dict[str, set[str]]] = {}
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            series = series_in(alert["expr"])
            found[alert["alert"]] = {
                name: labels for name, labels in series.items() if name not in KUBE_STATE_METRICS
            }
    return found


def test_every_series_the_alerts_name_is_exported_by_a_live_process(source: Source) -> None:
    stack = source.stack
    assert stack.process.poll() is None, "the drill stopped the shared stack before this test"
    # Labelled series appear only after their first event: a failed sign-in as well.
    status, _, _ = stack.request(
        "POST", "/v1/sessions", {"email": source.email, "password": "not the password at all"}
    )
    assert status == 401
    sign_in(stack, source.email)

    ports = stack.ports()["metrics"]
    assert set(ports) == {"gateway", "auth", "roster", "sharing"}
    scrapes = {name: _scrape(port) for name, port in ports.items()}
    live = scraped_series(scrapes.values())

    alert_series = _alert_series()
    assert any(alert_series.values()), "the rules name no TrackCC series: nothing was checked"
    problems = []
    for alert, series in alert_series.items():
        for name, labels in series.items():
            if name not in live:
                problems.append(f"{alert}: {name} is exported by none of {sorted(scrapes)}")
            elif missing := labels - live[name] - TARGET_LABELS:
                problems.append(f"{alert}: {name} has no label {sorted(missing)}")
    # The static list that tests/helm checks the chart against must match the processes.
    for name, listed in exported_series().items():
        if name not in live:
            problems.append(f"tests/support/metrics.py: {name} is not exported")
        elif listed != live[name]:
            problems.append(
                f"tests/support/metrics.py: {name} has labels {sorted(listed)}, "
                f"live {sorted(live[name])}"
            )
    assert problems == []


def _admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["TRACKCC_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [str(ADMIN), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_secrets(source: Path, target: Path) -> None:
    # The dump holds no keys: the TLS material and the JWT signing keys are secrets, backed
    # up separately. Copying the signing keys keeps issued access tokens valid.
    shutil.copytree(source / "tls", target / "tls")
    (target / "keys").mkdir(mode=0o700)
    shutil.copytree(source / "keys" / "jwt", target / "keys" / "jwt")


def _without_base_url(snapshot: RosterSnapshot, base_url: str) -> RosterSnapshot:
    # Photo links are built from the public URL, and the restored stack has another port.
    student = dict(snapshot.student)
    if isinstance(student.get("photo_url"), str):
        student["photo_url"] = student["photo_url"].removeprefix(base_url)
    return RosterSnapshot(
        snapshot.school_class, student, snapshot.enrolled, snapshot.full, snapshot.thumb
    )


def test_a_backup_restores_into_a_fresh_database_with_every_record_and_photo(
    source: Source,
) -> None:
    before = source.before
    assert before.school_class["name"] == "Biology 7B"
    assert before.student["display_name"] == "Ada L."
    assert before.enrolled == (source.student_id,)
    assert before.full.etag.strip('"') == source.upload_etag.strip('"')
    assert before.full.content_type == "image/jpeg" and before.full.data[:2] == b"\xff\xd8"
    assert before.thumb.data and before.thumb.etag != before.full.etag

    # A hot backup of the running stack, as an operator would take it.
    result = _admin(source.stack.data_dir, "backup")
    assert result.returncode == 0, result.stderr
    dump = Path(result.stdout.split(" (")[0])
    assert dump.parent == source.stack.data_dir / "backups"
    assert dump.name.startswith("trackcc-") and dump.name.endswith(".dump")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert result.stdout.strip().endswith("KiB)") or result.stdout.strip().endswith("MiB)")
    assert [p.name for p in dump.parent.iterdir()] == [dump.name]  # no partial file left

    assert source.stack.stop() == 0
    old_url = source.stack.base_url

    with temporary_data_dir() as fresh:
        _copy_secrets(source.stack.data_dir, fresh)
        kept = fresh.parent / f"{fresh.name}.dump"
        shutil.copy2(dump, kept)
        try:
            result = _admin(fresh, "restore", str(kept))
            assert result.returncode == 0, result.stderr
            assert f"restored {kept} into database trackcc:" in result.stdout
            assert "auth: migrations up to" in result.stdout

            with running_stack(fresh, "restored") as stack:
                # The same password signs in, and a token issued before the backup still works.
                token = sign_in(stack, source.email)
                status, _, body = stack.request("GET", "/v1/me", token=source.token)
                assert status == 200, body
                assert json.loads(body) == source.account
                roster = RosterApi(stack)
                after = roster.snapshot(token, source.class_id, source.student_id)
                assert _without_base_url(after, stack.base_url) == _without_base_url(
                    before, old_url
                )
                assert after.full.data == before.full.data
                assert roster.photo_not_modified(token, source.student_id, before.full.etag)

                # Restoring again over the data is refused, in one line, and changes nothing.
                again = _admin(fresh, "restore", str(kept))
                assert again.returncode == 1
                assert again.stderr.splitlines() == [
                    "trackcc-admin: database 'trackcc' is not empty (it holds auth.accounts, "
                    "auth.audit_log, auth.audit_log_id_seq); restore only into a fresh "
                    "database, nothing was changed"
                ]
                assert sign_in(stack, source.email)
                assert stack.stop() == 0
            assert_nothing_left(fresh)
        finally:
            kept.unlink(missing_ok=True)
