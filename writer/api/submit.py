"""The path every command request takes after validation: headers → context, handler, metrics, response."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Annotated
from uuid import uuid4

import structlog
from fastapi import Depends, Header, Request
from pydantic import BaseModel, WithJsonSchema
from starlette.responses import Response

from servicekit.errors import FieldError, InvalidRequest
from servicekit.principals import Principal
from writer.api import idempotency, metrics
from writer.api.auth import CurrentPrincipal
from writer.api.problems import problem_for
from writer.api.services import Services, get_services
from writer.domain import OrderCommand
from writer.handlers import COMMAND_NAMES, CommandContext, CommandHandler
from writer.ports import Accepted, IdempotencyClaim, Replayed, StoredResponse, iso_timestamp

log = structlog.get_logger("writer.commands")

IF_MATCH_PATTERN = r'^(\*|"[1-9][0-9]{0,17}"|[1-9][0-9]{0,17})$'
"""One version as the 202's ETag gives it (`"3"`, or bare, `3`), or `*`: what `_version_from_if_match` takes, and
what OpenAPI shows."""
_IF_MATCH = re.compile(IF_MATCH_PATTERN)
# Optional, but never null: a header is there or not (FastAPI would document `str | None` as nullable).
IfMatch = Annotated[str | None, WithJsonSchema({"type": "string", "pattern": IF_MATCH_PATTERN})]


def accepted_response(accepted: Accepted) -> StoredResponse:
    """202 with where to read the result once the read side has caught up with this version."""
    body = {
        "commandId": str(accepted.command_id),
        "status": "accepted",
        "aggregateId": accepted.aggregate_id,
        "version": accepted.version,
        "timestamp": iso_timestamp(accepted.timestamp),
    }
    headers = {
        "content-type": "application/json",
        "location": f"/orders/{accepted.aggregate_id}?minVersion={accepted.version}",
        "etag": f'"{accepted.version}"',
    }
    return StoredResponse(status=202, headers=headers, body=json.dumps(body, separators=(",", ":")).encode())


@dataclass(frozen=True, slots=True)
class CommandCall:
    """One command request: who sends it and the metadata headers, ready to `submit` a command."""

    request: Request
    principal: Principal
    services: Services
    if_match: str | None
    if_match_version: int | None
    idempotency_key: str | None

    def expected_version(self, from_body: int | None) -> int | None:
        """`expectedVersion` from the body or `If-Match`; both may be given only if they agree."""
        if from_body is not None and self.if_match_version is not None and from_body != self.if_match_version:
            raise InvalidRequest([FieldError("expectedVersion", "disagrees with the If-Match header")])
        return from_body if from_body is not None else self.if_match_version

    async def submit(self, command: OrderCommand, body: BaseModel | None) -> Response:
        """Run `command` and answer 202 (or replay the stored answer); errors propagate to the problem handlers."""
        command_id = uuid4()
        context = CommandContext(
            principal=self.principal,
            command_id=command_id,
            correlation_id=self.request.state.correlation_id,
            idempotency=self._claim(body),
        )
        name = COMMAND_NAMES[type(command)]
        outcome = await run_command(self.services.handler, name, command, context, idempotency_key=self.idempotency_key)
        if isinstance(outcome, Replayed):
            return _http(outcome.response, replayed=True)
        return _http(accepted_response(outcome), replayed=False)

    def _claim(self, body: BaseModel | None) -> IdempotencyClaim | None:
        if self.idempotency_key is None:
            return None
        return IdempotencyClaim(
            scope=self.principal.subject,
            key=self.idempotency_key,
            fingerprint=idempotency.fingerprint(self.request.method, self.request.url.path, body, self.if_match),
            ttl_s=self.services.settings.idempotency_ttl_s,
            respond=accepted_response,
        )


async def run_command(
    handler: CommandHandler, name: str, command: OrderCommand, context: CommandContext, *, idempotency_key: str | None
) -> Accepted | Replayed:
    """The handler call of one command request, whichever transport brought it (HTTP here, `writer.grpc`): counted
    in flight, measured and logged under its outcome (accepted, replayed, or a refusal's problem slug); a refusal
    propagates to the transport's error mapping."""
    with structlog.contextvars.bound_contextvars(causationId=str(context.command_id), command=name):
        started = time.perf_counter()
        metrics.COMMANDS_IN_FLIGHT.inc()
        try:
            outcome = await handler.handle(command, context)
        except Exception as error:
            problem = problem_for(error)
            metrics.record_command(name, problem.slug, time.perf_counter() - started)
            if problem.status < 500:
                log.info("command.rejected", problem=problem.slug, status=problem.status)
            raise
        finally:
            metrics.COMMANDS_IN_FLIGHT.dec()
        elapsed = time.perf_counter() - started
        if isinstance(outcome, Replayed):
            metrics.record_command(name, "replayed", elapsed)
            log.info("command.replayed", idempotencyKey=idempotency_key)
            return outcome
        metrics.record_command(name, "accepted", elapsed)
        for event in outcome.events:
            metrics.EVENTS_STORED.labels(event.event_type).inc()
        log.info("command.accepted", aggregateId=outcome.aggregate_id, version=outcome.version,
                 durationMs=round(elapsed * 1000, 2))  # fmt: skip
        return outcome


async def command_call(
    request: Request,
    principal: CurrentPrincipal,
    services: Annotated[Services, Depends(get_services)],
    if_match: Annotated[
        IfMatch,
        Header(alias="If-Match", description='The expected version as an ETag, e.g. "3" (`*`: any version).'),
    ] = None,
    idempotency_key: Annotated[
        idempotency.Key,
        Header(alias=idempotency.HEADER, description="Repeat a request safely: same key + same body → same answer."),
    ] = None,
) -> CommandCall:
    """FastAPI dependency gathering what every command route needs besides its body."""
    return CommandCall(
        request=request,
        principal=principal,
        services=services,
        if_match=if_match,
        if_match_version=_version_from_if_match(if_match),
        idempotency_key=idempotency.parse_key(idempotency_key),
    )


CommandCallDep = Annotated[CommandCall, Depends(command_call)]


def _version_from_if_match(raw: str | None) -> int | None:
    """`"3"` (an ETag as the 202 response's ETag header gives it) or `3` → 3; `*` → no expectation."""
    if raw is None:
        return None
    if not _IF_MATCH.fullmatch(raw):
        raise InvalidRequest([FieldError("If-Match", 'must be one version as an ETag, e.g. "3" (or *)')])
    return None if raw == "*" else int(raw.strip('"'))


def _http(stored: StoredResponse, *, replayed: bool) -> Response:
    headers = dict(stored.headers)
    if replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    return Response(content=stored.body, status_code=stored.status, headers=headers)
