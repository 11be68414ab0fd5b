"""Between protobuf messages and the domain: enum names, ids, times, validation."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2

from services.common import emails
from services.common.fields import invalid, parse_uuid
from services.common.timestamps import to_timestamp
from services.sharing.access_log import Action, Entry
from services.sharing.grants import Grant
from services.sharing.invitations import Invitation, Status
from services.sharing.permissions import Permission
from services.sharing.tuples import ResourceRef
from trackcc.sharing.v1 import sharing_service_pb2 as pb

RESOURCE_TYPES = {pb.RESOURCE_TYPE_CLASS: "class", pb.RESOURCE_TYPE_STUDENT: "student"}
RESOURCE_TYPES_PB = {v: k for k, v in RESOURCE_TYPES.items()}
RELATIONS = {
    pb.RELATION_OWNER: "owner",
    pb.RELATION_EDITOR: "editor",
    pb.RELATION_VIEWER: "viewer",
    pb.RELATION_ENROLLED_IN: "enrolled_in",
}
RELATIONS_PB = {v: k for k, v in RELATIONS.items()}
PERMISSIONS = {
    pb.PERMISSION_READ: Permission.READ,
    pb.PERMISSION_WRITE: Permission.WRITE,
    pb.PERMISSION_SHARE: Permission.SHARE,
    pb.PERMISSION_DELETE: Permission.DELETE,
}
ROLES = {
    pb.GRANTEE_ROLE_GUARDIAN: "guardian",
    pb.GRANTEE_ROLE_ADVISOR: "advisor",
    pb.GRANTEE_ROLE_STUDENT: "student",
    pb.GRANTEE_ROLE_TEACHER: "teacher",
}
ROLES_PB = {v: k for k, v in ROLES.items()}
STATUSES_PB = {
    Status.PENDING: pb.INVITATION_STATUS_PENDING,
    Status.ACCEPTED: pb.INVITATION_STATUS_ACCEPTED,
    Status.DECLINED: pb.INVITATION_STATUS_DECLINED,
    Status.REVOKED: pb.INVITATION_STATUS_REVOKED,
    Status.EXPIRED: pb.INVITATION_STATUS_EXPIRED,
}
ACTIONS_PB = {action: pb.AccessAction.Value(f"ACCESS_ACTION_{action.name}") for action in Action}

# Deliberately loose: one @, no spaces, a dot in the domain. The mail itself is the real test.


def resource_ref(resource: pb.Resource, field: str = "resource") -> ResourceRef:
    """A validated resource reference."""
    kind = RESOURCE_TYPES.get(resource.type)
    if kind is None:
        raise invalid(f"{field}.type", "must be CLASS or STUDENT")
    return ResourceRef(kind, parse_uuid(resource.id, f"{field}.id"))


def resource_pb(resource: ResourceRef) -> pb.Resource:
    return pb.Resource(type=RESOURCE_TYPES_PB[resource.type], id=str(resource.id))


def permission(value: pb.Permission.ValueType, field: str = "permission") -> Permission:
    """A validated permission."""
    found = PERMISSIONS.get(value)
    if found is None:
        raise invalid(field, "must be READ, WRITE, SHARE or DELETE")
    return found


def normalize_email(value: str, field: str = "email") -> str:
    """The address in its normal form (services/common/emails.py holds the rule)."""
    try:
        return emails.normalize_email(value)
    except emails.InvalidEmail as error:
        raise invalid(field, str(error)) from None


def optional_timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A protobuf timestamp, None for None."""
    if value is None:
        return None
    return to_timestamp(value)


def from_timestamp(value: timestamp_pb2.Timestamp) -> datetime:
    """An aware UTC datetime."""
    return value.ToDatetime(tzinfo=UTC)


def invitation_pb(invitation: Invitation) -> pb.Invitation:
    return pb.Invitation(
        id=str(invitation.id),
        resource=resource_pb(invitation.resource),
        email=invitation.email,
        relation=RELATIONS_PB[invitation.relation],
        role=ROLES_PB[invitation.role],
        status=STATUSES_PB[invitation.status],
        create_time=to_timestamp(invitation.created_at),
        expire_time=to_timestamp(invitation.expires_at),
        grant_expire_time=optional_timestamp(invitation.grant_expires_at),
    )


def grant_pb(grant: Grant) -> pb.Grant:
    return pb.Grant(
        id=str(grant.id),
        resource=resource_pb(grant.resource),
        grantee_id=str(grant.grantee_id),
        grantee_email=grant.grantee_email,
        relation=RELATIONS_PB[grant.relation],
        role=ROLES_PB[grant.role],
        create_time=to_timestamp(grant.created_at),
        expire_time=optional_timestamp(grant.expires_at),
    )


def entry_pb(entry: Entry) -> pb.AccessLogEntry:
    return pb.AccessLogEntry(
        time=to_timestamp(entry.at),
        actor_id=str(entry.actor_id) if entry.actor_id else "",
        actor_email=entry.actor_email,
        action=ACTIONS_PB[entry.action],
        grant_id=str(entry.grant_id) if entry.grant_id else "",
    )
