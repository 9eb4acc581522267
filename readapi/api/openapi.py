"""OpenAPI documentation of problem responses, and the ProblemDetails schema (the writer's)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from writer.api.openapi import problem_schema
from writer.api.problems import PROBLEM_MEDIA_TYPE

_WHEN = {
    400: "The view does not support the requested consistency level.",
    401: "No valid bearer token (see WWW-Authenticate).",
    403: "The caller's role may not read this view.",
    404: "No such order (or not the caller's).",
    422: "Invalid query parameters (`errors` names each).",
    503: "A read store cannot answer right now; retry.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": _WHEN[status],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
        for status in statuses
    }


def document_problems(app: FastAPI) -> None:
    """Add ProblemDetails, and replace FastAPI's own 422 body (never sent) by the problem."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for operations in document["paths"].values():
                for operation in operations.values():
                    if "422" in operation["responses"]:
                        operation["responses"]["422"] = problem_responses(422)[422]
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            problem = problem_schema()
            schemas.update(problem.pop("$defs", {}))
            schemas["ProblemDetails"] = problem
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
