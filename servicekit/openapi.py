"""OpenAPI documentation of problem responses: the ProblemDetails schema, `responses=` entries, and FastAPI's own
422 body (never sent) replaced by the problem. Each API passes its own description of each status."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from servicekit.problems import PROBLEM_MEDIA_TYPE

ProblemDescriptions = Mapping[int, str]
"""When an API answers each problem status, in that API's words."""


class ProblemFieldError(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; some problems add members (e.g. `currentVersion` on a version conflict)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str
    errors: list[ProblemFieldError] = []


def problem_responses(descriptions: ProblemDescriptions, *statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry documenting these problem statuses as application/problem+json."""
    return {
        status: {
            "description": descriptions.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
        for status in statuses
    }


def problem_schema() -> dict[str, Any]:
    """ProblemDetails as an OpenAPI component (the responses above refer to it)."""
    return ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")


def document_problems(app: FastAPI, descriptions: ProblemDescriptions) -> None:
    """Add the ProblemDetails schema, and replace FastAPI's own 422 body (never sent) by the problem."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for operations in document["paths"].values():
                for operation in operations.values():
                    if "422" in operation["responses"]:
                        operation["responses"]["422"] = problem_responses(descriptions, 422)[422]
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            problem = problem_schema()
            schemas.update(problem.pop("$defs", {}))
            schemas["ProblemDetails"] = problem
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
