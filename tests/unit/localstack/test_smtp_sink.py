"""The SMTP sink: what a service sends over SMTP ends up as one .eml file, whole."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from services.localstack.smtp_sink import start_smtp_sink


def _message(subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "TrackCC <no-reply@localhost>"
    message["To"] = "teacher@example.com"
    message["Subject"] = subject
    message.set_content(body)
    return message


def _files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _subject(path: Path) -> str:
    return str(email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Subject"])


async def test_a_sent_message_becomes_one_eml_file_with_its_content(tmp_path: Path) -> None:
    sink = await start_smtp_sink(tmp_path, "127.0.0.1", 0)
    try:
        link = "https://localhost:8443/verify?token=abc123"
        await aiosmtplib.send(
            _message("Verify your email", f"Open {link}"), hostname="127.0.0.1", port=sink.port
        )
    finally:
        await sink.stop()

    files = _files(tmp_path)
    assert [f.suffix for f in files] == [".eml"]  # no temporary file left beside it
    stored = email.message_from_bytes(_read(files[0]), policy=email.policy.default)
    assert stored["Subject"] == "Verify your email"
    assert stored["To"] == "teacher@example.com"
    assert isinstance(stored, EmailMessage)
    body = stored.get_body()
    assert body is not None and link in body.get_content()


async def test_each_message_gets_its_own_file_in_arrival_order(tmp_path: Path) -> None:
    sink = await start_smtp_sink(tmp_path, "127.0.0.1", 0)
    try:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port) as client:
            for number in range(3):
                await client.send_message(_message(f"message {number}", "hello"))
    finally:
        await sink.stop()

    subjects = [_subject(path) for path in _files(tmp_path)]
    assert subjects == ["message 0", "message 1", "message 2"]


async def test_a_stopped_sink_refuses_connections(tmp_path: Path) -> None:
    sink = await start_smtp_sink(tmp_path, "127.0.0.1", 0)
    await sink.stop()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await aiosmtplib.send(_message("late", "x"), hostname="127.0.0.1", port=sink.port)
    assert _files(tmp_path) == []


async def test_a_sink_started_again_takes_mail_on_the_same_port(tmp_path: Path) -> None:
    sink = await start_smtp_sink(tmp_path, "127.0.0.1", 0)
    port = sink.port
    await sink.stop()
    assert not sink.running
    await sink.start()
    try:
        assert sink.running and sink.port == port
        await aiosmtplib.send(_message("after the restart", "x"), hostname="127.0.0.1", port=port)
    finally:
        await sink.stop()
    assert [_subject(path) for path in _files(tmp_path)] == ["after the restart"]
