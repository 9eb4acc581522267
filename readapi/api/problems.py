"""Every error of the read API as an RFC 9457 problem: the read API's own errors are mapped here, everything shared
with the writer (bad tokens, roles, FastAPI's validation, unknown routes) by the service kit's common mapping."""

from __future__ import annotations

from dataclasses import replace

from fastapi import FastAPI

from readapi.errors import (
    InvalidQuery,
    OrderNotVisible,
    PartsMissing,
    ReadApiError,
    StoreUnavailable,
    UnsupportedConsistency,
)
from servicekit import problems as kit
from servicekit.problems import Problem, store_unavailable_problem, validation_problem


def problem_for(error: Exception) -> Problem:
    """The problem the read API answers `error` with."""
    return kit.problem_for(error, readapi_problem)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error with a problem document, FastAPI's and Starlette's own included."""
    kit.install_problem_handlers(app, readapi_problem, own_errors=(ReadApiError,))


def readapi_problem(error: Exception) -> Problem | None:
    """The read API's own errors; None for those every API answers alike."""
    match error:
        case InvalidQuery():
            return validation_problem(error.errors)
        case UnsupportedConsistency():
            return Problem(
                status=400, slug="consistency-not-supported", title="This view cannot answer at that consistency",
                detail=str(error), extensions={"supported": list(error.supported)},
            )  # fmt: skip
        case OrderNotVisible():
            return Problem(status=404, slug="order-not-found", title="No such order", detail=str(error))
        case StoreUnavailable():
            return store_unavailable_problem(f"the {error.store} read model cannot answer right now; retry shortly")
        case PartsMissing():
            unavailable = store_unavailable_problem(f"{error}; retry shortly, or ask without require=all")
            return replace(unavailable, extensions={"missingParts": list(error.parts)})
        case _:
            return None
