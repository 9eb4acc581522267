"""Errors as RFC 9457 `application/problem+json` answers: the `Problem`, its response, the mapping of every error
both APIs share, and one way to install the handlers.

Each API maps its own errors in its own `problems` module (a `ProblemMapper` that answers None for anything else);
`problem_for` falls back on `common_problem` here, so a status, slug, title or header is decided in one place.
Bad input maps to 4xx; only an unavailable store (503, `store_unavailable_problem` in the API's own mapping) or a bug
(500) yields 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from servicekit.errors import (
    FieldError,
    FieldIssue,
    InvalidRequest,
    PermissionDenied,
    RequestTooLarge,
    ServiceError,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from servicekit.methods import allowed_methods, options_response

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:cqrs-orders:problem:"
REALM = "cqrs-writer"
"""One realm for both APIs: they accept the same tokens."""

log = structlog.get_logger("servicekit.problems")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    status: int
    slug: str
    """Stable short name: the end of `type`, and the `outcome` label of the command metrics."""
    title: str
    detail: str
    errors: Sequence[FieldIssue] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    generic: bool = False
    """A plain HTTP status (unknown route, wrong method): `type` is `about:blank`, as RFC 9457 suggests."""

    @property
    def type(self) -> str:
        return "about:blank" if self.generic else TYPE_PREFIX + self.slug


ProblemMapper = Callable[[Exception], Problem | None]
"""An API's mapping of its own errors; None for an error it leaves to `common_problem`."""


def problem_for(error: Exception, specific: ProblemMapper | None = None) -> Problem:
    """`specific`'s problem for the error, else the common one."""
    return (specific(error) if specific is not None else None) or common_problem(error)


def common_problem(error: Exception) -> Problem:
    """The problems every API answers the same way; anything unknown is a 500."""
    match error:
        case InvalidRequest():
            return validation_problem(error.errors)
        case RequestValidationError():
            return _validation_problem(error)
        case Unauthenticated():
            challenge = f'Bearer realm="{REALM}"'
            if error.token_presented:
                description = str(error).replace("\\", "").replace('"', "'")
                challenge += f', error="invalid_token", error_description="{description}"'
            return Problem(
                status=401, slug="unauthenticated", title="Authentication required", detail=str(error),
                headers={"WWW-Authenticate": challenge},
            )  # fmt: skip
        case PermissionDenied():
            return Problem(status=403, slug="forbidden", title="Not allowed", detail=str(error))
        case RequestTooLarge():
            return Problem(
                status=413, slug="payload-too-large", title="The request body is too large",
                detail=str(error), extensions={"maxBytes": error.limit},
            )  # fmt: skip
        case Unavailable():
            return Problem(
                status=503, slug="unavailable", title="The service cannot take this request now", detail=str(error),
                headers={"Retry-After": str(error.retry_after_s)},
            )  # fmt: skip
        case TooManyRequests():
            return Problem(
                status=429, slug="too-many-requests", title="Too many requests in flight", detail=str(error),
                headers={"Retry-After": str(error.retry_after_s)},
            )  # fmt: skip
        case StarletteHTTPException():
            return _http_problem(error)
        case _:
            return Problem(
                status=500, slug="internal-error", title="Internal server error",
                detail="an unexpected error occurred; it has been logged",
            )  # fmt: skip


def validation_problem(errors: Sequence[FieldIssue]) -> Problem:
    """422 naming every bad field (request metadata, a command's fields, query parameters alike)."""
    return Problem(
        status=422,
        slug="validation-failed",
        title="The request is not valid",
        detail=f"{len(errors)} field(s) are invalid: see errors",
        errors=errors,
    )


def store_unavailable_problem(detail: str) -> Problem:
    """503 for the API's own store that cannot be reached or answer right now; `detail` names the store."""
    return Problem(
        status=503, slug="unavailable", title="The service is unavailable", detail=detail, headers={"Retry-After": "1"}
    )


def problem_response(problem: Problem, *, instance: str, correlation_id: str | None = None) -> Response:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": instance,
    }
    if problem.errors:
        body["errors"] = [{"field": error.field, "message": error.message} for error in problem.errors]
    body.update(problem.extensions)
    if correlation_id is not None:
        body["correlationId"] = correlation_id
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(problem.headers),
    )


def install_problem_handlers(
    app: FastAPI, specific: ProblemMapper, *, own_errors: Iterable[type[Exception]] = ()
) -> None:
    """Answer every error with a problem document, FastAPI's and Starlette's own included.

    `own_errors` are the base classes of the API's own errors: each needs its handler registered by type, since
    Starlette sends the `Exception` handler's answers past the app's middleware (no correlation id echoed)."""

    async def handle(request: Request, error: Exception) -> Response:
        problem = problem_for(error, specific)
        if problem.status == 405:
            # The path exists but no route takes this method: OPTIONS is answered here, and Allow names every
            # documented method of the path (Starlette's names only the first matching route's).
            starlettes = problem.headers.get("Allow")
            if request.method == "OPTIONS":
                return options_response(request, fallback=starlettes)
            allowed = allowed_methods(request, fallback=starlettes)
            problem = replace(problem, headers={**problem.headers, **({"Allow": allowed} if allowed else {})})
        if problem.status >= 500:
            log.error("request.failed", path=request.url.path, problem=problem.slug, exc_info=error)
        return problem_response(
            problem,
            instance=request.url.path,
            correlation_id=getattr(request.state, "correlation_id", None),
        )

    for error_type in (*own_errors, ServiceError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(error_type, handle)


def _validation_problem(error: RequestValidationError) -> Problem:
    details = error.errors()
    malformed = next((detail for detail in details if detail.get("type") == "json_invalid"), None)
    if malformed is not None:
        position = malformed["loc"][-1]
        reason = malformed.get("ctx", {}).get("error", "invalid JSON")
        return Problem(
            status=400,
            slug="malformed-json",
            title="The request body is not valid JSON",
            detail=f"{reason} at character {position}",
            errors=(FieldError("body", f"{reason} at character {position}"),),
        )
    return validation_problem(tuple(FieldError(_field_path(detail["loc"]), str(detail["msg"])) for detail in details))


def _field_path(location: Sequence[int | str]) -> str:
    """FastAPI's ("body", "items", 0, "unitPrice") → "items[0].unitPrice" (the domain's notation)."""
    source, *parts = location
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or str(source)


_HTTP_DETAILS = {
    404: "nothing is served at this path",
    405: "this path does not accept this method (see the Allow header)",
}


def _http_problem(error: StarletteHTTPException) -> Problem:
    phrase = HTTPStatus(error.status_code).phrase
    detail = error.detail if isinstance(error.detail, str) and error.detail != phrase else ""
    detail = detail or _HTTP_DETAILS.get(error.status_code, phrase.lower())
    return Problem(
        status=error.status_code,
        slug=phrase.lower().replace(" ", "-"),
        title=phrase,
        detail=detail,
        headers=dict(error.headers or {}),
        generic=True,
    )
