"""What the local stack reads from the environment, once, before it starts anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.common.config import Env

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class StackSettings:
    """The public port, where data lives, and the values passed through to the components."""

    https_port: int
    metrics_port: int
    data_dir: Path
    database_url: str | None
    rate_limit_per_minute: int | None
    log_level: str

    @property
    def public_url(self) -> str:
        return f"https://localhost:{self.https_port}"

    @classmethod
    def from_env(cls, env: Env) -> StackSettings:
        """Reads and checks every variable; a bad one raises ConfigError naming it."""
        database_url = env.optional_str("DATABASE_URL")
        if database_url is not None:
            env.url("DATABASE_URL", ("postgresql", "postgres"))
        rate_limit = None
        if env.optional_str("TRACKCC_RATE_LIMIT_PER_MINUTE") is not None:
            rate_limit = env.int("TRACKCC_RATE_LIMIT_PER_MINUTE", minimum=1)
        return cls(
            # Port 0 would make the printed URL meaningless, so the range starts at 1.
            https_port=env.int("TRACKCC_HTTPS_PORT", 8443, minimum=1, maximum=65535),
            metrics_port=env.int("TRACKCC_METRICS_PORT", 9464, minimum=1, maximum=65535),
            data_dir=Path(env.str("TRACKCC_DATA_DIR", "var")).resolve(),
            database_url=database_url,
            rate_limit_per_minute=rate_limit,
            log_level=env.choice("TRACKCC_LOG_LEVEL", LOG_LEVELS, "INFO"),
        )
