"""`POST /commands/batch`: many commands in one NDJSON body, one NDJSON result line per command line.

The body is read whole (it is bounded by `CQRS_WRITER_BATCH_MAX_BODY_BYTES`) before results stream back: HTTP/1.1
clients send the whole request before they read the response, so answering while still reading could deadlock
once both directions' buffers are full. Bad lines are results (with their line number and problem), never an
error of the request: the response is 200 whenever the body could be read. A body of more than
`CQRS_WRITER_BATCH_MAX_LINES` command lines is refused whole (422), and so is a caller's batch beyond the
`CQRS_WRITER_BATCH_MAX_PER_SUBJECT` it may run at once (429 with Retry-After).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from servicekit.errors import FieldError, InvalidRequest, PermissionDenied
from writer.api.auth import CurrentPrincipal
from writer.api.openapi import problem_responses
from writer.api.services import Services, get_services
from writer.batch.apply import BatchApplier, BatchContext
from writer.batch.lines import numbered_lines, parse_line
from writer.security import may_issue_commands

BATCH_PATH = "/commands/batch"
NDJSON = "application/x-ndjson"

router = APIRouter(tags=["commands"])

_LINE_SCHEMA = {
    "type": "object",
    "required": ["command", "idempotencyKey", "body"],
    "properties": {
        "command": {"type": "string", "examples": ["create-order"]},
        "idempotencyKey": {"type": "string", "maxLength": 255},
        "body": {"type": "object", "description": "The body POST /commands/<command> takes."},
    },
}


@router.post(
    BATCH_PATH,
    summary="Apply many commands (NDJSON in, one NDJSON result per line out)",
    response_class=StreamingResponse,
    responses={
        200: {"description": "One result per non-blank input line, in input order.", "content": {NDJSON: {}}},
        **problem_responses(401, 403, 413, 422, 429),
    },
    openapi_extra={"requestBody": {"required": True, "content": {NDJSON: {"schema": _LINE_SCHEMA}}}},
)
async def batch(
    request: Request, principal: CurrentPrincipal, services: Annotated[Services, Depends(get_services)]
) -> StreamingResponse:
    if not may_issue_commands(principal):
        raise PermissionDenied("this role may not issue commands")
    settings = services.settings
    # Before the lines are parsed and applied: a caller's extra batches take no connections and no parsing.
    services.batches.acquire(principal.subject, settings.batch_max_per_subject)
    try:
        raw_lines = await _command_lines(request, settings.batch_max_lines)
    except BaseException:
        services.batches.release(principal.subject)
        raise
    context = BatchContext(
        principal=principal,
        correlation_id=request.state.correlation_id,
        idempotency_ttl_s=settings.idempotency_ttl_s,
    )
    applier = BatchApplier(services.handler, context, lines_per_transaction=settings.batch_lines_per_transaction)
    lines = (parse_line(n, raw, max_line_bytes=settings.max_body_bytes) for n, raw in raw_lines)
    return _SlotHoldingResponse(
        _ndjson(applier.results(lines)), media_type=NDJSON, release=lambda: services.batches.release(principal.subject)
    )


async def _command_lines(request: Request, max_lines: int) -> list[tuple[int, bytes]]:
    """The body's non-blank lines, or a 422 if there are none or more than `max_lines`."""
    lines = list(numbered_lines(await request.body()))
    if not lines:
        raise InvalidRequest([FieldError("body", "no commands: send one JSON command per line")])
    if len(lines) > max_lines:
        detail = f"{len(lines)} command lines; at most {max_lines} per request: split the file"
        raise InvalidRequest([FieldError("body", detail)])
    return lines


class _SlotHoldingResponse(StreamingResponse):
    """Streams the results, then gives the caller's batch slot back, whether the stream ended, failed or the client
    went away (before or during streaming: the release is not left to a generator that may never start)."""

    def __init__(self, content: AsyncIterator[bytes], *, media_type: str, release: Callable[[], None]) -> None:
        super().__init__(content, media_type=media_type)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _ndjson(results: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for result in results:
        yield json.dumps(result, separators=(",", ":")).encode() + b"\n"
