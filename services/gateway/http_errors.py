"""Answers to requests that never reach the app: aiohttp's own HTTP-layer errors.

A malformed request line or header, or one over the size limits, is refused by aiohttp's
parser before any middleware runs. aiohttp's default answer is ``text/plain`` without our
security headers, and it logs the parser's exception, whose message quotes the raw request
bytes (a URL may carry a token, a header a password). docs/api.md wants these answered like every
other error: problem+json with the usual headers, ``400``, ``414`` (request line too long)
or ``431`` (a header too long, or too many). The log line names only the status and the kind
of error.

aiohttp has no public hook for this answer, so :class:`ProblemAppRunner` serves the app with
a request handler whose ``handle_error`` is ours; everything else is aiohttp's.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from services.common.logs import accept_request_id
from services.gateway.errors import ProblemError, problem_response
from services.gateway.middlewares import REQUEST_ID_HEADER, SECURITY_HEADERS

logger = logging.getLogger(__name__)

# The limits differ so that a LineTooLong (which carries its limit, not what it measured)
# tells a long request line (414) from a long header (431).
MAX_REQUEST_LINE_BYTES = 8192
MAX_HEADER_FIELD_BYTES = 8190
HANDLER_ARGS: dict[str, Any] = {
    "max_line_size": MAX_REQUEST_LINE_BYTES,
    "max_field_size": MAX_HEADER_FIELD_BYTES,
}

_CODES = {
    400: "bad_request",
    414: "uri_too_long",
    431: "request_header_fields_too_large",
    500: "internal",
    504: "timeout",
}


def http_layer_status(status: int, error: BaseException | None) -> int:
    """The status to answer for aiohttp's ``status`` and the parser's exception."""
    if isinstance(error, LineTooLong):
        limit = error.args[1] if len(error.args) > 1 else None
        return 414 if limit == MAX_REQUEST_LINE_BYTES else 431
    if isinstance(error, HttpProcessingError) and "Too many headers" in str(error.message):
        return 431
    return status


def problem_for(status: int) -> web.Response:
    """problem+json with the headers every answer carries; the connection closes."""
    response = problem_response(ProblemError(status, _CODES.get(status, "bad_request")))
    response.headers.update(SECURITY_HEADERS)
    response.headers[REQUEST_ID_HEADER] = accept_request_id(None)
    response.force_close()
    return response


class ProblemRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors as problem+json."""

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        status = http_layer_status(status, exc)
        kind = type(exc).__name__ if exc is not None else "none"
        if isinstance(exc, HttpProcessingError):
            # Never the exception itself: its message quotes the request's bytes.
            logger.warning("malformed request refused", extra={"status": status, "error": kind})
        elif status >= 500:
            # An exception of our own code (the app answers its own errors; this is what
            # escaped it): its traceback, as aiohttp would log it.
            logger.error("request failed in the HTTP layer", exc_info=exc)
        if request.writer.output_size > 0:
            raise ConnectionError("the response has begun; no error answer can follow")
        return problem_for(status)


class _ProblemServer(web.Server):
    def __call__(self) -> RequestHandler:
        return ProblemRequestHandler(self, loop=self._loop, **self._kwargs)


class ProblemAppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer HTTP-layer errors as problem+json."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        # The Server aiohttp built, with its settings, creating our handler per connection.
        server.__class__ = _ProblemServer
        return server
