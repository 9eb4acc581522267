"""Task-based routes: `POST /commands/<command-name>`, and `GET /commands/{commandId}` for the outcome."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import JSONResponse, Response

from writer.api import translate
from writer.api.auth import CurrentPrincipal
from writer.api.models import (
    AddItemBody,
    CancelOrderBody,
    CreateOrderBody,
    OrderTransitionBody,
    RemoveItemBody,
)
from writer.api.openapi import ACCEPTED, problem_responses
from writer.api.services import Services, get_services
from writer.api.submit import CommandCallDep
from writer.api.trace_models import TracedCommand
from writer.errors import CommandNotFound
from writer.trace.tracer import CommandTracer

router = APIRouter(prefix="/commands", tags=["commands"])


async def get_tracer(request: Request) -> CommandTracer | None:
    """The app's tracer; None where the writer does not trace (an app built on a given store, as unit tests do)."""
    return getattr(request.app.state, "tracer", None)


@router.post("/create-order", summary="Place a new order", **ACCEPTED)
async def create_order(body: CreateOrderBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.create_order(body), body)


@router.post("/add-item-to-order", summary="Add a line to a pending order", **ACCEPTED)
async def add_item_to_order(body: AddItemBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.add_item_to_order(body, call.expected_version(body.expected_version)), body)


@router.post("/remove-item-from-order", summary="Remove a line from a pending order", **ACCEPTED)
async def remove_item_from_order(body: RemoveItemBody, call: CommandCallDep) -> Response:
    command = translate.remove_item_from_order(body, call.expected_version(body.expected_version))
    return await call.submit(command, body)


@router.post("/cancel-order", summary="Cancel a pending or confirmed order", **ACCEPTED)
async def cancel_order(body: CancelOrderBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.cancel_order(body, call.expected_version(body.expected_version)), body)


@router.post("/confirm-order", summary="Confirm a pending order", **ACCEPTED)
async def confirm_order(body: OrderTransitionBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.confirm_order(body, call.expected_version(body.expected_version)), body)


@router.post("/ship-order", summary="Ship a confirmed order (staff)", **ACCEPTED)
async def ship_order(body: OrderTransitionBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.ship_order(body, call.expected_version(body.expected_version)), body)


TRACE_WAIT_MAX_S = 30.0
"""The largest `timeout` the OpenAPI document admits; the setting `trace_wait_max_s` may bound it lower."""


@router.get(
    "/{commandId}",
    summary="The outcome of an accepted command and where its events are now",
    description="The stored outcome, and `trace`: relayed to Kafka (partition, offsets), then per projection "
    "`applied` (with `appliedAt` when this writer saw it), `parked` in its dead-letter topic (with the reason), or "
    "not yet there; `state` is the furthest state all agree on. `?wait=applied` first waits (notified, up to "
    "`timeout` seconds) until every projection shows the command, then answers what it reached.",
    response_model=TracedCommand,
    responses=problem_responses(401, 404, 503),
)
async def command_outcome(
    command_id: Annotated[str, Path(alias="commandId")],
    principal: CurrentPrincipal,
    services: Annotated[Services, Depends(get_services)],
    tracer: Annotated[CommandTracer | None, Depends(get_tracer)],
    wait: Annotated[
        Literal["applied"] | None, Query(description="`applied`: answer once every projection shows the command")
    ] = None,
    wait_s: Annotated[
        float | None,
        Query(alias="timeout", gt=0, le=TRACE_WAIT_MAX_S, description="Seconds `wait` may take (default 5)."),
    ] = None,
) -> JSONResponse:
    try:
        parsed = UUID(command_id)
    except ValueError:
        raise CommandNotFound(command_id) from None
    # Authorized first, by the same rule as ever: a trace tells nothing about a command its caller may not see.
    outcome = await services.handler.outcome(parsed, principal)
    if tracer is None:
        # Returned as stored: re-validating through the response model would reformat the timestamps.
        return JSONResponse(dict(outcome))
    settings = services.settings
    waited = min(wait_s or settings.trace_wait_default_s, settings.trace_wait_max_s) if wait == "applied" else 0.0
    traced = await tracer.trace(outcome, wait_applied_s=waited)
    return JSONResponse(traced.as_json())
