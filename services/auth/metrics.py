"""Domain metrics of the auth service, registered on the registry of the process."""

from __future__ import annotations

from typing import Final, Literal

from prometheus_client import CollectorRegistry, Counter, Histogram

LoginResult = Literal["success", "invalid_credentials", "locked"]
LOGIN_RESULTS: Final[tuple[LoginResult, ...]] = ("success", "invalid_credentials", "locked")

HashOperation = Literal["hash", "verify"]


class AuthMetrics:
    """``trackcc_auth_logins_total{result}``, ``trackcc_auth_lockouts_total`` and
    ``trackcc_password_hash_seconds{operation}``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.logins = Counter(
            "trackcc_auth_logins_total",
            "Sign-in attempts by result.",
            ["result"],
            registry=registry,
        )
        # Present from the start, so rate() and alerts see zeros rather than no series.
        for result in LOGIN_RESULTS:
            self.logins.labels(result)
        self.lockouts = Counter(
            "trackcc_auth_lockouts_total",
            "Accounts (and unknown addresses, which lock alike) locked by failed sign-ins.",
            registry=registry,
        )
        self.password_hash_seconds = Histogram(
            "trackcc_password_hash_seconds",
            "Time spent computing one argon2id hash or verification (excluding queueing).",
            ["operation"],
            buckets=(0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1),
            registry=registry,
        )

    def login(self, result: LoginResult) -> None:
        self.logins.labels(result).inc()

    def lockout(self) -> None:
        self.lockouts.inc()

    def hash_time(self, operation: HashOperation, seconds: float) -> None:
        self.password_hash_seconds.labels(operation).observe(seconds)
