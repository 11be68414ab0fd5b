"""The invitation mail: who invites, to what kind of record, and the link. Nothing else."""

from __future__ import annotations

from urllib.parse import urlencode

_KINDS = {"class": "a class", "student": "a student record"}
_VERBS = {"viewer": "view", "editor": "view and edit"}


def accept_link(public_url: str, token: str) -> str:
    """The accept page of the web client, built from the configured public URL."""
    return f"{public_url}/invitations/accept?{urlencode({'token': token})}"


def invitation_mail(
    *,
    public_url: str,
    inviter_name: str,
    resource_type: str,
    relation: str,
    message: str,
    token: str,
) -> tuple[str, str]:
    """Subject and body. The resource is named by its kind only, never by a student's name."""
    inviter = inviter_name.strip() or "A TrackCC user"
    kind = _KINDS[resource_type]
    subject = f"{inviter} invited you to {kind} on TrackCC"
    lines = [
        f"{inviter} invited you to {_VERBS[relation]} {kind} on TrackCC.",
        "",
    ]
    if message.strip():
        lines += [f"Their note: {message.strip()}", ""]
    lines += [
        "To accept, open this link and sign in with this email address:",
        accept_link(public_url, token),
        "",
        "The link works once and expires in 14 days. If you did not expect this invitation,",
        "ignore this mail.",
    ]
    return subject, "\n".join(lines) + "\n"
