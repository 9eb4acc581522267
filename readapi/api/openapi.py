"""OpenAPI documentation of the read API's problem responses: when it answers each status (the rest is the kit's)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from servicekit import openapi as kit

WHEN = {
    400: "The view does not support the requested consistency level.",
    401: "No valid bearer token (see WWW-Authenticate).",
    403: "The caller's role may not read this view.",
    404: "No such order (or not the caller's).",
    422: "Invalid query parameters (`errors` names each).",
    503: "A read store cannot answer right now; retry.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry documenting these problem statuses as application/problem+json."""
    return kit.problem_responses(WHEN, *statuses)


def document_problems(app: FastAPI) -> None:
    """Add the ProblemDetails schema, and replace FastAPI's own 422 body (never sent) by the problem."""
    kit.document_problems(app, WHEN)
