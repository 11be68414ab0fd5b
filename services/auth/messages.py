"""Conversion of stored records to proto messages."""

from __future__ import annotations

import datetime as dt
import uuid

from services.auth import sessions
from services.auth.accounts import Account
from services.auth.roles import role_enum
from services.common.timestamps import to_timestamp
from services.common.tokens import Principal, TokenSigner
from trackcc.auth.v1 import auth_service_pb2 as pb


def account_message(account: Account) -> pb.Account:
    """The Account message its owner sees."""
    message = pb.Account(
        id=str(account.id),
        email=account.email,
        role=role_enum(account.role),
        email_verified=account.email_verified,
        has_photo=account.has_photo,
        create_time=to_timestamp(account.created_at),
    )
    # Optional fields stay unset (not empty) when unknown, as the proto documents.
    if account.display_name is not None:
        message.display_name = account.display_name
    if account.birth_date is not None:
        message.birth_date = account.birth_date.isoformat()
    if account.gender is not None:
        message.gender = account.gender
    return message


def session_tokens(
    signer: TokenSigner,
    account: Account,
    session_id: uuid.UUID,
    refresh: str,
    expires_at: dt.datetime,
) -> pb.SessionTokens:
    """The answer of a sign-in or refresh: a new access token, the refresh token, the account."""
    access_token = signer.issue(
        Principal(
            user_id=str(account.id),
            session_id=str(session_id),
            role=account.role,
            email=account.email,
            email_verified=account.email_verified,
            display_name=account.display_name or "",
        )
    )
    return pb.SessionTokens(
        access_token=access_token,
        expires_in=signer.ttl_seconds,
        refresh_token=refresh,
        session_id=str(session_id),
        account=account_message(account),
        session_expire_time=to_timestamp(expires_at),
    )


def session_message(row: sessions.SessionRow, current_session_id: str) -> pb.Session:
    """The Session message; ``current`` marks the session of the calling token."""
    return pb.Session(
        id=str(row.id),
        create_time=to_timestamp(row.created_at),
        last_use_time=to_timestamp(row.last_used_at),
        user_agent=row.user_agent,
        current=str(row.id) == current_session_id,
    )
