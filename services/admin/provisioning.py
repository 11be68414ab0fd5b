"""``trackcc-admin provision``: the database, roles and schemas, with a superuser's DSN."""

from __future__ import annotations

from services.localstack.database import provision_database


async def provision_command(admin_url: str, database: str, role_password: str | None) -> str:
    """Provisions idempotently; returns a summary naming the roles (never their password)."""
    roles = await provision_database(admin_url, role_password, database)
    lines = [f"database {database}:"]
    lines += [f"  schema {r.schema}: owner {r.owner}, runtime {r.runtime}" for r in roles]
    if role_password is None:
        lines.append("  role passwords unchanged (use --role-password-stdin to set them)")
    return "\n".join(lines) + "\n"
