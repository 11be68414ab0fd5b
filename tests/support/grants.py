"""A grant made the way a person makes one: invite through the gateway, read the token from
the mail, sign up with the invited address and accept."""

from __future__ import annotations

from typing import Any

from tests.support.roster_calls import call, new_user
from tests.support.sharing_stack import SharingStack, User, mailed_token, new_email


async def granted(
    stack: SharingStack, owner: User, path: str, relation: str, role: str = "guardian"
) -> tuple[User, dict[str, Any]]:
    """A new account that accepted an invitation to ``path`` (``/v1/classes/{id}``)."""
    address = new_email()
    body = {"email": address, "relation": relation, "role": role}
    await call(stack.gateway, "POST", f"{path}/invitations", owner, 201, body)
    token = await mailed_token(stack, address)
    guest = await new_user(stack.gateway, role if role != "advisor" else "teacher", address)
    grant = await call(
        stack.gateway, "POST", "/v1/invitations/accept", guest, 200, {"token": token}
    )
    return guest, grant
