"""OpenAPI documentation of the writer's problem responses: when it answers each status (the rest is the kit's)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from servicekit import openapi as kit
from writer.api.models import CommandAccepted

WHEN = {
    400: "The body is not valid JSON.",
    401: "No valid bearer token (see WWW-Authenticate).",
    403: "The caller's role may not do this.",
    404: "No such order, item or command (or not the caller's).",
    409: "The order's version or status does not allow the command (`currentVersion` tells the version).",
    413: "The body exceeds the size limit.",
    422: "Invalid fields (`errors` names each), or an Idempotency-Key reused for another request.",
    503: "The database cannot be reached; retry.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry documenting these problem statuses as application/problem+json."""
    return kit.problem_responses(WHEN, *statuses)


ACCEPTED: dict[str, Any] = {
    "status_code": 202,
    "response_model": CommandAccepted,
    "responses": problem_responses(400, 401, 403, 404, 409, 413, 422, 503),
}
"""The route arguments of every command, in either route style: 202 with `CommandAccepted`, or a problem."""


def document_problems(app: FastAPI) -> None:
    """Add the ProblemDetails schema, and replace FastAPI's own 422 body (never sent) by the problem."""
    kit.document_problems(app, WHEN)
