"""OpenAPI documentation of problem responses."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from writer.api.models import ProblemDetails
from writer.api.problems import PROBLEM_MEDIA_TYPE

_WHEN = {
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
    return {
        status: {
            "description": _WHEN.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
        for status in statuses
    }


def problem_schema() -> dict[str, Any]:
    """ProblemDetails as an OpenAPI component (the responses above refer to it)."""
    return ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
