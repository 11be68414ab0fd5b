"""Classes and their enrollments: one RosterService call per route.

roster asks sharing whether the caller may read, change or delete the class; a class the caller
may not see answers 404 (its existence does not leak), one they may see but not change 403.
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
    rendered_page_response,
)
from services.gateway.routes.roster_json import (
    CLASS_SCHEMA,
    CREATE_CLASS_SCHEMA,
    STUDENT_SCHEMA,
    UPDATE_CLASS_SCHEMA,
    class_json,
    fields_present,
    student_json,
)
from services.gateway.routes.spec import Call, RouteSpec, empty_response, json_response
from services.gateway.validation import PAGE_QUERY_PARAMETERS, page_params
from trackcc.roster.v1 import roster_service_pb2 as pb

CLASS_FIELDS = ("name", "term")
# roster names the request id; the client sent it as a header.


def _class_id(call: Call) -> str:
    return path_uuid(call.request.match_info["id"])


async def create_class(call: Call) -> web.StreamResponse:
    given = pb.Class(name=call.body["name"])
    if call.body.get("term") is not None:
        given.term = call.body["term"]
    created = await call.clients.roster.CreateClass(
        pb.CreateClassRequest(school_class=given, request_id=idempotency_key(call.request)),
        metadata=call.metadata(),
    )
    response = json_response(class_json(created), 201)
    response.headers["Location"] = f"{call.settings.public_url}/v1/classes/{created.id}"
    return response


async def list_classes(call: Call) -> web.StreamResponse:
    page_size, page_token = page_params(call.request)
    response = await call.clients.roster.ListClasses(
        pb.ListClassesRequest(page_size=page_size, page_token=page_token),
        metadata=call.metadata(),
    )
    return page_response(map(class_json, response.classes), response.next_page_token)


async def get_class(call: Call) -> web.StreamResponse:
    found = await call.clients.roster.GetClass(
        pb.GetClassRequest(class_id=_class_id(call)), metadata=call.metadata()
    )
    return json_response(class_json(found))


async def update_class(call: Call) -> web.StreamResponse:
    changes = pb.Class(id=_class_id(call))
    for name in CLASS_FIELDS:
        value = call.body.get(name)
        if value is not None:  # null stays unset: in the mask, it clears the field
            setattr(changes, name, value)
    updated = await call.clients.roster.UpdateClass(
        pb.UpdateClassRequest(
            school_class=changes,
            update_mask=FieldMask(paths=fields_present(call.body, CLASS_FIELDS)),
        ),
        metadata=call.metadata(),
    )
    return json_response(class_json(updated))


async def delete_class(call: Call) -> web.StreamResponse:
    await call.clients.roster.DeleteClass(
        pb.DeleteClassRequest(class_id=_class_id(call)), metadata=call.metadata()
    )
    return empty_response()


async def list_class_students(call: Call) -> web.StreamResponse:
    page_size, page_token = page_params(call.request)
    # roster renders the students as this API's JSON: the page passes through unconverted.
    response = await call.clients.roster.ListClassStudents(
        pb.ListClassStudentsRequest(
            class_id=_class_id(call),
            page_size=page_size,
            page_token=page_token,
            render_json_for=call.settings.public_url,
        ),
        metadata=call.metadata(),
    )
    if response.students:
        # A roster older than render_json_for (during a rolling upgrade) sends messages.
        public_url = call.settings.public_url
        return page_response(
            (student_json(student, public_url) for student in response.students),
            response.next_page_token,
        )
    return rendered_page_response(response.items_json, response.next_page_token)


def _pair(call: Call) -> tuple[str, str]:
    return _class_id(call), path_uuid(call.request.match_info["student_id"])


async def enroll_student(call: Call) -> web.StreamResponse:
    class_id, student_id = _pair(call)
    await call.clients.roster.EnrollStudent(
        pb.EnrollStudentRequest(class_id=class_id, student_id=student_id),
        metadata=call.metadata(),
    )
    return empty_response()


async def unenroll_student(call: Call) -> web.StreamResponse:
    class_id, student_id = _pair(call)
    await call.clients.roster.UnenrollStudent(
        pb.UnenrollStudentRequest(class_id=class_id, student_id=student_id),
        metadata=call.metadata(),
    )
    return empty_response()


ENROLLMENT_PATH = "/v1/classes/{id}/students/{student_id}"

ROUTES = (
    RouteSpec(
        method="POST",
        path="/v1/classes",
        handler=create_class,
        operation_id="createClass",
        summary="Create a class that I own",
        tag="roster",
        request_schema=CREATE_CLASS_SCHEMA,
        response_status=201,
        response_schema=CLASS_SCHEMA,
        auth=True,
        errors=(401, 409, 422),
        field_names=IDEMPOTENCY_FIELDS,
        parameters=(IDEMPOTENCY_KEY_PARAMETER,),
    ),
    RouteSpec(
        method="GET",
        path="/v1/classes",
        handler=list_classes,
        operation_id="listClasses",
        summary="Classes I own or that are shared with me",
        tag="roster",
        response_schema=list_schema(CLASS_SCHEMA),
        auth=True,
        errors=(400, 401, 422),
        parameters=PAGE_QUERY_PARAMETERS,
    ),
    RouteSpec(
        method="GET",
        path="/v1/classes/{id}",
        handler=get_class,
        operation_id="getClass",
        summary="A class I may see",
        tag="roster",
        response_schema=CLASS_SCHEMA,
        auth=True,
        errors=(401, 404),
    ),
    RouteSpec(
        method="PATCH",
        path="/v1/classes/{id}",
        handler=update_class,
        operation_id="updateClass",
        summary="Change a class (owner or editor); a null term clears it",
        tag="roster",
        request_schema=UPDATE_CLASS_SCHEMA,
        response_schema=CLASS_SCHEMA,
        auth=True,
        errors=(401, 403, 404, 422),
    ),
    RouteSpec(
        method="DELETE",
        path="/v1/classes/{id}",
        handler=delete_class,
        operation_id="deleteClass",
        summary="Delete a class, its enrollments and grants; its students stay (owner only)",
        tag="roster",
        response_status=204,
        auth=True,
        errors=(401, 403, 404),
    ),
    RouteSpec(
        method="GET",
        path="/v1/classes/{id}/students",
        handler=list_class_students,
        operation_id="listClassStudents",
        summary="The students enrolled in a class",
        tag="roster",
        response_schema=list_schema(STUDENT_SCHEMA),
        auth=True,
        errors=(400, 401, 404, 422),
        parameters=PAGE_QUERY_PARAMETERS,
    ),
    RouteSpec(
        method="PUT",
        path=ENROLLMENT_PATH,
        handler=enroll_student,
        operation_id="enrollStudent",
        summary="Enroll a student in a class of the same owner (idempotent)",
        tag="roster",
        response_status=204,
        auth=True,
        errors=(401, 403, 404),
    ),
    RouteSpec(
        method="DELETE",
        path=ENROLLMENT_PATH,
        handler=unenroll_student,
        operation_id="unenrollStudent",
        summary="Remove a student from a class",
        tag="roster",
        response_status=204,
        auth=True,
        errors=(401, 403, 404),
    ),
)
