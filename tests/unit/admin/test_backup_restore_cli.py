"""``trackcc-admin backup`` / ``restore``: tools, names, and one-line refusals (no server)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from services.admin import pgtools
from services.admin.backup import default_path, dump_to
from services.admin.cli import main
from services.localstack.errors import StackError

LISTING = """\
;
; Archive created at 2026-11-28 18:22:00 UTC
;     dbname: trackcc
;
5; 2615 16387 SCHEMA - auth trackcc_auth_owner
2849; 0 0 ACL - SCHEMA auth trackcc_auth_owner
6; 2615 16392 SCHEMA - roster trackcc_roster_owner
8; 2615 16397 SCHEMA - sharing trackcc_sharing_owner
236; 1259 16591 TABLE auth schema_migrations trackcc_auth_owner
228; 1259 16498 TABLE roster schema_migrations trackcc_roster_owner
3001; 0 16400 TABLE DATA sharing schema_migrations trackcc_sharing_owner
"""


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def test_the_tools_are_pgservers_own_never_the_systems() -> None:
    dump = pgtools.tool("pg_dump")
    assert dump.parent == pgtools.bin_directory()
    assert dump.parent.parts[-3:] == ("pgserver", "pginstall", "bin")
    assert pgtools.tool("pg_restore").is_file()


@pytest.mark.parametrize(
    ("dsn", "clean", "password"),
    [
        (
            "postgresql://admin:s%40cret@db.example:5432/trackcc?sslmode=require",
            "postgresql://admin@db.example:5432/trackcc?sslmode=require",
            "s@cret",
        ),
        (
            "postgresql://admin@db/trackcc?password=hunter2&sslmode=verify-full",
            "postgresql://admin@db/trackcc?sslmode=verify-full",
            "hunter2",
        ),
        (
            "postgresql://postgres@/trackcc?host=%2Ftmp%2Fpg&port=5432",
            "postgresql://postgres@/trackcc?host=%2Ftmp%2Fpg&port=5432",
            None,
        ),
    ],
)
def test_the_password_leaves_the_dsn_before_it_reaches_a_command_line(
    dsn: str, clean: str, password: str | None
) -> None:
    assert pgtools.split_password(dsn) == (clean, password)


def test_default_backups_are_named_like_the_cronjobs() -> None:
    now = datetime.datetime(
        2026, 11, 28, 17, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
    )
    assert default_path(Path("/data"), now) == Path("/data/backups/trackcc-20261128T160405Z.dump")


def test_a_backup_never_replaces_an_existing_file(tmp_path: Path) -> None:
    earlier = tmp_path / "trackcc.dump"
    earlier.write_bytes(b"an earlier backup")
    with pytest.raises(StackError, match="already exists; choose another --output"):
        dump_to("postgresql://postgres@/trackcc?host=/nowhere", earlier)
    assert earlier.read_bytes() == b"an earlier backup"


def test_a_backup_into_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="does not exist"):
        dump_to("postgresql://postgres@/trackcc?host=/nowhere", tmp_path / "no" / "x.dump")


def test_the_table_of_contents_is_read_by_entry_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgtools, "run_tool", lambda *args, **kwargs: LISTING)
    contents = pgtools.archive_contents(Path("x.dump"))
    assert contents.schemas == {"auth", "roster", "sharing"}
    # "TABLE DATA" is the rows of a table, not a table.
    assert contents.tables == {("auth", "schema_migrations"), ("roster", "schema_migrations")}
    assert contents.has_privileges
    with pytest.raises(
        StackError, match="x.dump is not a TrackCC backup: no migrated schema sharing"
    ):
        pgtools.check_trackcc_archive(Path("x.dump"))


def test_a_dump_without_privileges_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    listing = LISTING.replace("ACL - SCHEMA", "COMMENT - SCHEMA").replace(
        "TABLE DATA sharing", "TABLE sharing"
    )
    monkeypatch.setattr(pgtools, "run_tool", lambda *args, **kwargs: listing)
    with pytest.raises(StackError, match=r"dumped without privileges \(--no-privileges\)"):
        pgtools.check_trackcc_archive(Path("x.dump"))


def test_restore_of_a_file_that_is_no_archive_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "notes.dump"
    bogus.write_text("not a dump\n")
    code, err = _run(["restore", str(bogus), "--into-url", "postgresql://x@nowhere/db"], capsys)
    assert code == 1
    assert err == f"trackcc-admin: {bogus} is not a pg_dump custom-format archive\n"


def test_restore_of_a_missing_file_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(["restore", str(tmp_path / "gone.dump")], capsys)
    assert (code, err) == (1, f"trackcc-admin: {tmp_path / 'gone.dump'}: no such file\n")


def test_restore_role_password_applies_only_to_another_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _run(["restore", str(tmp_path / "x.dump"), "--role-password-stdin"], capsys)
    assert code == 2
    assert "--role-password-stdin needs --into-url" in err


def test_backup_without_a_local_stack_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKCC_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    code, err = _run(["backup", "--output", str(tmp_path / "x.dump")], capsys)
    assert code == 1
    assert err.startswith(f"trackcc-admin: no local database in {tmp_path / 'empty' / 'pg'}")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "empty").exists()  # nothing was created next to nothing
