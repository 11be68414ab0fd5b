"""Students: create (optionally enrolled), list, read, change, delete.

roster asks sharing for every read and write: a student is visible to its owner, to grantees
of the student and to grantees of a class it is enrolled in; others get 404.
"""

from __future__ import annotations

from aiohttp import web
from google.protobuf.field_mask_pb2 import FieldMask

from services.gateway.routes.common import (
    IDEMPOTENCY_FIELDS,
    IDEMPOTENCY_KEY_PARAMETER,
    idempotency_key,
    list_schema,
    page_response,
    path_uuid,
)
from services.gateway.routes.roster_json import (
    CREATE_STUDENT_SCHEMA,
    STUDENT_SCHEMA,
    UPDATE_STUDENT_SCHEMA,
    fields_present,
    student_json,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response, json_response
from services.gateway.validation import PAGE_QUERY_PARAMETERS, page_params
from trackcc.roster.v1 import roster_service_pb2 as pb

PROFILE_FIELDS = ("display_name", "birth_date", "gender", "notes")


def _student_id(call: Call) -> str:
    return path_uuid(call.request.match_info["id"])


def _profile(call: Call, student: pb.Student) -> pb.Student:
    for name in PROFILE_FIELDS:
        value = call.body.get(name)
        if value is not None:  # null stays unset, which clears the field when it is in the mask
            setattr(student, name, value)
    return student


async def create_student(call: Call) -> web.StreamResponse:
    given = _profile(call, pb.Student(class_ids=call.body.get("class_ids", [])))
    created = await call.clients.roster.CreateStudent(
        pb.CreateStudentRequest(student=given, request_id=idempotency_key(call.request)),
        metadata=call.metadata(),
    )
    public_url = call.settings.public_url
    response = json_response(student_json(created, public_url), 201)
    response.headers["Location"] = f"{public_url}/v1/students/{created.id}"
    return response


async def list_students(call: Call) -> web.StreamResponse:
    page_size, page_token = page_params(call.request)
    response = await call.clients.roster.ListStudents(
        pb.ListStudentsRequest(page_size=page_size, page_token=page_token),
        metadata=call.metadata(),
    )
    public_url = call.settings.public_url
    return page_response(
        (student_json(student, public_url) for student in response.students),
        response.next_page_token,
    )


async def get_student(call: Call) -> web.StreamResponse:
    found = await call.clients.roster.GetStudent(
        pb.GetStudentRequest(student_id=_student_id(call)), metadata=call.metadata()
    )
    return json_response(student_json(found, call.settings.public_url))


async def update_student(call: Call) -> web.StreamResponse:
    changes = _profile(call, pb.Student(id=_student_id(call)))
    updated = await call.clients.roster.UpdateStudent(
        pb.UpdateStudentRequest(
            student=changes, update_mask=FieldMask(paths=fields_present(call.body, PROFILE_FIELDS))
        ),
        metadata=call.metadata(),
    )
    return json_response(student_json(updated, call.settings.public_url))


async def delete_student(call: Call) -> web.StreamResponse:
    await call.clients.roster.DeleteStudent(
        pb.DeleteStudentRequest(student_id=_student_id(call)), metadata=call.metadata()
    )
    return empty_response()


ROUTES = (
    RouteSpec(
        method="POST",
        path="/v1/students",
        handler=create_student,
        operation_id="createStudent",
        summary="Create a student that I own, optionally enrolled in classes of mine",
        tag="roster",
        request_schema=CREATE_STUDENT_SCHEMA,
        response_status=201,
        response_schema=STUDENT_SCHEMA,
        auth=True,
        errors=(401, 403, 404, 409, 422),
        field_names=IDEMPOTENCY_FIELDS,
        parameters=(IDEMPOTENCY_KEY_PARAMETER,),
    ),
    RouteSpec(
        method="GET",
        path="/v1/students",
        handler=list_students,
        operation_id="listStudents",
        summary="Students I own or that are shared with me, directly or through a class",
        tag="roster",
        response_schema=list_schema(STUDENT_SCHEMA),
        auth=True,
        errors=(400, 401, 422),
        parameters=PAGE_QUERY_PARAMETERS,
    ),
    RouteSpec(
        method="GET",
        path="/v1/students/{id}",
        handler=get_student,
        operation_id="getStudent",
        summary="A student I may see",
        tag="roster",
        response_schema=STUDENT_SCHEMA,
        auth=True,
        errors=(401, 404),
    ),
    RouteSpec(
        method="PATCH",
        path="/v1/students/{id}",
        handler=update_student,
        operation_id="updateStudent",
        summary="Change a student (owner or editor); null clears a field",
        tag="roster",
        request_schema=UPDATE_STUDENT_SCHEMA,
        response_schema=STUDENT_SCHEMA,
        auth=True,
        errors=(401, 403, 404, 422),
    ),
    RouteSpec(
        method="DELETE",
        path="/v1/students/{id}",
        handler=delete_student,
        operation_id="deleteStudent",
        summary="Delete a student from every class, with its photo and grants (owner only)",
        tag="roster",
        response_status=204,
        auth=True,
        errors=(401, 403, 404),
    ),
)
