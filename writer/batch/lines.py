"""One NDJSON line → a validated command, or the error that says why not (mapped to a problem like any request).

A line is `{"command": "<name>", "idempotencyKey": "<key>", "body": {…}}`; `body` is exactly what
`POST /commands/<name>` takes. The key is required: it is what makes re-running a file change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError
from pydantic.alias_generators import to_camel

from servicekit.errors import FieldError, InvalidRequest, RequestTooLarge
from writer.api import idempotency
from writer.batch.commands import KINDS
from writer.domain import OrderCommand


class BatchLine(BaseModel):
    """The wire shape of one line (its `body` is validated against the command's own model next)."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)

    command: Annotated[str, Strict()]
    idempotency_key: Annotated[str, Strict(), Field(min_length=1, max_length=255)]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CommandLine:
    number: int
    name: str
    idempotency_key: str
    body: BaseModel
    """The validated body: the idempotency fingerprint is computed from it, as for a single request."""
    command: OrderCommand

    @property
    def order_id(self) -> str | None:
        """The order an existing-order command acts on (its lines must apply in file order); None for a create."""
        order_id = getattr(self.body, "order_id", None)
        return None if order_id is None else str(order_id)


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    error: Exception
    """Any error `writer.api.problems.problem_for` maps to a 4xx problem."""


def numbered_lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of every non-blank line; numbers count every line, blank ones included."""
    start, number = 0, 0
    while start < len(body):
        end = body.find(b"\n", start)
        end = len(body) if end == -1 else end
        number += 1
        raw = body[start:end].strip()
        start = end + 1
        if raw:
            yield number, raw


def parse_line(number: int, raw: bytes, *, max_line_bytes: int) -> CommandLine | BadLine:
    if len(raw) > max_line_bytes:
        return BadLine(number, RequestTooLarge(max_line_bytes))
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return BadLine(number, _malformed(error))
    try:
        line = BatchLine.model_validate(document)
    except ValidationError as error:
        return BadLine(number, _invalid(error, within=()))
    try:
        kind = KINDS.get(line.command)
        if kind is None:
            raise InvalidRequest([FieldError("command", f"unknown command; one of {', '.join(KINDS)}")])
        key = _key(line.idempotency_key)
        body = kind.body.model_validate(line.body)
    except ValidationError as error:
        return BadLine(number, _invalid(error, within=("body",)))
    except InvalidRequest as error:
        return BadLine(number, error)
    return CommandLine(number, line.command, key, body, kind.build(body))


def _key(raw: str) -> str:
    try:
        key = idempotency.parse_key(raw)
    except InvalidRequest:
        raise InvalidRequest([FieldError("idempotencyKey", "must be 1 to 255 printable ASCII characters")]) from None
    assert key is not None  # parse_key returns None only for None
    return key


def _malformed(error: json.JSONDecodeError | UnicodeDecodeError) -> RequestValidationError:
    """The error FastAPI raises for a malformed JSON body, so the problem is the same as for a single request."""
    reason, position = (error.msg, error.pos) if isinstance(error, json.JSONDecodeError) else ("not UTF-8", error.start)
    return RequestValidationError(
        [{"type": "json_invalid", "loc": ("body", position), "msg": "JSON decode error", "ctx": {"error": reason}}]
    )


def _invalid(error: ValidationError, *, within: tuple[str, ...]) -> RequestValidationError:
    """Field paths relative to the line (`body.items[0].unitPrice`, `idempotencyKey`); FastAPI's leading "body"
    location is what `problems` strips."""
    return RequestValidationError([{**d, "loc": ("body", *within, *d["loc"])} for d in error.errors()])
