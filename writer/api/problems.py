"""Every error the API can answer with, as RFC 9457 `application/problem+json` — mapped here and only here.

`problem_for` turns an exception (domain, application, FastAPI/Starlette) into a `Problem`; the handlers
installed by `install_problem_handlers` and the body-size middleware render it. Bad input maps to 4xx;
only a failing database (503) or a bug (500) yields 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from writer.domain import (
    DomainError,
    FieldError,
    InvalidCommand,
    InvalidTransition,
    ItemNotFound,
    OrderAlreadyExists,
    OrderNotFound,
    OrderNotModifiable,
    TooManyLines,
    VersionConflict,
)
from writer.errors import (
    CommandNotFound,
    IdempotencyKeyReused,
    InvalidRequest,
    PermissionDenied,
    RequestTooLarge,
    StoreUnavailable,
    Unauthenticated,
    WebhookNotFound,
    WriterError,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:cqrs-orders:problem:"
REALM = "cqrs-writer"

log = structlog.get_logger("writer.api")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    status: int
    slug: str
    """Stable short name: the end of `type`, and the `outcome` label of the command metrics."""
    title: str
    detail: str
    errors: Sequence[FieldError] = ()
    extensions: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    generic: bool = False
    """A plain HTTP status (unknown route, wrong method): `type` is `about:blank`, as RFC 9457 suggests."""

    @property
    def type(self) -> str:
        return "about:blank" if self.generic else TYPE_PREFIX + self.slug


def problem_for(error: Exception) -> Problem:
    """The one mapping from error types to HTTP problems."""
    match error:
        case InvalidCommand() | InvalidRequest():
            return Problem(
                status=422,
                slug="validation-failed",
                title="The request is not valid",
                detail=f"{len(error.errors)} field(s) are invalid: see errors",
                errors=error.errors,
            )
        case RequestValidationError():
            return _validation_problem(error)
        case VersionConflict():
            return Problem(
                status=409,
                slug="version-conflict",
                title="The order has changed",
                detail=str(error),
                extensions={"currentVersion": error.actual, "expectedVersion": error.expected},
                headers={"ETag": f'"{error.actual}"'},
            )
        case InvalidTransition():
            extensions = {"currentStatus": error.current.value, "targetStatus": error.target.value}
            return Problem(
                status=409, slug="invalid-transition", title="The order cannot make this transition",
                detail=str(error), extensions=extensions,
            )  # fmt: skip
        case OrderNotModifiable():
            return Problem(
                status=409, slug="order-not-modifiable", title="The order's items cannot change",
                detail=str(error), extensions={"currentStatus": error.status.value},
            )  # fmt: skip
        case TooManyLines():
            return Problem(
                status=409, slug="too-many-lines", title="The order is full",
                detail=str(error), extensions={"maxLines": error.limit},
            )  # fmt: skip
        case OrderAlreadyExists():
            return Problem(status=409, slug="order-exists", title="The order already exists", detail=str(error))
        case OrderNotFound():
            return Problem(status=404, slug="order-not-found", title="No such order", detail=str(error))
        case ItemNotFound():
            return Problem(status=404, slug="item-not-found", title="No such order item", detail=str(error))
        case CommandNotFound():
            return Problem(status=404, slug="command-not-found", title="No such command", detail=str(error))
        case WebhookNotFound():
            return Problem(status=404, slug="webhook-not-found", title="No such webhook endpoint", detail=str(error))
        case IdempotencyKeyReused():
            return Problem(
                status=422,
                slug="idempotency-key-reused",
                title="The idempotency key belongs to another request",
                detail=f"{error}; use a new key for a new request",
            )
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
        case StoreUnavailable():
            return Problem(
                status=503, slug="unavailable", title="The service is unavailable",
                detail="the write model cannot be reached right now; retry shortly",
                headers={"Retry-After": "1"},
            )  # fmt: skip
        case DomainError() | WriterError():
            return Problem(status=422, slug="rejected", title="The command was rejected", detail=str(error))
        case StarletteHTTPException():
            return _http_problem(error)
        case _:
            return Problem(
                status=500, slug="internal-error", title="Internal server error",
                detail="an unexpected error occurred; it has been logged",
            )  # fmt: skip


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


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error with a problem document, FastAPI's and Starlette's own included."""
    for error_type in (DomainError, WriterError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(error_type, _handle)


async def _handle(request: Request, error: Exception) -> Response:
    problem = problem_for(error)
    if problem.status >= 500:
        log.error("request.failed", path=request.url.path, problem=problem.slug, exc_info=error)
    return problem_response(
        problem,
        instance=request.url.path,
        correlation_id=getattr(request.state, "correlation_id", None),
    )


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
    errors = tuple(FieldError(_field_path(detail["loc"]), str(detail["msg"])) for detail in details)
    return Problem(
        status=422,
        slug="validation-failed",
        title="The request is not valid",
        detail=f"{len(errors)} field(s) are invalid: see errors",
        errors=errors,
    )


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
