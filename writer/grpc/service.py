"""`cqrs.orders.v1.OrderCommands`: each RPC is `POST /commands/<name>` over gRPC.

A call takes the HTTP route's path through the writer: the bearer token verified by the same verifier, the request
validated as the route's JSON body by the same model (`writer.batch.commands.KINDS`: body model and translation),
the same `CommandHandler` in one store transaction (`writer.api.submit.run_command`), the idempotency fingerprint
of the task route (so a key used over HTTP replays over gRPC and back), and every refusal mapped by
`writer.api.problems` to the problem HTTP would answer, then to a rich status (`writer.grpc.status`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, NoReturn
from uuid import UUID, uuid4

import grpc
import structlog
from fastapi.exceptions import RequestValidationError
from google.protobuf import struct_pb2
from google.protobuf.message import Message
from pydantic import BaseModel, ValidationError

from servicekit.errors import FieldError, InvalidRequest, Unauthenticated
from servicekit.principals import Principal
from writer.api import idempotency
from writer.api.problems import problem_for
from writer.api.services import Services
from writer.api.submit import accepted_response, run_command
from writer.batch.commands import KINDS
from writer.errors import CommandNotFound
from writer.grpc import metrics
from writer.grpc.generated.orders.v1 import commands_pb2 as pb
from writer.grpc.generated.orders.v1 import commands_pb2_grpc as pb_grpc
from writer.grpc.messages import accepted_message, body_of
from writer.grpc.status import status_for
from writer.handlers import CommandContext
from writer.ports import IdempotencyClaim, Replayed
from writer.trace.tracer import CommandTracer

log = structlog.get_logger("writer.grpc")

AUTHORIZATION = "authorization"
IDEMPOTENCY_KEY = idempotency.HEADER.lower()
CORRELATION_ID = "x-correlation-id"
REPLAYED = idempotency.REPLAYED_HEADER.lower()
# As the HTTP middleware takes it: anything printable and short, callers use their own formats.
_VALID_CORRELATION_ID = re.compile(r"[\x21-\x7e]{1,128}")

Context = grpc.aio.ServicerContext[Any, Any]


class OrderCommandsService(pb_grpc.OrderCommandsServicer):
    def __init__(self, services: Services, tracer: CommandTracer | None = None) -> None:
        self._services = services
        self._tracer = tracer

    async def CreateOrder(self, request: pb.CreateOrderRequest, context: Context) -> pb.CommandAccepted:
        return await self._command("CreateOrder", "create-order", request, context)

    async def AddItemToOrder(self, request: pb.AddItemToOrderRequest, context: Context) -> pb.CommandAccepted:
        return await self._command("AddItemToOrder", "add-item-to-order", request, context)

    async def RemoveItemFromOrder(self, request: pb.RemoveItemFromOrderRequest, context: Context) -> pb.CommandAccepted:
        return await self._command("RemoveItemFromOrder", "remove-item-from-order", request, context)

    async def CancelOrder(self, request: pb.CancelOrderRequest, context: Context) -> pb.CommandAccepted:
        return await self._command("CancelOrder", "cancel-order", request, context)

    async def ConfirmOrder(self, request: pb.ConfirmOrderRequest, context: Context) -> pb.CommandAccepted:
        return await self._command("ConfirmOrder", "confirm-order", request, context)

    async def ShipOrder(self, request: pb.ShipOrderRequest, context: Context) -> pb.CommandAccepted:
        return await self._command("ShipOrder", "ship-order", request, context)

    async def GetCommand(self, request: pb.GetCommandRequest, context: Context) -> struct_pb2.Struct:
        """`GET /commands/{commandId}` over gRPC: the same document, authorization and waiting."""
        started = time.perf_counter()
        metadata = _metadata(context)
        correlation_id = _correlation_id(metadata)
        with structlog.contextvars.bound_contextvars(correlationId=correlation_id, transport="grpc"):
            try:
                document = await self._traced(request, metadata)
            except Exception as error:
                await _refuse(context, "GetCommand", error, correlation_id, started)
            await context.send_initial_metadata([(CORRELATION_ID, correlation_id)])
            metrics.record_call("GetCommand", grpc.StatusCode.OK.name, time.perf_counter() - started)
            answer = struct_pb2.Struct()
            answer.update(document)
            return answer

    async def _traced(self, request: pb.GetCommandRequest, metadata: Mapping[str, str]) -> dict[str, Any]:
        principal = _principal(metadata.get(AUTHORIZATION), self._services)
        if request.timeout_seconds < 0:
            raise InvalidRequest([FieldError("timeout_seconds", "must not be negative")])
        try:
            command_id = UUID(request.command_id)
        except ValueError:
            raise CommandNotFound(request.command_id) from None
        # Authorized first, as over HTTP: a trace tells nothing about a command its caller may not see.
        outcome = await self._services.handler.outcome(command_id, principal)
        if self._tracer is None:
            return dict(outcome)
        settings = self._services.settings
        waited = 0.0
        if request.wait_applied:
            waited = min(request.timeout_seconds or settings.trace_wait_default_s, settings.trace_wait_max_s)
        return (await self._tracer.trace(outcome, wait_applied_s=waited)).as_json()

    async def _command(self, method: str, name: str, request: Message, context: Context) -> pb.CommandAccepted:
        """Answer the command, or abort the call with the status of the problem HTTP would answer."""
        started = time.perf_counter()
        metadata = _metadata(context)
        correlation_id = _correlation_id(metadata)
        with structlog.contextvars.bound_contextvars(correlationId=correlation_id, transport="grpc"):
            try:
                answer, replayed = await self._run(name, request, metadata, correlation_id)
            except Exception as error:
                await _refuse(context, method, error, correlation_id, started)
            headers = [(CORRELATION_ID, correlation_id)] + ([(REPLAYED, "true")] if replayed else [])
            await context.send_initial_metadata(headers)
            metrics.record_call(method, grpc.StatusCode.OK.name, time.perf_counter() - started)
            return answer

    async def _run(
        self, name: str, request: Message, metadata: Mapping[str, str], correlation_id: str
    ) -> tuple[pb.CommandAccepted, bool]:
        principal = _principal(metadata.get(AUTHORIZATION), self._services)
        key = idempotency.parse_key(metadata.get(IDEMPOTENCY_KEY))
        kind = KINDS[name]
        body = _validated(kind.body, body_of(request))
        context = CommandContext(
            principal=principal,
            command_id=uuid4(),
            correlation_id=correlation_id,
            idempotency=None if key is None else self._claim(principal, key, name, body),
        )
        outcome = await run_command(self._services.handler, name, kind.build(body), context, idempotency_key=key)
        if isinstance(outcome, Replayed):
            return accepted_message(outcome.response), True
        return accepted_message(accepted_response(outcome)), False

    def _claim(self, principal: Principal, key: str, name: str, body: BaseModel) -> IdempotencyClaim:
        return IdempotencyClaim(
            scope=principal.subject,
            key=key,
            # The task route's: a call and `POST /commands/<name>` with the same key and body are the same request.
            fingerprint=idempotency.fingerprint("POST", f"/commands/{name}", body, None),
            ttl_s=self._services.settings.idempotency_ttl_s,
            respond=accepted_response,
        )


async def _refuse(context: Context, method: str, error: Exception, correlation_id: str, started: float) -> NoReturn:
    """Abort the call with the status of the problem HTTP would answer for `error`."""
    problem = problem_for(error)
    status = status_for(problem, correlation_id=correlation_id)
    metrics.record_call(method, status.code.name, time.perf_counter() - started)
    if problem.status >= 500:
        log.error("grpc.failed", method=method, problem=problem.slug, exc_info=error)
    trailers = (*status.trailing_metadata, (CORRELATION_ID, correlation_id))
    await context.abort(status.code, status.details, trailing_metadata=trailers)


def _correlation_id(metadata: Mapping[str, str]) -> str:
    given = metadata.get(CORRELATION_ID, "")
    return given if _VALID_CORRELATION_ID.fullmatch(given) else str(uuid4())


def _metadata(context: Context) -> dict[str, str]:
    """The call's text metadata (keys arrive lower-case); binary (`-bin`) entries carry nothing we read."""
    return {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}


def _principal(authorization: str | None, services: Services) -> Principal:
    """As `servicekit.auth.principal_from` over HTTP: `authorization: Bearer <token>`, by the app's verifier."""
    if authorization is None:
        raise Unauthenticated("a bearer token is required", token_presented=False)
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use the Bearer scheme", token_presented=True)
    return services.tokens.verify(token.strip())


def _validated(model: type[BaseModel], body: dict[str, Any]) -> BaseModel:
    """The body validated as the route validates it; errors as FastAPI reports a body's (camelCase field paths)."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise RequestValidationError([{**d, "loc": ("body", *d["loc"])} for d in error.errors()]) from None
