"""Conversion of stored records to proto messages."""

from __future__ import annotations

import datetime as dt

from google.protobuf.timestamp_pb2 import Timestamp

from services.auth.accounts import Account
from services.auth.roles import role_enum
from services.common.timestamps import to_timestamp
from trackcc.auth.v1 import auth_service_pb2 as pb


def timestamp(value: dt.datetime) -> Timestamp:
    """A protobuf Timestamp of an aware datetime."""
    return to_timestamp(value)


def account_message(account: Account) -> pb.Account:
    """The Account message its owner sees."""
    message = pb.Account(
        id=str(account.id),
        email=account.email,
        role=role_enum(account.role),
        email_verified=account.email_verified,
        has_photo=account.has_photo,
        create_time=timestamp(account.created_at),
    )
    # Optional fields stay unset (not empty) when unknown, as the proto documents.
    if account.display_name is not None:
        message.display_name = account.display_name
    if account.birth_date is not None:
        message.birth_date = account.birth_date.isoformat()
    if account.gender is not None:
        message.gender = account.gender
    return message
