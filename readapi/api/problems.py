"""Every error of the read API as an RFC 9457 problem: the read API's own errors are mapped here, everything shared
with the writer (bad tokens, roles, FastAPI's validation, unknown routes) by the writer's one mapping."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from readapi.errors import InvalidQuery, OrderNotVisible, ReadApiError, StoreUnavailable, UnsupportedConsistency
from writer.api import problems as shared
from writer.api.problems import Problem, problem_response
from writer.errors import WriterError

log = structlog.get_logger("readapi.api")


def problem_for(error: Exception) -> Problem:
    match error:
        case InvalidQuery():
            return Problem(
                status=422,
                slug="validation-failed",
                title="The request is not valid",
                detail=f"{len(error.errors)} field(s) are invalid: see errors",
                errors=error.errors,
            )
        case UnsupportedConsistency():
            return Problem(
                status=400, slug="consistency-not-supported", title="This view cannot answer at that consistency",
                detail=str(error), extensions={"supported": list(error.supported)},
            )  # fmt: skip
        case OrderNotVisible():
            return Problem(status=404, slug="order-not-found", title="No such order", detail=str(error))
        case StoreUnavailable():
            return Problem(
                status=503, slug="unavailable", title="The service is unavailable",
                detail=f"the {error.store} read model cannot answer right now; retry shortly",
                headers={"Retry-After": "1"},
            )  # fmt: skip
        case _:
            return shared.problem_for(error)


def install_problem_handlers(app: FastAPI) -> None:
    for error_type in (ReadApiError, WriterError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(error_type, _handle)


async def _handle(request: Request, error: Exception) -> Response:
    problem = problem_for(error)
    if problem.status >= 500:
        log.error("request.failed", path=request.url.path, problem=problem.slug, error=repr(error))
    return problem_response(
        problem, instance=request.url.path, correlation_id=getattr(request.state, "correlation_id", None)
    )
