"""`POST /commands/batch`: many commands in one NDJSON body, one NDJSON result line per command line.

The body is read whole (it is bounded by `CQRS_WRITER_BATCH_MAX_BODY_BYTES`) before results stream back: HTTP/1.1
clients send the whole request before they read the response, so answering while still reading could deadlock
once both directions' buffers are full. Bad lines are results (with their line number and problem), never an
error of the request: the response is 200 whenever the body could be read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import StreamingResponse

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
        **problem_responses(401, 403, 413, 422),
    },
    openapi_extra={"requestBody": {"required": True, "content": {NDJSON: {"schema": _LINE_SCHEMA}}}},
)
async def batch(
    request: Request, principal: CurrentPrincipal, services: Annotated[Services, Depends(get_services)]
) -> StreamingResponse:
    if not may_issue_commands(principal):
        raise PermissionDenied("this role may not issue commands")
    body = await request.body()
    if not body.strip():
        raise InvalidRequest([FieldError("body", "no commands: send one JSON command per line")])
    settings = services.settings
    context = BatchContext(
        principal=principal,
        correlation_id=request.state.correlation_id,
        idempotency_ttl_s=settings.idempotency_ttl_s,
    )
    applier = BatchApplier(services.handler, context, concurrency=settings.batch_concurrency)
    lines = (parse_line(n, raw, max_line_bytes=settings.max_body_bytes) for n, raw in numbered_lines(body))
    return StreamingResponse(_ndjson(applier.results(lines)), media_type=NDJSON)


async def _ndjson(results: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for result in results:
        yield json.dumps(result, separators=(",", ":")).encode() + b"\n"
