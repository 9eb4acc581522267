"""Every error the writer can answer with, as RFC 9457 `application/problem+json` — mapped here and only here.

`writer_problem` maps the domain's and the writer's own errors; everything both APIs share (bad tokens, roles,
malformed fields, FastAPI/Starlette's own errors, a bug) is `servicekit.problems`' common mapping, which
`problem_for` falls back on. Bad input maps to 4xx; only a failing database (503) or a bug (500) yields 5xx.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from servicekit import problems as kit
from servicekit.problems import Problem, ProblemMapper, store_unavailable_problem, validation_problem
from writer import domain
from writer.errors import CommandNotFound, IdempotencyKeyReused, RelayAtRisk, StoreUnavailable, WriterError


def problem_for(error: Exception) -> Problem:
    """The problem the writer answers `error` with."""
    return kit.problem_for(error, writer_problem)


def install_problem_handlers(
    app: FastAPI, mappers: Sequence[ProblemMapper] = (), errors: Sequence[type[Exception]] = ()
) -> None:
    """Answer every error with a problem document, FastAPI's and Starlette's own included.

    `mappers` and `errors`: the mappings and error base classes of routes mounted on the app that the writer does
    not own (the composition root's); the writer's own mapping comes first, the kit's common one last."""
    mapper = _chained(writer_problem, *mappers) if mappers else writer_problem
    kit.install_problem_handlers(app, mapper, own_errors=(domain.DomainError, WriterError, *errors))


def _chained(*mappers: ProblemMapper) -> ProblemMapper:
    def first_problem(error: Exception) -> Problem | None:
        return next((problem for mapper in mappers if (problem := mapper(error)) is not None), None)

    return first_problem


def writer_problem(error: Exception) -> Problem | None:
    """The writer's own errors; None for those every API answers alike."""
    match error:
        case domain.InvalidCommand():
            return validation_problem(error.errors)
        case domain.VersionConflict():
            return Problem(
                status=409,
                slug="version-conflict",
                title="The order has changed",
                detail=str(error),
                extensions={"currentVersion": error.actual, "expectedVersion": error.expected},
                headers={"ETag": f'"{error.actual}"'},
            )
        case domain.InvalidTransition():
            extensions = {"currentStatus": error.current.value, "targetStatus": error.target.value}
            return Problem(
                status=409, slug="invalid-transition", title="The order cannot make this transition",
                detail=str(error), extensions=extensions,
            )  # fmt: skip
        case domain.OrderNotModifiable():
            return Problem(
                status=409, slug="order-not-modifiable", title="The order's items cannot change",
                detail=str(error), extensions={"currentStatus": error.status.value},
            )  # fmt: skip
        case domain.TooManyLines():
            return Problem(
                status=409, slug="too-many-lines", title="The order is full",
                detail=str(error), extensions={"maxLines": error.limit},
            )  # fmt: skip
        case domain.OrderAlreadyExists():
            return Problem(status=409, slug="order-exists", title="The order already exists", detail=str(error))
        case domain.OrderNotFound():
            return Problem(status=404, slug="order-not-found", title="No such order", detail=str(error))
        case domain.ItemNotFound():
            return Problem(status=404, slug="item-not-found", title="No such order item", detail=str(error))
        case CommandNotFound():
            return Problem(status=404, slug="command-not-found", title="No such command", detail=str(error))
        case IdempotencyKeyReused():
            return Problem(
                status=422,
                slug="idempotency-key-reused",
                title="The idempotency key belongs to another request",
                detail=f"{error}; use a new key for a new request",
            )
        case RelayAtRisk():
            return Problem(
                status=503, slug="relay-at-risk", title="Commands are paused until the relay catches up",
                detail=f"{error}; retry later", headers={"Retry-After": "5"},
            )  # fmt: skip
        case StoreUnavailable():
            return store_unavailable_problem("the write model cannot be reached right now; retry shortly")
        case domain.DomainError() | WriterError():
            return Problem(status=422, slug="rejected", title="The command was rejected", detail=str(error))
        case _:
            return None
