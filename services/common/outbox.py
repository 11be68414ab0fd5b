"""Transactional mail outbox: mail is written with the change that causes it, sent later.

Each service that mails has one table in its schema, created by its own migration::

    CREATE TABLE mail_outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        recipient text NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        last_error text,
        failed_at timestamptz       -- added by a later migration in each schema
    );
    CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

:func:`enqueue` inserts a row inside the caller's transaction, so a mail exists exactly when
its cause committed. :class:`OutboxWorker` claims due rows with ``FOR UPDATE SKIP LOCKED``
(several replicas never send one row twice at once), sends them over SMTP and retries failures
with capped exponential backoff: a mail server that is down delays mail but loses none.
Bodies carry single-use links, so a sent row's body is erased and old sent rows are pruned.

One undeliverable mail never fails a pass nor retries forever: a message that cannot be
built (an address no header can hold), a permanent SMTP refusal (5xx), or a mail still
failing after ``RetryPolicy.max_attempts`` is marked failed (``failed_at``), counted in
``trackcc_mail_outbox_failed_total{reason}``, logged without its address, and its body, which
holds a live token, is erased. Each mail is handled on its own, so the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import aiosmtplib
import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge

from services.common.config import ConfigError, Env
from services.common.db import DbConnection
from services.common.timestamps import utc_now
from services.common.wakeups import wait_for_wake

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


async def enqueue(
    connection: DbConnection,
    *,
    recipient: str,
    subject: str,
    body: str,
    now: datetime,
    table: str = "mail_outbox",
) -> int:
    """Adds a mail to the outbox; call it inside the transaction of the change that causes it."""
    mail_id: int = await connection.fetchval(
        f"INSERT INTO {table} (recipient, subject, body, created_at, next_attempt_at)"
        " VALUES ($1, $2, $3, $4, $4) RETURNING id",
        recipient,
        subject,
        body,
        now,
    )
    return mail_id


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes, whom it comes from, and how we log in to our own mail server."""

    host: str
    port: int
    mail_from: str
    timeout_seconds: float = 10.0
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    # Credentials never cross the network in the clear: with a login, STARTTLS is required.
    start_tls: bool = False

    @classmethod
    def from_env(cls, env: Env) -> SmtpSettings:
        """``TRACKCC_SMTP_HOST``/``_PORT``/``_USERNAME``/``_PASSWORD``/``_STARTTLS`` and
        ``TRACKCC_MAIL_FROM``; a bad value raises ConfigError naming it."""
        mail_from = env.str("TRACKCC_MAIL_FROM", "TrackCC <no-reply@localhost>")
        if "@" not in parseaddr(mail_from)[1]:
            raise ConfigError("TRACKCC_MAIL_FROM", f"must be an email address, got {mail_from!r}")
        username = env.optional_str("TRACKCC_SMTP_USERNAME")
        password = env.optional_str("TRACKCC_SMTP_PASSWORD")
        if (username is None) != (password is None):
            missing = "TRACKCC_SMTP_PASSWORD" if password is None else "TRACKCC_SMTP_USERNAME"
            raise ConfigError(missing, "is required when the other SMTP credential is set")
        start_tls = env.bool("TRACKCC_SMTP_STARTTLS", username is not None)
        if username is not None and not start_tls:
            raise ConfigError("TRACKCC_SMTP_STARTTLS", "must be true when SMTP credentials are set")
        return cls(
            host=env.str("TRACKCC_SMTP_HOST", "127.0.0.1"),
            port=env.int("TRACKCC_SMTP_PORT", 25, minimum=1, maximum=65535),
            mail_from=mail_from,
            username=username,
            password=password,
            start_tls=start_tls,
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff after failed attempts: base * 2**(attempts-1), at most ``cap``."""

    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)
    # A claimed row whose sender died becomes due again after this long.
    lease: timedelta = timedelta(minutes=2)
    # Sent and failed rows (recipient and subject only, bodies are erased) are kept this long.
    keep_sent: timedelta = timedelta(days=1)
    # After this many failed attempts (about a day with the defaults) a mail is given up.
    max_attempts: int = 30

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failure."""
        exponent = min(max(attempts - 1, 0), 20)
        delay: timedelta = min(self.base * (2**exponent), self.cap)
        return delay


@dataclass(frozen=True)
class Permanent:
    """A failure that no retry can fix; ``reason`` is a bounded metric label."""

    reason: str
    error: str


# Failure reasons, the metric's only label values.
UNBUILDABLE = "invalid_message"
REFUSED = "refused"
GAVE_UP = "gave_up"


@dataclass(frozen=True)
class _Claimed:
    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


class OutboxWorker:
    """Delivers the outbox of one schema; ``run_once`` is one deterministic pass."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        smtp: SmtpSettings,
        registry: CollectorRegistry,
        *,
        table: str = "mail_outbox",
        clock: Clock = utc_now,
        retry: RetryPolicy | None = None,
        batch_size: int = 20,
        poll_seconds: float = 2.0,
        smtp_tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self._pool = pool
        self.smtp = smtp
        # None: the system's trust store verifies the mail server's certificate.
        self.smtp_tls_context = smtp_tls_context
        self._table = table
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.pending = Gauge(
            "trackcc_mail_outbox_pending",
            "Mails in the outbox that are not sent yet.",
            registry=registry,
        )
        self.failed = Counter(
            "trackcc_mail_outbox_failed",
            "Mails given up as undeliverable, by reason.",
            ["reason"],
            registry=registry,
        )

    def start(self) -> None:
        """Starts delivering in the background until :meth:`aclose`."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"outbox:{self._table}")

    def wake(self) -> None:
        """Asks the background loop to look now (a mail was just enqueued)."""
        self._wake.set()

    async def aclose(self) -> None:
        """Stops the background loop; unsent mail stays in the table for the next start."""
        if self._task is not None:
            # The flag and the wake-up stop the loop even if a library swallows the cancel
            # (seen: a shutdown hung on a worker whose cancel was lost mid-pass).
            self._stopping = True
            self._wake.set()
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping:
            # Cleared before the pass, never after the wait: a wake() that lands between the
            # wait ending and a clear would be lost, and its mail would wait a whole poll.
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - a failed pass is retried; the loop must live on
                logger.exception("outbox pass failed")
            await wait_for_wake(self._wake, self._poll_seconds)

    async def run_once(self) -> int:
        """Sends every mail due now; returns how many were sent."""
        now = self._clock()
        async with self._pool.acquire() as connection:
            claimed = await self._claim(connection, now)
        sent = 0
        for mail in claimed:
            outcome = await self._send(mail)
            if isinstance(outcome, str) and mail.attempts >= self._retry.max_attempts:
                outcome = Permanent(GAVE_UP, outcome)
            async with self._pool.acquire() as connection:
                if outcome is None:
                    sent += 1
                    await self._mark_sent(connection, mail)
                elif isinstance(outcome, Permanent):
                    await self._mark_failed(connection, mail, outcome)
                else:
                    await self._retry_later(connection, mail, outcome)
        async with self._pool.acquire() as connection:
            await connection.execute(
                f"DELETE FROM {self._table} WHERE sent_at IS NOT NULL AND sent_at < $1"
                " OR failed_at IS NOT NULL AND failed_at < $1",
                now - self._retry.keep_sent,
            )
            pending = await connection.fetchval(
                f"SELECT count(*) FROM {self._table} WHERE sent_at IS NULL AND failed_at IS NULL"
            )
        self.pending.set(pending)
        return sent

    async def _mark_sent(self, connection: DbConnection, mail: _Claimed) -> None:
        await connection.execute(
            f"UPDATE {self._table} SET sent_at = $2, body = '', last_error = NULL WHERE id = $1",
            mail.id,
            self._clock(),
        )

    async def _mark_failed(self, connection: DbConnection, mail: _Claimed, why: Permanent) -> None:
        # The body holds a live token: erased, like a sent one's.
        await connection.execute(
            f"UPDATE {self._table} SET failed_at = $2, body = '', last_error = $3 WHERE id = $1",
            mail.id,
            self._clock(),
            why.error,
        )
        self.failed.labels(why.reason).inc()
        logger.warning(
            "mail undeliverable, given up",
            extra={
                "mail_id": mail.id,
                "attempts": mail.attempts,
                "reason": why.reason,
                "error": why.error,
            },
        )

    async def _retry_later(self, connection: DbConnection, mail: _Claimed, error: str) -> None:
        retry_at = self._clock() + self._retry.delay(mail.attempts)
        await connection.execute(
            f"UPDATE {self._table} SET next_attempt_at = $2, last_error = $3 WHERE id = $1",
            mail.id,
            retry_at,
            error,
        )
        logger.warning(
            "mail delivery failed, will retry",
            extra={"mail_id": mail.id, "attempts": mail.attempts, "error": error},
        )

    async def _claim(self, connection: DbConnection, now: datetime) -> list[_Claimed]:
        # Claiming pushes next_attempt_at out by the lease and commits at once, so no
        # transaction stays open while SMTP talks, and a sender that dies mid-way only
        # delays its rows by the lease.
        rows = await connection.fetch(
            f"""
            UPDATE {self._table} AS o
               SET attempts = o.attempts + 1, next_attempt_at = $2
             WHERE o.id IN (
                   SELECT id FROM {self._table}
                    WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
                    ORDER BY next_attempt_at, id
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED)
            RETURNING o.id, o.recipient, o.subject, o.body, o.attempts
            """,
            now,
            now + self._retry.lease,
            self._batch_size,
        )
        return [_Claimed(**dict(row)) for row in rows]

    def _message(self, mail: _Claimed) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.smtp.mail_from
        message["To"] = mail.recipient
        # One plain address, read back as written: a display name, a list or a comment would
        # send the mail elsewhere, or nowhere (services/common/emails.py keeps such
        # addresses out; rows from before it may hold one).
        parsed = message["To"].addresses
        if len(parsed) != 1 or parsed[0].addr_spec != mail.recipient:
            raise ValueError("the recipient is not one plain address")
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="trackcc")
        message.set_content(mail.body)
        return message

    async def _send(self, mail: _Claimed) -> str | Permanent | None:
        """None when the server took the mail; else why not (naming no address): a text
        for a failure worth retrying, :class:`Permanent` for one that is not."""
        try:
            message = self._message(mail)
        except Exception as error:  # noqa: BLE001 - any header the email package refuses
            return Permanent(UNBUILDABLE, type(error).__name__)
        try:
            await aiosmtplib.send(
                message,
                hostname=self.smtp.host,
                port=self.smtp.port,
                timeout=self.smtp.timeout_seconds,
                username=self.smtp.username,
                password=self.smtp.password,
                start_tls=self.smtp.start_tls,
                tls_context=self.smtp_tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = sorted({refused.code for refused in error.recipients})
            text = f"{type(error).__name__}: {','.join(map(str, codes))}"
            return Permanent(REFUSED, text) if codes and min(codes) >= 500 else text
        except aiosmtplib.SMTPResponseException as error:
            # The SMTP code says enough; the server's text may quote the recipient.
            text = f"{type(error).__name__}: {error.code}"
            # 5xx is the server's "never": a refused recipient or message (RFC 5321).
            refused = error.code >= 500 and not isinstance(error, _OUR_SETUP_ERRORS)
            return Permanent(REFUSED, text) if refused else text
        except Exception as error:  # noqa: BLE001 - retried, and given up after max_attempts
            return type(error).__name__
        return None


# Our own server refusing our login or sender is our setup, not the mail: retry those.
_OUR_SETUP_ERRORS = (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPSenderRefused)
